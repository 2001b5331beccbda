"""Bilinear elevation at points, seamless across the 0°/360° meridian on global grids."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from marsgis.crs import validate_latlon
from marsgis.exceptions import CoordinateError
from marsgis.geo import Grid

__all__ = ["sample"]


def sample(
    dem: xr.DataArray,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    outside: Literal["nan", "raise"] = "nan",
    grid: Grid | None = None,
) -> Any:
    """Bilinear elevation of ``dem`` at planetocentric ``lat`` and east ``lon``.

    Longitudes may be given in 0–360 or −180–180 °E. On global grids the interpolation wraps
    across the 0°/360° meridian; elsewhere a point beyond the outermost pixel centres (but
    inside the grid's edge) takes the edge value along that axis.

    Parameters
    ----------
    dem
        A DEM from :func:`marsgis.open_dem` (numpy or dask backed).
    lat, lon
        Scalars or arrays of one shape.
    outside
        ``"nan"`` (default) gives NaN for points outside the DEM; ``"raise"`` raises
        :class:`~marsgis.exceptions.CoordinateError` naming the first such point.
    grid
        ``Grid.of(dem)``, for a caller that samples one DEM many times and keeps its grid
        (reading the CRS each call costs milliseconds); None: read from ``dem``.

    Returns
    -------
    float or numpy.ndarray
        Elevation in the DEM's units (metres), float for scalar input.
    """
    scalar = np.ndim(lat) == 0 and np.ndim(lon) == 0
    lat_a, lon_a = validate_latlon(lat, lon)
    grid = Grid.of(dem) if grid is None else grid
    fy, fx = grid.locate(lat_a, lon_a)
    ny, nx = dem.shape
    is_global = grid.is_global
    fy_f = fy.ravel()
    fx_f = fx.ravel()
    inside = (fy_f >= -0.5) & (fy_f <= ny - 0.5)
    if not is_global:
        inside &= (fx_f >= -0.5) & (fx_f <= nx - 0.5)
    if outside == "raise" and not inside.all():
        k = int(np.flatnonzero(~inside)[0])
        raise CoordinateError(
            f"point lat={float(lat_a.ravel()[k])!r}, lon={float(lon_a.ravel()[k])!r} lies outside "
            f"DEM {dem.name!r} (bounds {tuple(round(float(b), 4) for b in dem.rio.bounds())} in its CRS)"
        )
    fy_c = np.clip(fy_f, 0.0, ny - 1.0)
    iy0 = np.minimum(np.floor(fy_c).astype(np.int64), ny - 2)
    wy = fy_c - iy0
    if is_global:
        ix0_raw = np.floor(fx_f).astype(np.int64)
        wx = fx_f - ix0_raw
        ix0 = ix0_raw % nx
        ix1 = (ix0 + 1) % nx
    else:
        fx_c = np.clip(fx_f, 0.0, nx - 1.0)
        ix0 = np.minimum(np.floor(fx_c).astype(np.int64), nx - 2)
        wx = fx_c - ix0
        ix1 = ix0 + 1
    iy1 = iy0 + 1
    rows = np.concatenate([iy0, iy0, iy1, iy1])
    cols = np.concatenate([ix0, ix1, ix0, ix1])
    data = dem.data
    if hasattr(data, "vindex"):
        vals = np.asarray(data.vindex[rows, cols].compute(), dtype=np.float64)
    else:
        vals = np.asarray(np.asarray(data)[rows, cols], dtype=np.float64)
    n = fy_f.size
    v00, v01, v10, v11 = vals[:n], vals[n : 2 * n], vals[2 * n : 3 * n], vals[3 * n :]
    out = (v00 * (1 - wx) + v01 * wx) * (1 - wy) + (v10 * (1 - wx) + v11 * wx) * wy
    out = np.where(inside, out, np.nan).reshape(np.shape(lat_a))
    if scalar:
        return float(out)
    return out
