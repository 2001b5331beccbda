"""``marsgis dem info NAME|PATH``: CRS, shape, resolution, bounds and range of a DEM."""

from __future__ import annotations

import warnings
from typing import Any

import click
import dask.base
import numpy as np
import xarray as xr
from pyproj import CRS

from marsgis.cli._common import emit, handle_errors, json_option
from marsgis.crs import MARS_RADIUS_M, crs_code
from marsgis.data import list_datasets
from marsgis.io import open_dem

__all__ = ["command", "dem_info"]


def dem_info(dem: xr.DataArray) -> dict[str, Any]:
    """Summary of a DEM: crs, shape, resolution (m and degrees), bounds, min, max.

    ``min``/``max`` are ``None`` when every cell is nodata. Pixels are read here (the DEM may
    be lazy), so a damaged file raises :class:`~marsgis.exceptions.DataReadError`.
    """
    crs = CRS.from_user_input(dem.rio.crs)
    res_x, res_y = (abs(float(r)) for r in dem.rio.resolution())
    mid_lat = float(dem["y"].values.mean()) if crs.is_geographic else None
    if crs.is_geographic:
        res_deg = [res_x, res_y]
        m_per_deg = np.pi * MARS_RADIUS_M / 180.0
        assert mid_lat is not None
        res_m = [res_x * m_per_deg * float(np.cos(np.radians(mid_lat))), res_y * m_per_deg]
    else:
        res_m = [res_x, res_y]
        ellipsoid = crs.ellipsoid
        radius = ellipsoid.semi_major_metre if ellipsoid is not None else MARS_RADIUS_M
        m_per_deg = np.pi * radius / 180.0
        res_deg = [res_x / m_per_deg, res_y / m_per_deg]
    values = dem.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN DEM has no range
        lo_hi = (np.nanmin(values), np.nanmax(values))
        if hasattr(values, "compute"):
            lo_hi = dask.base.compute(*lo_hi)
    lo, hi = (float(v) if np.isfinite(v) else None for v in lo_hi)
    return {
        "name": dem.name,
        "crs": crs_code(crs),
        "crs_name": crs.name,
        "shape": [int(dem.sizes["y"]), int(dem.sizes["x"])],
        "resolution_m": res_m,
        "resolution_deg": res_deg,
        "resolution_note": "x resolution in metres at the grid's mid-latitude"
        if crs.is_geographic
        else "",
        "bounds": [float(b) for b in dem.rio.bounds()],
        "min": lo,
        "max": hi,
        "units": dem.attrs.get("units"),
    }


@click.group(name="dem")
def command() -> None:
    """Inspect DEMs (shipped names or files)."""


@command.command(name="info")
@click.argument("source")
@json_option
@handle_errors
def info(source: str, as_json: bool) -> None:
    """Show CRS, shape, resolution, bounds and elevation range of SOURCE."""
    emit(dem_info(open_dem(source)), as_json)


@command.command(name="list")
@json_option
@handle_errors
def list_cmd(as_json: bool) -> None:
    """List the shipped datasets."""
    emit(list_datasets(), as_json)
