"""Open Mars DEMs as DataArrays: shipped datasets by name, PDS3 IMG/LBL, GeoTIFF/COG.

Every DEM returned satisfies one contract: dims ``("y", "x")`` (x = longitude °E or easting),
the CRS written with rioxarray (``IAU_2015:49900`` for lon/lat grids, the file's own Mars CRS
for projected ones), NaN for nodata, ``attrs["units"] == "m"`` and a ``name``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray
import xarray as xr
from pyproj import CRS, Transformer

from marsgis._options import get_option
from marsgis.crs import MARS_GEOGRAPHIC, require_mars_crs, validate_latlon
from marsgis.data import RASTERS, data_path, raster_entry
from marsgis.exceptions import DataNotFoundError, LabelError, ValidationError
from marsgis.geo import lon180
from marsgis.io import pds3

__all__ = ["dem_from_array", "open_dem"]

Chunks = bool | int | dict[str, int] | None

_PDS3_SUFFIXES = {".lbl", ".img"}


def open_dem(
    source: str | Path,
    *,
    chunks: Chunks = None,
    bbox: tuple[float, float, float, float] | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Open a Mars DEM.

    Parameters
    ----------
    source
        A shipped dataset name (``"mola"``, ``"gale-mola"``, ``"gale-1m"``), a path to a
        GeoTIFF/COG or a PDS3 ``.lbl``/``.img``, or an ``http(s)://`` URL of a COG.
    chunks
        ``None`` (default): GeoTIFFs open lazily with the ``chunk_size`` option, small PDS3
        and shipped grids load into memory. ``True``/int/dict: dask chunks. ``False``: load
        into memory.
    bbox
        ``(west, south, east, north)`` in planetocentric degrees °E: read only this window.
    name
        Name of the returned DataArray (default: the dataset name or file stem).

    Returns
    -------
    xarray.DataArray
        Elevation in metres, dims ``("y", "x")``, Mars CRS written, NaN for nodata.

    Raises
    ------
    DataNotFoundError
        Unknown dataset name or missing file (the message lists the shipped names).
    LabelError
        A PDS3 label is incomplete or disagrees with its data file.
    BodyMismatchError, MissingCRSError
        The file's CRS is not a Mars CRS, or it has none.
    """
    src = str(source)
    if src in RASTERS:
        entry = raster_entry(src)
        path = data_path(entry.path)
        if entry.kind == "pds3":
            dem = _open_pds3(path, chunks=chunks)
        elif entry.kind == "gale-mola-bin":
            dem = _open_gale_mola(path, chunks=chunks)
        else:
            dem = _open_geotiff(str(path), chunks=chunks)
        dem.attrs["source"] = entry.description
        dem.attrs["long_name"] = entry.title
        out_name = name or src
    else:
        is_url = src.startswith(("http://", "https://", "s3://", "/vsi"))
        if not is_url:
            p = Path(src).expanduser()
            if not p.exists():
                raise DataNotFoundError(
                    f"{src!r} is neither a shipped dataset {sorted(RASTERS)} nor an existing file"
                )
            src = str(p)
        if not is_url and Path(src).suffix.lower() in _PDS3_SUFFIXES:
            dem = _open_pds3(Path(src), chunks=chunks)
        else:
            dem = _open_geotiff(src, chunks=chunks)
        dem.attrs.setdefault("source", src)
        out_name = name or Path(src).stem
    if bbox is not None:
        dem = clip_lonlat(dem, bbox)
    dem.name = out_name
    return dem


def dem_from_array(
    values: np.ndarray[Any, Any],
    *,
    y: np.ndarray[Any, Any],
    x: np.ndarray[Any, Any],
    crs: Any = MARS_GEOGRAPHIC,
    name: str = "elevation",
    attrs: dict[str, Any] | None = None,
) -> xr.DataArray:
    """Build a DEM DataArray from an array and pixel-centre coordinates, honouring the contract."""
    crs_obj = require_mars_crs(CRS.from_user_input(crs))
    da = xr.DataArray(
        values,
        dims=("y", "x"),
        coords={"y": np.asarray(y, dtype=np.float64), "x": np.asarray(x, dtype=np.float64)},
        name=name,
        attrs={"units": "m", **(attrs or {})},
    )
    if crs_obj.is_geographic:
        crs_obj = CRS.from_user_input(MARS_GEOGRAPHIC)
    return _finish(da, crs_obj)


def _finish(da: xr.DataArray, crs: CRS) -> xr.DataArray:
    da = da.rio.write_crs(crs)
    da = da.rio.set_spatial_dims(x_dim="x", y_dim="y")
    da.attrs["units"] = "m"
    if crs.is_geographic:
        da["x"].attrs.update(units="degrees_east", long_name="longitude", standard_name="longitude")
        da["y"].attrs.update(units="degrees_north", long_name="latitude", standard_name="latitude")
    else:
        da["x"].attrs.update(units="m", long_name="easting")
        da["y"].attrs.update(units="m", long_name="northing")
    return da


def _chunk_spec(chunks: Chunks) -> dict[str, int] | None:
    if chunks is None or chunks is False:
        return None
    if chunks is True:
        size = int(get_option("chunk_size"))
        return {"y": size, "x": size}
    if isinstance(chunks, int):
        return {"y": chunks, "x": chunks}
    return dict(chunks)


def _open_pds3(path: Path, *, chunks: Chunks) -> xr.DataArray:
    label, data_file = pds3.read_label(path)
    layout = pds3.image_layout(label, data_file, label_path=path)
    lat, lon = pds3.projection_grid(layout, where=str(path))
    values = pds3.read_image(layout)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": lat, "x": lon})
    da.attrs["pds_product_id"] = str(label.get("PRODUCT_ID", ""))
    da = _finish(da, CRS.from_user_input(MARS_GEOGRAPHIC))
    spec = _chunk_spec(chunks)
    return da.chunk(spec) if spec else da


def _open_gale_mola(path: Path, *, chunks: Chunks) -> xr.DataArray:
    meta = json.loads(data_path("gale-mola-128ppd-window/gale-mola.json").read_text())
    size = int(meta["size"])
    q = np.fromfile(path, dtype="<u2")
    if q.size != size * size:
        raise LabelError(f"{str(path)!r} holds {q.size} samples, its json says {size}×{size}")
    lo, hi = float(meta["elevationMin"]), float(meta["elevationMax"])
    # The source grid is integer metres; the 16-bit quantisation step (0.10 m) rounds back exactly.
    values = np.round(lo + q.reshape(size, size) * (hi - lo) / 65535.0).astype(np.float32)
    b = meta["bounds"]
    res = (b["north"] - b["south"]) / size
    lat = b["north"] - (np.arange(size) + 0.5) * res
    lon = b["west"] + (np.arange(size) + 0.5) * (b["east"] - b["west"]) / size
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": lat, "x": lon})
    da = _finish(da, CRS.from_user_input(MARS_GEOGRAPHIC))
    spec = _chunk_spec(chunks)
    return da.chunk(spec) if spec else da


def _open_geotiff(src: str, *, chunks: Chunks) -> xr.DataArray:
    spec = _chunk_spec(True if chunks is None else chunks)
    try:
        opened = rioxarray.open_rasterio(src, masked=True, chunks=spec or None)
    except Exception as exc:  # rasterio raises many types; report the file and the cause
        if exc.__class__.__module__.startswith(("rasterio", "rioxarray")):
            raise DataNotFoundError(f"cannot open {src!r} as a raster: {exc}") from exc
        raise
    if isinstance(opened, list):
        raise ValidationError(f"{src!r} holds several subdatasets; open one of them explicitly")
    da = opened
    if isinstance(da, xr.Dataset):
        raise ValidationError(f"{src!r} opened as a Dataset; give a single-band DEM")
    if "band" in da.dims:
        if da.sizes["band"] != 1:
            raise ValidationError(
                f"{src!r} has {da.sizes['band']} bands; a DEM has one (select one with .isel(band=0))"
            )
        da = da.squeeze("band", drop=True)
    crs = require_mars_crs(da.rio.crs, what=f"raster {src!r}")
    crs = CRS.from_user_input(crs)
    if crs.is_geographic:
        crs = CRS.from_user_input(MARS_GEOGRAPHIC)
    if not np.issubdtype(da.dtype, np.floating):
        da = da.astype(np.float32)
    keep = {k: v for k, v in da.attrs.items() if k in {"scale_factor", "add_offset"}}
    da.attrs = keep
    da.encoding.pop("_FillValue", None)
    return _finish(da, crs)


def clip_lonlat(dem: xr.DataArray, bbox: tuple[float, float, float, float]) -> xr.DataArray:
    """Window of ``dem`` covering the lon/lat box ``(west, south, east, north)`` in °E."""
    if len(bbox) != 4:
        raise ValidationError(f"bbox {bbox!r} must be (west, south, east, north) in degrees")
    west, south, east, north = (float(v) for v in bbox)
    _, lons = validate_latlon([south, north], [west, east])
    if south >= north:
        raise ValidationError(f"bbox {bbox!r}: south {south} must be below north {north}")
    crs = CRS.from_user_input(dem.rio.crs)
    if crs.is_geographic:
        xs = dem["x"].values
        lo_x = float(np.nanmin(xs))
        # match the grid's longitude convention (0–360 or −180–180)
        if lo_x < 0:
            west_n, east_n = lon180(lons)
        else:
            west_n, east_n = lons
        if west_n > east_n:
            raise ValidationError(
                f"bbox {bbox!r} crosses the grid's longitude seam; split it in two windows"
            )
        return dem.sel(x=slice(west_n, east_n), y=slice(north, south))
    tr = Transformer.from_crs(CRS.from_user_input(MARS_GEOGRAPHIC), crs, always_xy=True)
    gx = np.linspace(west, east, 21)
    gy = np.linspace(south, north, 21)
    mx, my = np.meshgrid(gx, gy)
    px, py = tr.transform(mx, my)
    return dem.rio.clip_box(
        minx=float(np.min(px)),
        miny=float(np.min(py)),
        maxx=float(np.max(px)),
        maxy=float(np.max(py)),
    )
