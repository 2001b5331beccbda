"""Roughness: the largest elevation difference in each 3×3 window (``gdaldem roughness``)."""

from __future__ import annotations

import xarray as xr

from marsgis.terrain._dispatch import run_kernel
from marsgis.terrain._kernels import roughness_kernel

__all__ = ["roughness"]


def roughness(dem: xr.DataArray, *, name: str | None = "roughness") -> xr.DataArray:
    """Roughness of a DEM: maximum minus minimum elevation of the 3×3 window around each cell.

    This is ``gdaldem roughness`` (Wilson et al. 2007): the largest difference between any
    two of the nine cells, centre included, in the DEM's vertical units. It does not depend
    on the cell size.

    Parameters
    ----------
    dem
        Elevations in metres, dims ``("y", "x")``, Mars CRS (numpy- or dask-backed).
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float32, ``units`` copied from ``dem`` (metres), same dims, coords and attrs. NaN for
        nodata windows and the grid's edges (see :func:`slope`).

    Raises
    ------
    ValidationError, MissingCRSError, BodyMismatchError
        As :func:`slope`.
    """
    units = str(getattr(dem, "attrs", {}).get("units", "m"))
    return run_kernel(
        dem,
        roughness_kernel,
        name=name,
        units=units,
        long_name="roughness (max - min elevation of the 3x3 window)",
    )
