"""Rover traverse cost surfaces: cost per metre from slope, roughness and cost factors.

The cost of driving one metre through a cell is

``cost = (1 + slope_weight · (slope / max_slope)² + roughness_weight · relief) · cost_factor``

and the cell is impassable (``inf``) where the slope exceeds ``max_slope``, where the DEM
has no data, or where the cost factor is not finite or ≤ 0. With this definition a flat,
smooth, hazard-free cell costs 1 per metre, so a path's cost reads as "effort-metres": its
length inflated by the terrain it crosses.

* ``slope``: Horn slope in degrees (:func:`marsgis.terrain.slope`, true metres on Mars).
* ``relief``: :func:`marsgis.terrain.roughness` (largest elevation difference in the 3×3
  window) divided by twice the cell height, a dimensionless local-relief ratio (the tangent
  of the steepest slope the window could hold).
* ``cost_factor``: an optional raster of multiplicative cost factors on the DEM's grid (1
  nominal, ``inf`` impassable: 1…∞), or of terrain-class codes mapped to factors with
  ``classes=``. It is not a 0–1 hazard (that is what ``hazard=`` means everywhere in marsgis,
  e.g. :func:`~marsgis.planning.evaluate_ellipse`): a 0–1 hazard raster
  (:mod:`marsgis.ml.hazard`) converts to cost factors with :func:`marsgis.ml.hazard_factor`
  (``1 + weight · hazard``, ``inf`` from ``impassable_at``).

The default slope limit is the ``max_slope_deg`` option (25°, under Curiosity's 30°
fault-protection tilt limit). Dask-backed DEMs give dask-backed cost surfaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from marsgis._options import get_option
from marsgis.exceptions import ValidationError

__all__ = ["cost_surface", "slope_limit"]


def slope_limit(max_slope: float | None) -> float:
    """The slope limit in degrees: ``max_slope``, or the ``max_slope_deg`` option when None."""
    value = float(get_option("max_slope_deg") if max_slope is None else max_slope)
    if not (0.0 < value < 90.0):
        raise ValidationError(f"max_slope {max_slope!r} must be a number of degrees in (0, 90)")
    return value


def cost_surface(
    dem: xr.DataArray,
    *,
    max_slope: float | None = None,
    slope_weight: float = 1.0,
    roughness_weight: float = 0.5,
    cost_factor: xr.DataArray | None = None,
    classes: Mapping[Any, float] | None = None,
    name: str = "cost",
) -> xr.DataArray:
    """Cost per metre of driving through each cell of a DEM.

    Parameters
    ----------
    dem
        Elevations in metres, dims ``("y", "x")``, Mars CRS (numpy or dask backed).
    max_slope
        Slope limit in degrees (default: option ``max_slope_deg``, 25°); steeper cells are
        impassable.
    slope_weight, roughness_weight
        Weights of the slope and relief terms (≥ 0).
    cost_factor
        Optional raster on the DEM's grid: multiplicative cost factors (1…∞, ``inf``
        impassable; :func:`marsgis.ml.hazard_factor` makes them from a 0–1 hazard), or class
        codes when ``classes`` is given.
    classes
        Mapping of class code → factor (``inf`` for impassable). Codes not in the mapping
        are an error.
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float64 cost per metre (``inf`` where impassable) on the DEM's grid, with attrs
        ``max_slope_deg``, ``slope_weight``, ``roughness_weight``, ``units="1/m"``.
    """
    from marsgis import terrain

    limit = slope_limit(max_slope)
    for label, w in (("slope_weight", slope_weight), ("roughness_weight", roughness_weight)):
        if not (np.isfinite(w) and w >= 0):
            raise ValidationError(f"{label} must be a finite number ≥ 0, got {w!r}")
    slope = terrain.slope(dem).astype(np.float64)
    rough = terrain.roughness(dem).astype(np.float64)
    height = terrain.cell_size(dem).height
    relief = rough / (2.0 * height)
    cost = 1.0 + slope_weight * (slope / limit) ** 2 + roughness_weight * relief
    passable = (slope <= limit) & dem.notnull() & slope.notnull()
    if cost_factor is not None:
        if cost_factor.shape != dem.shape:
            raise ValidationError(
                f"cost_factor raster has shape {cost_factor.shape!r}, the DEM {dem.shape!r}; "
                "put it on the DEM's grid"
            )
        factor = _factors(cost_factor, classes)
        factor = factor.assign_coords(y=dem["y"], x=dem["x"])
        good = np.isfinite(factor) & (factor > 0)
        passable = passable & good
        cost = cost * factor.where(good, 1.0)
    out = cost.where(passable, np.inf)
    out = out.drop_vars([c for c in out.coords if c not in ("y", "x", "spatial_ref")])
    out.name = name
    out.attrs = {
        "units": "1/m",
        "long_name": "traverse cost per metre",
        "max_slope_deg": limit,
        "slope_weight": float(slope_weight),
        "roughness_weight": float(roughness_weight),
    }
    if dem.rio.crs is not None:
        out = out.rio.write_crs(dem.rio.crs)
    return out


def _factors(cost_factor: xr.DataArray, classes: Mapping[Any, float] | None) -> xr.DataArray:
    if classes is None:
        return cost_factor.astype(np.float64)
    codes = np.asarray(cost_factor.values)
    present = {
        v.item() for v in np.unique(codes[np.isfinite(codes)] if codes.dtype.kind == "f" else codes)
    }
    missing = sorted(present - set(classes))
    if missing:
        raise ValidationError(
            f"terrain classes {missing!r} of cost_factor have no factor in "
            f"classes={dict(classes)!r}; give one for each"
        )
    keys = np.array(list(classes), dtype=codes.dtype)
    vals = np.array([float(v) for v in classes.values()], dtype=np.float64)
    order = np.argsort(keys)
    keys, vals = keys[order], vals[order]
    idx = np.clip(np.searchsorted(keys, codes), 0, len(keys) - 1)
    out = np.where(keys[idx] == codes, vals[idx], np.nan)
    return xr.DataArray(out, dims=cost_factor.dims, coords=cost_factor.coords)
