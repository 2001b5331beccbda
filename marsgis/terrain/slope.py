"""Slope in degrees (Horn's method, as ``gdaldem slope``), in true metres on Mars."""

from __future__ import annotations

import xarray as xr

from marsgis.terrain._dispatch import run_kernel
from marsgis.terrain._kernels import slope_kernel

__all__ = ["slope"]


def slope(dem: xr.DataArray, *, name: str | None = "slope") -> xr.DataArray:
    """Slope of a DEM in degrees, from Horn's 3×3 gradient as ``gdaldem slope`` computes it.

    ``slope = atan(sqrt((dz/dx)² + (dz/dy)²))`` with Horn's weighted differences

    ``dz/dx = ((c + 2f + i) − (a + 2d + g)) / (8 · width)``,
    ``dz/dy = ((g + 2h + i) − (a + 2b + c)) / (8 · height)``

    over the window ``a b c / d e f / g h i`` (row ``a b c`` to the north). Cell sizes are
    true metres (see :func:`cell_size`): on geographic grids the width of each row is
    ``R · cos φ · Δλ``, so no ``-s`` scale fudge is needed; on projected grids it is the pixel
    size, which gives exactly ``gdaldem slope``'s result.

    Parameters
    ----------
    dem
        Elevations in metres, dims ``("y", "x")``, Mars CRS (numpy- or dask-backed).
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float32 degrees in [0, 90), same dims, coords (CRS) and attrs as ``dem`` with
        ``units="degrees"``; dask in, dask out (``map_overlap``, identical values). NaN where
        any cell of the 3×3 window is nodata, on the first/last row and, unless the grid is
        global in longitude (then the first and last columns are neighbours), on the
        first/last column: ``gdaldem``'s nodata cells without ``-compute_edges``. A row
        centred on a pole (no east–west extent) is NaN.

    Raises
    ------
    ValidationError
        Dims other than ``("y", "x")``, fewer than 3×3 cells, uneven spacing.
    MissingCRSError, BodyMismatchError
        No CRS, or not a Mars CRS.

    Examples
    --------
    >>> import marsgis
    >>> s = marsgis.terrain.slope(marsgis.open_dem("gale-mola"))
    >>> s.attrs["units"], s.dtype.name
    ('degrees', 'float32')
    """
    return run_kernel(dem, slope_kernel, name=name, units="degrees", long_name="slope")
