"""Batch classification of a window: the inputs of :func:`classify_raster` and its GeoTIFF.

Two sources, both bounded by a window size:

* a shipped DEM (:data:`marsgis.data.RASTERS`) cut to a W,S,E,N box: the classifier sees its
  hillshade (:func:`marsgis.terrain.hillshade`, values 1–255), the greyscale relief it can
  read, computed on the whole DEM and then cut, so the window's edge cells keep their
  neighbours (:func:`dataset_image`);
* a single-band GeoTIFF in a Mars CRS, e.g. a HiRISE crop (:func:`geotiff_image`).

:func:`write_classification` writes the result as a two-band float32 GeoTIFF in the source's
Mars CRS and grid: band 1 ``class`` (the class id, −1 where there is no data), band 2
``confidence`` (NaN where there is no data); the class names are the ``classes`` tag.

>>> import marsgis.ml.batch as batch
>>> image = batch.dataset_image("gale-1m", (137.3690, -4.6680, 137.3696, -4.6675))
>>> image.shape, float(image.min()) >= 1.0
((31, 37), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rioxarray
import xarray as xr

from marsgis import terrain
from marsgis.crs import require_mars_crs
from marsgis.data import raster_entry
from marsgis.exceptions import ValidationError
from marsgis.io import open_dem
from marsgis.io.atomic import atomic_path, check_geotiff
from marsgis.ml.classifier import Classifier
from marsgis.ml.inference import classify_raster

__all__ = [
    "HILLSHADE_RANGE",
    "MAX_WINDOW_CELLS",
    "classify_dataset_window",
    "classify_geotiff",
    "dataset_image",
    "geotiff_image",
    "write_classification",
]

#: Largest window classified in one batch, ``(rows, columns)``.
MAX_WINDOW_CELLS = (2048, 2048)
#: Value range of a hillshade, mapped to [0, 1] before the network.
HILLSHADE_RANGE = (0.0, 255.0)


def _check_size(shape: Sequence[int], max_cells: tuple[int, int], what: str) -> None:
    rows, cols = int(shape[-2]), int(shape[-1])
    if rows > max_cells[0] or cols > max_cells[1]:
        raise ValidationError(
            f"{what} is {rows} × {cols} cells, more than the {max_cells[0]} × {max_cells[1]} "
            "allowed; classify a smaller window"
        )


def dataset_image(
    dataset: str,
    bbox: tuple[float, float, float, float],
    *,
    max_cells: tuple[int, int] = MAX_WINDOW_CELLS,
) -> xr.DataArray:
    """The hillshade of the shipped DEM ``dataset`` over the cells ``bbox`` touches.

    Raises
    ------
    DataNotFoundError
        ``dataset`` is not a shipped raster.
    ValidationError, CoordinateError
        A malformed box, one outside the DEM, or a window larger than ``max_cells``.
    """
    entry = raster_entry(dataset)
    shade = terrain.hillshade(open_dem(entry.name))
    return terrain.box_window(shade, bbox, max_cells=max_cells)


def geotiff_image(
    path: str | Path,
    *,
    band: int = 1,
    max_cells: tuple[int, int] = MAX_WINDOW_CELLS,
) -> xr.DataArray:
    """Band ``band`` of a GeoTIFF in a Mars CRS, in memory (nodata of float bands → NaN).

    Raises
    ------
    ValidationError
        The file is not a raster GDAL reads, has no such band, or is larger than ``max_cells``.
    MissingCRSError, BodyMismatchError
        The file has no CRS, or one that is not Mars.
    """
    try:
        with rasterio.open(path) as src:
            count, shape, crs = src.count, src.shape, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise ValidationError(
            f"{Path(path).name!r} is not a raster GDAL can read ({exc}); send a GeoTIFF"
        ) from None
    if not 1 <= band <= count:
        raise ValidationError(f"band={band!r}: the GeoTIFF has bands 1 to {count}")
    _check_size(shape, max_cells, "the GeoTIFF")
    require_mars_crs(crs, what="the GeoTIFF")
    opened = rioxarray.open_rasterio(path, masked=False)
    assert isinstance(opened, xr.DataArray)
    image = opened.sel(band=band, drop=True).load()
    nodata = image.rio.nodata
    if nodata is not None and image.dtype.kind == "f":
        image = image.where(image != nodata).astype(image.dtype)
        image = image.rio.write_crs(opened.rio.crs)
    return image


def classify_dataset_window(
    dataset: str,
    bbox: tuple[float, float, float, float],
    model: Classifier | str = "terrain-classifier",
    *,
    tile: int | None = None,
    stride: int | None = None,
    max_cells: tuple[int, int] = MAX_WINDOW_CELLS,
) -> xr.Dataset:
    """:func:`classify_raster` of :func:`dataset_image` (hillshade range 0–255)."""
    image = dataset_image(dataset, bbox, max_cells=max_cells)
    return classify_raster(image, model, tile=tile, stride=stride, value_range=HILLSHADE_RANGE)


def classify_geotiff(
    path: str | Path,
    model: Classifier | str = "terrain-classifier",
    *,
    band: int = 1,
    tile: int | None = None,
    stride: int | None = None,
    value_range: tuple[float, float] | None = None,
    max_cells: tuple[int, int] = MAX_WINDOW_CELLS,
) -> xr.Dataset:
    """:func:`classify_raster` of :func:`geotiff_image` (8/16-bit ranges by default)."""
    image = geotiff_image(path, band=band, max_cells=max_cells)
    return classify_raster(image, model, tile=tile, stride=stride, value_range=value_range)


def write_classification(result: xr.Dataset, path: str | Path) -> Path:
    """Write ``class`` and ``confidence`` of a :func:`classify_raster` result to a GeoTIFF.

    Parameters
    ----------
    result
        The result, on a grid with a Mars CRS and coordinates (a transform).
    path
        Output ``.tif``; its folder must exist; written atomically.

    Returns
    -------
    pathlib.Path
        ``path``: two float32 bands, ``class`` (−1: no data) and ``confidence`` (NaN: no
        data), the class names in the ``classes`` tag, the model in ``model``.
    """
    crs = result.rio.crs
    if crs is None:
        raise ValidationError(
            "the classification has no CRS; classify an image on a Mars grid (with a CRS)"
        )
    require_mars_crs(crs, what="the classification")
    cls = np.asarray(result["class"].values, dtype=np.float32)
    conf = np.asarray(result["confidence"].values, dtype=np.float32)
    ny, nx = cls.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": 2,
        "dtype": "float32",
        "crs": crs,
        "transform": result.rio.transform(recalc=True),
        "compress": "deflate",
        "tiled": nx >= 256 and ny >= 256,
    }
    out = Path(path)
    with atomic_path(out, check=check_geotiff) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(cls, 1)
        dst.write(conf, 2)
        dst.set_band_description(1, "class")
        dst.set_band_description(2, "confidence")
        dst.update_tags(
            classes=",".join(result["class"].attrs.get("classes", [])),
            model=str(result.attrs.get("model", "")),
            model_version=str(result.attrs.get("model_version", "")),
        )
        dst.update_tags(1, nodata="-1")
    return out
