"""Cell width and height in metres, per row, on the Mars sphere."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

from marsgis.terrain._dispatch import kernel_grid

__all__ = ["CellSize", "cell_size"]


class CellSize(NamedTuple):
    """Per-row cell size of a DEM grid in metres (both 1-D along ``y``)."""

    width: xr.DataArray
    height: xr.DataArray


def cell_size(dem: xr.DataArray) -> CellSize:
    """Width (east–west) and height (north–south) of the cells of each row, in metres.

    On a geographic grid (``IAU_2015:49900``, x = longitude °E, y = latitude) the cells are
    measured on the Mars sphere of radius ``marsgis.crs.MARS_RADIUS_M`` (3 396 190 m):
    ``height = R · Δφ`` and ``width = R · cos φ · Δλ`` with φ the latitude of the row's cell
    centres, so the width shrinks towards the poles (32.3 m in the ±89.875° rows of the 4 px/deg
    MOLA grid, 14.8 km at the equator) and is exactly 0 on a row centred on a pole. On a
    projected grid both are the transform's pixel size (constant; e.g. the true scale of an
    equirectangular grid at its standard parallel).

    Parameters
    ----------
    dem
        A DEM with dims ``("y", "x")`` and a Mars CRS, e.g. from :func:`marsgis.open_dem`.

    Returns
    -------
    CellSize
        ``(width, height)``: float64 DataArrays along ``y`` (the DEM's ``y`` coordinate), in
        metres, always positive.

    Raises
    ------
    ValidationError
        Wrong dims, fewer than 3×3 cells or unevenly spaced coordinates.
    MissingCRSError, BodyMismatchError
        The DEM has no CRS, or not a Mars one.

    Examples
    --------
    >>> import marsgis
    >>> width, height = marsgis.terrain.cell_size(marsgis.open_dem("mola"))
    >>> round(float(height[0]), 1), round(float(width[360]), 1)
    (14818.7, 14818.6)
    """
    dx_m, dy_m = kernel_grid(dem).cell_size_m()
    y = dem["y"]
    attrs = {"units": "m"}
    width = xr.DataArray(
        np.abs(dx_m), dims=("y",), coords={"y": y}, name="cell_width",
        attrs={**attrs, "long_name": "east-west cell width"},
    )  # fmt: skip
    height = xr.DataArray(
        np.abs(dy_m), dims=("y",), coords={"y": y}, name="cell_height",
        attrs={**attrs, "long_name": "north-south cell height"},
    )  # fmt: skip
    return CellSize(width=width, height=height)
