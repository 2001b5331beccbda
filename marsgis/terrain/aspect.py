"""Aspect in degrees clockwise from north (Horn's method, as ``gdaldem aspect``)."""

from __future__ import annotations

import xarray as xr

from marsgis.terrain._dispatch import run_kernel
from marsgis.terrain._kernels import aspect_kernel

__all__ = ["aspect"]


def aspect(dem: xr.DataArray, *, name: str | None = "aspect") -> xr.DataArray:
    """Aspect of a DEM: the azimuth the slope faces, in degrees clockwise from north.

    Same convention as ``gdaldem aspect``: 0° = the terrain falls towards the north, 90° =
    east, 180° = south, 270° = west, from Horn's 3×3 gradient. Flat cells (both gradient
    components exactly zero), which ``gdaldem`` marks -9999, are NaN here.

    Unlike ``gdaldem`` (which ignores the pixel size and so assumes square cells), the
    gradient is taken in true metres, so aspect stays right on geographic grids whose cells
    narrow towards the poles; on square-pixel projected grids the two agree.

    Parameters
    ----------
    dem
        Elevations in metres, dims ``("y", "x")``, Mars CRS (numpy- or dask-backed).
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float32 degrees in [0, 360), same dims, coords and attrs as ``dem`` with
        ``units="degrees"``. NaN for flat cells, nodata windows and the grid's edges (see
        :func:`slope`).

    Raises
    ------
    ValidationError, MissingCRSError, BodyMismatchError
        As :func:`slope`.
    """
    return run_kernel(
        dem,
        aspect_kernel,
        name=name,
        units="degrees",
        long_name="aspect (azimuth of the downslope direction, clockwise from north)",
    )
