"""File to file: open a DEM lazily, derive a terrain product, stream it into a GeoTIFF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr

from marsgis._options import get_option
from marsgis.crs import crs_code
from marsgis.exceptions import ValidationError
from marsgis.io import open_dem
from marsgis.io.writers import write_raster
from marsgis.terrain.aspect import aspect
from marsgis.terrain.hillshade import hillshade
from marsgis.terrain.roughness import roughness
from marsgis.terrain.slope import slope

__all__ = ["PRODUCTS", "to_file"]

#: product name -> function
PRODUCTS: dict[str, Callable[..., xr.DataArray]] = {
    "slope": slope,
    "aspect": aspect,
    "roughness": roughness,
    "hillshade": hillshade,
}


def _band_chunks(blocksize: int) -> dict[str, int]:
    cells = int(get_option("chunk_size")) ** 2
    return {"y": blocksize, "x": max(blocksize, cells // blocksize // blocksize * blocksize)}


def to_file(
    product: str,
    source: str | Path | xr.DataArray,
    out: str | Path,
    *,
    compress: str | None = "deflate",
    tiled: bool = True,
    blocksize: int = 512,
    chunks: bool | int | dict[str, int] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Compute a terrain product of ``source`` and write it to the GeoTIFF ``out``.

    The DEM is opened lazily (:func:`marsgis.open_dem` with dask ``chunks``), the product is
    computed chunk by chunk through ``map_overlap`` and each chunk is written as soon as it
    is ready (:func:`marsgis.io.writers.write_dem`), so memory stays bounded whatever the
    size of the DEM. Statistics of the output are gathered in the same pass.

    Parameters
    ----------
    product
        ``"slope"``, ``"aspect"``, ``"roughness"`` or ``"hillshade"``.
    source
        A shipped dataset name, a DEM file path, or a DEM DataArray.
    out
        Output GeoTIFF path (its folder must exist; an existing file is replaced).
    compress, tiled, blocksize
        GeoTIFF layout, see :func:`marsgis.io.writers.write_dem`.
    chunks
        Dask chunks used to open ``source``. Default: row bands one output tile high and
        about ``chunk_size``² cells each (e.g. 512 × 8192), which keep the 1-cell overlap
        of neighbouring bands, and so the memory held, small on wide rasters: a
        32768 × 16384 slope streams in under 1 GB.
    **kwargs
        Passed to the product function (e.g. ``azimuth=``, ``altitude=`` for hillshade).

    Returns
    -------
    dict
        ``product``, ``source``, ``output``, ``crs``, ``shape`` ``[ny, nx]``, ``units``,
        ``min``, ``max``, ``mean`` and ``valid_cells`` (non-NaN cells) of the output.

    Raises
    ------
    ValidationError
        Unknown ``product``, bad output path or layout.
    DataNotFoundError, MissingCRSError, BodyMismatchError
        From opening ``source``.

    Examples
    --------
    >>> from marsgis.terrain import to_file
    >>> summary = to_file("slope", "gale-1m", "gale-slope.tif")
    >>> summary["units"], summary["shape"], round(summary["max"], 1)
    ('degrees', [337, 348], 39.7)
    """
    func = PRODUCTS.get(product)
    if func is None:
        raise ValidationError(
            f"unknown terrain product {product!r}; choose one of {list(PRODUCTS)}"
        )
    if isinstance(source, xr.DataArray):
        dem = source
        label = str(source.name)
    else:
        dem = open_dem(source, chunks=_band_chunks(blocksize) if chunks is None else chunks)
        label = str(source)
    result = func(dem, **kwargs)
    stats = write_raster(
        result, out, compress=compress, tiled=tiled, blocksize=blocksize, stats=True
    )
    assert stats is not None
    return {
        "product": product,
        "source": label,
        "output": str(Path(out).expanduser()),
        "crs": crs_code(result.rio.crs),
        "shape": [int(n) for n in result.shape],
        "units": result.attrs.get("units"),
        "min": stats.minimum,
        "max": stats.maximum,
        "mean": stats.mean,
        "valid_cells": stats.count,
    }
