"""Per-cell layers of a DEM window that landing-ellipse evaluation and the site search share.

:class:`SiteGrid` holds, for every cell of a window, its lon/lat, true area, elevation,
slope and which constraints it fails, so that many ellipses are evaluated from layers
computed once (:func:`~marsgis.planning.evaluate_ellipse` evaluates one,
:func:`~marsgis.planning.search_landing_sites` thousands).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from shapely.geometry import Polygon

from marsgis.exceptions import CoordinateError
from marsgis.geo import Grid, cell_area_m2, local_en, lonlat_of_grid
from marsgis.planning.constraints import ConstraintSet
from marsgis.planning.eligibility import constraint_passes, constraint_values, slope_block_cells

if TYPE_CHECKING:
    from marsgis.planning.ellipses import LandingEllipse

__all__ = ["SiteGrid", "block_sizes", "mark_infeasible", "window_for"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class SiteGrid:
    """In-memory per-cell layers of a DEM window: what an ellipse evaluation needs."""

    dem: xr.DataArray
    lat: FloatArray
    lon: FloatArray
    area: FloatArray
    elevation: FloatArray
    slope: FloatArray
    fails: dict[str, BoolArray]
    not_evaluated: dict[str, str]
    slope_baseline_m: float
    hazard: FloatArray | None = None
    fail_any: BoolArray = field(init=False)

    def __post_init__(self) -> None:
        self.update_fail_any()

    def update_fail_any(self) -> None:
        """Recompute ``fail_any`` after ``fails`` changed."""
        any_fail = ~np.isfinite(self.elevation)
        for f in self.fails.values():
            any_fail = any_fail | f
        self.fail_any = any_fail

    @classmethod
    def build(
        cls, dem: xr.DataArray, cs: ConstraintSet, rocks: xr.DataArray | None, res_m: float
    ) -> SiteGrid:
        """The layers of ``dem`` (read into memory) against constraint set ``cs``."""
        from marsgis import terrain

        # every layer is read into memory below: read the DEM window once
        if hasattr(dem.data, "dask"):
            dem = dem.compute()
        if rocks is not None and hasattr(rocks.data, "dask"):
            rocks = rocks.compute()
        values, missing = constraint_values(dem, cs, rocks=rocks, res_m=res_m)
        fails: dict[str, BoolArray] = {}
        for key, value in values.items():
            ok = constraint_passes(cs, key, value)
            ok, _ = xr.broadcast(ok, dem)
            fails[key] = ~np.asarray(ok.transpose("y", "x").values, dtype=bool)
        lat, lon = lonlat_of_grid(dem)
        area = cell_area_m2(dem)
        area2 = np.broadcast_to(
            np.asarray(area.values, dtype=np.float64)[:, None] if area.ndim == 1 else area.values,
            dem.shape,
        )
        elev = np.asarray(dem.values, dtype=np.float64)
        slope = np.asarray(terrain.slope(dem).values, dtype=np.float64)
        res = float(terrain.cell_size(dem).height.max())
        return cls(dem, lat, lon, np.asarray(area2), elev, slope, fails, missing, res)

    def evaluate(self, ellipse: LandingEllipse, rows: slice, cols: slice) -> dict[str, Any]:
        """Area-weighted failures and terrain statistics of ``ellipse`` on ``[rows, cols]``.

        Over the cells whose centres lie inside the ellipse: ``n_cells``, ``cell_area_km2``,
        ``fail_<key>``, ``fail_any``, elevation/slope statistics, ``hazard_mean``/``hazard_max``.
        """
        lat = self.lat[rows, cols]
        lon = self.lon[rows, cols]
        east, north = local_en(ellipse.lat, ellipse.lon, lat, lon, validate=False)
        inside = ellipse.contains_en(east, north)
        n = int(inside.sum())
        out: dict[str, Any] = {"n_cells": n}
        if n == 0:
            out["cell_area_km2"] = 0.0
            return out
        w = self.area[rows, cols][inside]
        wsum = float(w.sum())
        out["cell_area_km2"] = wsum / 1e6
        for key, f in self.fails.items():
            out[f"fail_{key}"] = float(w[f[rows, cols][inside]].sum()) / wsum
        out["fail_any"] = float(w[self.fail_any[rows, cols][inside]].sum()) / wsum
        elev = self.elevation[rows, cols][inside]
        slope = self.slope[rows, cols][inside]
        fe = elev[np.isfinite(elev)]
        fs = slope[np.isfinite(slope)]
        out["elevation_mean_m"] = float(fe.mean()) if fe.size else math.nan
        out["relief_m"] = float(fe.max() - fe.min()) if fe.size else math.nan
        out["slope_mean_deg"] = float(fs.mean()) if fs.size else math.nan
        out["slope_p95_deg"] = float(np.percentile(fs, 95)) if fs.size else math.nan
        out["slope_max_deg"] = float(fs.max()) if fs.size else math.nan
        if self.hazard is not None:
            hz = self.hazard[rows, cols][inside]
            ok = np.isfinite(hz)
            out["hazard_mean"] = (
                float(np.sum(hz[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else math.nan
            )
            out["hazard_max"] = float(hz[ok].max()) if ok.any() else math.nan
        return out


def window_for(
    dem: xr.DataArray, polygons: Sequence[Polygon], margin: int, step: int
) -> tuple[slice, slice]:
    """Index window of ``dem`` covering the polygons plus ``margin`` cells, aligned on ``step``."""
    grid = Grid.of(dem)
    xs: list[float] = []
    ys: list[float] = []
    for p in polygons:
        lon, lat = np.asarray(p.exterior.xy)
        fy, fx = grid.locate(lat, lon)
        ys.extend([float(fy.min()), float(fy.max())])
        xs.extend([float(fx.min()), float(fx.max())])
    ny, nx = dem.shape
    r_lo, r_hi = math.floor(min(ys)), math.ceil(max(ys))
    c_lo, c_hi = math.floor(min(xs)), math.ceil(max(xs))
    if r_lo < 0 or c_lo < 0 or r_hi > ny - 1 or c_hi > nx - 1:
        b = tuple(round(float(v), 4) for v in dem.rio.bounds())
        raise CoordinateError(
            f"the ellipse reaches beyond DEM {dem.name!r} (bounds {b} in its CRS); use a DEM "
            "that covers the whole ellipse"
        )
    r0 = max(0, ((r_lo - margin) // step) * step)
    c0 = max(0, ((c_lo - margin) // step) * step)
    return slice(r0, min(ny, r_hi + margin + 1)), slice(c0, min(nx, c_hi + margin + 1))


def block_sizes(dem: xr.DataArray, cs: ConstraintSet, res: float) -> tuple[int, int]:
    """Largest slope block (cells) of ``cs`` on ``dem`` and the step every block divides."""
    ks = [k for k in (slope_block_cells(dem.shape, res, s)[0] for s in cs.slopes) if k > 0]
    return (max(ks, default=1), math.lcm(*ks) if ks else 1)


def mark_infeasible(grid: SiteGrid, dem: xr.DataArray, cs: ConstraintSet, res: float) -> None:
    """Feasibility of a slope baseline is decided on the whole DEM, not the window."""
    for limit in cs.slopes:
        k, why = slope_block_cells(dem.shape, res, limit)
        if k == 0:
            grid.not_evaluated[limit.key] = why
            grid.fails.pop(limit.key, None)
        elif limit.key in grid.not_evaluated:
            grid.not_evaluated.pop(limit.key)
    grid.update_fail_any()
