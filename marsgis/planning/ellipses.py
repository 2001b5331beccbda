"""Landing ellipses on the Mars sphere and their evaluation against constraints and targets.

A :class:`LandingEllipse` is a centre, two semi-axes in km and the azimuth of the major
axis. It is defined in the azimuthal-equidistant tangent plane at its centre (distances from
the centre are great-circle distances), which is how delivery ellipses are drawn; its
polygon (:meth:`LandingEllipse.polygon`) has the area ``π a b`` on the sphere to within the
polygon's vertex count (checked against :class:`pyproj.Geod` in the tests).

:func:`evaluate_ellipse` reports, over the DEM cells whose centres fall inside the ellipse
and weighted by their true area: the fraction failing each constraint (see
:mod:`marsgis.planning.eligibility` for how each is evaluated), slope and relief statistics,
and a science value from user targets. With a 0–1 ``hazard`` raster (e.g.
:func:`marsgis.ml.terrain_hazard`, :func:`marsgis.ml.class_hazard`) cells at or above
``hazard_threshold`` count as failing (key ``"hazard"``), and the area-weighted mean and the
maximum hazard are reported (``hazard_mean``, ``hazard_max``).

Science value
-------------
Targets are points or polygons with weights. A target that touches the ellipse counts its
full weight; one outside counts ``weight × max(0, 1 − d / reach_km)`` where ``d`` is its
distance to the ellipse, the "go-to" reach of a rover after landing (20 km by default,
the order of Curiosity's drive to Mount Sharp). The science value is the weighted sum
divided by the sum of the weights, so it lies in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
import xarray as xr
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M, validate_latlon
from marsgis.exceptions import CoordinateError, ValidationError
from marsgis.planning.constraints import ConstraintSet, load_constraints
from marsgis.planning.eligibility import (
    _block_cells,
    _passes,
    _resolution_if_needed,
    constraint_values,
)
from marsgis.planning.geometry import cell_area_m2, ellipse_polygon, local_en, lonlat_of_grid

__all__ = [
    "EllipseEvaluation",
    "LandingEllipse",
    "evaluate_ellipse",
    "make_targets",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class LandingEllipse:
    """A landing ellipse: centre (planetocentric °), semi-axes (km), major-axis azimuth (°).

    Use :meth:`from_constraints` to take the size from a preset's 3σ ellipse (whose published
    numbers are full axes: 78 × 10 km gives semi-axes 39 and 5 km).
    """

    lat: float
    lon: float
    semi_major_km: float
    semi_minor_km: float
    azimuth_deg: float = 90.0

    def __post_init__(self) -> None:
        validate_latlon(self.lat, self.lon)
        a, b = float(self.semi_major_km), float(self.semi_minor_km)
        if not (math.isfinite(a) and math.isfinite(b) and a >= b > 0):
            raise ValidationError(
                f"ellipse semi-axes ({self.semi_major_km!r}, {self.semi_minor_km!r}) km must "
                "satisfy major ≥ minor > 0"
            )
        if not math.isfinite(float(self.azimuth_deg)):
            raise ValidationError(
                f"ellipse azimuth {self.azimuth_deg!r} must be a finite number of degrees"
            )

    @classmethod
    def from_constraints(
        cls,
        constraints: Any,
        lat: float,
        lon: float,
        *,
        azimuth_deg: float | None = None,
        final: bool = False,
    ) -> LandingEllipse:
        """The 3σ ellipse of a constraint set (a preset name works) centred at ``(lat, lon)``.

        ``final=True`` takes the ellipse finally flown where the set has one (Mars 2020).
        """
        cs = load_constraints(constraints)
        size = cs.final_ellipse_km if final and cs.final_ellipse_km is not None else cs.ellipse_km
        if size is None:
            raise ValidationError(
                f"constraint set {cs.name!r} has no ellipse size; give ellipse_km or build a "
                "LandingEllipse(lat, lon, semi_major_km, semi_minor_km) yourself"
            )
        az = cs.ellipse_azimuth_deg if azimuth_deg is None else float(azimuth_deg)
        return cls(float(lat), float(lon), size[0] / 2.0, size[1] / 2.0, az)

    @property
    def area_km2(self) -> float:
        """``π a b`` in km²."""
        return math.pi * self.semi_major_km * self.semi_minor_km

    def polygon(self, n: int = 120) -> Polygon:
        """The ellipse as a lon/lat polygon (°E, continuous with the centre's longitude)."""
        return ellipse_polygon(
            self.lat, self.lon, self.semi_major_km, self.semi_minor_km, self.azimuth_deg, n=n
        )

    def local_polygon(self, n: int = 120) -> Polygon:
        """The ellipse in its own tangent plane: (east, north) metres from the centre."""
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        u = self.semi_major_km * 1000.0 * np.cos(t)
        v = self.semi_minor_km * 1000.0 * np.sin(t)
        az = math.radians(self.azimuth_deg)
        east = u * math.sin(az) + v * math.cos(az)
        north = u * math.cos(az) - v * math.sin(az)
        return Polygon(np.column_stack([east, north]))

    def contains(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> Any:
        """Whether points lie inside the ellipse (boolean array, or bool for scalars)."""
        east, north = local_en(self.lat, self.lon, lat, lon)
        inside = self._inside_en(east, north)
        return bool(inside) if np.ndim(inside) == 0 else inside

    def _inside_en(self, east: FloatArray, north: FloatArray) -> BoolArray:
        az = math.radians(self.azimuth_deg)
        u = east * math.sin(az) + north * math.cos(az)
        v = east * math.cos(az) - north * math.sin(az)
        a = self.semi_major_km * 1000.0
        b = self.semi_minor_km * 1000.0
        return np.asarray((u / a) ** 2 + (v / b) ** 2 <= 1.0)

    def to_dict(self) -> dict[str, float]:
        """``lat, lon, semi_major_km, semi_minor_km, azimuth_deg``."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "semi_major_km": self.semi_major_km,
            "semi_minor_km": self.semi_minor_km,
            "azimuth_deg": self.azimuth_deg,
        }


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------


def make_targets(targets: Any) -> gpd.GeoDataFrame:
    """Science targets as a GeoDataFrame with ``name``, ``weight`` and lon/lat geometry.

    Parameters
    ----------
    targets
        None (no targets); a GeoDataFrame (``weight`` defaults to 1, ``name`` to the index);
        a sequence whose items are gazetteer names (``"Aeolis Mons"``: a point at the
        feature's centre, weight 1), ``(name, lat, lon[, weight])`` tuples, mappings with
        ``lat``/``lon`` or ``geometry`` and optional ``name``/``weight``, or shapely
        geometries in lon/lat °E.

    Raises
    ------
    ValidationError
        An item of an unknown form, or a negative weight.
    """
    from marsgis.io.vector import gazetteer

    if targets is None:
        return gpd.GeoDataFrame({"name": [], "weight": []}, geometry=[], crs=MARS_GEOGRAPHIC)
    if isinstance(targets, gpd.GeoDataFrame):
        gdf = targets.copy()
        if "weight" not in gdf:
            gdf["weight"] = 1.0
        if "name" not in gdf:
            gdf["name"] = [str(i) for i in gdf.index]
        out = gpd.GeoDataFrame(
            {"name": gdf["name"].astype(str).tolist(), "weight": gdf["weight"].astype(float).tolist()},
            geometry=list(gdf.geometry), crs=MARS_GEOGRAPHIC,
        )  # fmt: skip
    else:
        if isinstance(targets, (str, BaseGeometry, dict)):
            targets = [targets]
        names: list[str] = []
        weights: list[float] = []
        geoms: list[BaseGeometry] = []
        for i, item in enumerate(targets):
            if isinstance(item, str):
                f = gazetteer(item)
                names.append(f.name)
                weights.append(1.0)
                geoms.append(Point(f.lon, f.lat))
            elif isinstance(item, BaseGeometry):
                names.append(f"target-{i}")
                weights.append(1.0)
                geoms.append(item)
            elif isinstance(item, dict):
                if "geometry" in item:
                    geom = item["geometry"]
                elif {"lat", "lon"} <= set(item):
                    la, lo = validate_latlon(item["lat"], item["lon"])
                    geom = Point(float(lo), float(la))
                else:
                    raise ValidationError(f"target {item!r} needs lat and lon, or a geometry")
                names.append(str(item.get("name", f"target-{i}")))
                weights.append(float(item.get("weight", 1.0)))
                geoms.append(geom)
            elif isinstance(item, (tuple, list)) and len(item) in (3, 4):
                la, lo = validate_latlon(item[1], item[2])
                names.append(str(item[0]))
                weights.append(float(item[3]) if len(item) == 4 else 1.0)
                geoms.append(Point(float(lo), float(la)))
            else:
                raise ValidationError(
                    f"target {item!r} is not a gazetteer name, a (name, lat, lon[, weight]) "
                    "tuple, a mapping or a shapely geometry"
                )
        out = gpd.GeoDataFrame(
            {"name": names, "weight": weights}, geometry=geoms, crs=MARS_GEOGRAPHIC
        )
    w = out["weight"].to_numpy(dtype=np.float64)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValidationError(f"target weights {w.tolist()!r} must be finite and ≥ 0")
    return out


def _science(
    ellipse: LandingEllipse, targets: gpd.GeoDataFrame, reach_km: float
) -> tuple[float, dict[str, float]]:
    if len(targets) == 0:
        return 0.0, {}
    poly = ellipse.local_polygon(n=72)

    def to_local(xy: FloatArray) -> FloatArray:
        e, n = _fast_local_en(ellipse.lat, ellipse.lon, xy[:, 1], xy[:, 0])
        return np.column_stack([e, n])

    total_w = float(targets["weight"].sum())
    score = 0.0
    parts: dict[str, float] = {}
    for name, w, geom in zip(targets["name"], targets["weight"], targets.geometry, strict=True):
        local = shapely.transform(geom, to_local)
        d_km = float(poly.distance(local)) / 1000.0
        if d_km <= 0.0:
            f = 1.0
        else:
            f = max(0.0, 1.0 - d_km / reach_km) if reach_km > 0 else 0.0
        parts[str(name)] = f
        score += float(w) * f
    return (score / total_w if total_w > 0 else 0.0), parts


def _fast_local_en(
    lat0: float, lon0: float, lat: FloatArray, lon: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """:func:`~marsgis.planning.geometry.local_en` without input validation (trusted arrays)."""
    p0 = math.radians(lat0)
    p1 = np.radians(lat)
    dl = np.radians(lon) - math.radians(lon0)
    sp0, cp0 = math.sin(p0), math.cos(p0)
    sp1, cp1 = np.sin(p1), np.cos(p1)
    h = np.sin((p1 - p0) / 2.0) ** 2 + cp0 * cp1 * np.sin(dl / 2.0) ** 2
    d = 2.0 * MARS_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    b = np.arctan2(np.sin(dl) * cp1, cp0 * sp1 - sp0 * cp1 * np.cos(dl))
    return d * np.sin(b), d * np.cos(b)


# --------------------------------------------------------------------------------------------
# per-cell layers used by evaluate_ellipse and the site search
# --------------------------------------------------------------------------------------------


@dataclass
class _SiteGrid:
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
        any_fail = ~np.isfinite(self.elevation)
        for f in self.fails.values():
            any_fail = any_fail | f
        self.fail_any = any_fail

    @classmethod
    def build(
        cls, dem: xr.DataArray, cs: ConstraintSet, rocks: xr.DataArray | None, res_m: float
    ) -> _SiteGrid:
        from marsgis import terrain

        # every layer is read into memory below: read the DEM window once
        if hasattr(dem.data, "dask"):
            dem = dem.compute()
        if rocks is not None and hasattr(rocks.data, "dask"):
            rocks = rocks.compute()
        values, missing = constraint_values(dem, cs, rocks=rocks, res_m=res_m)
        fails: dict[str, BoolArray] = {}
        for key, value in values.items():
            ok = _passes(cs, key, value)
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
        return cls(dem, lat, lon % 360.0, np.asarray(area2), elev, slope, fails, missing, res)

    def evaluate(self, ellipse: LandingEllipse, rows: slice, cols: slice) -> dict[str, Any]:
        lat = self.lat[rows, cols]
        lon = self.lon[rows, cols]
        east, north = _fast_local_en(ellipse.lat, ellipse.lon, lat, lon)
        inside = ellipse._inside_en(east, north)
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


def _window_for(
    dem: xr.DataArray, polygons: Sequence[Polygon], margin: int, step: int
) -> tuple[slice, slice]:
    """Index window of ``dem`` covering the polygons plus ``margin`` cells, aligned on ``step``."""
    from marsgis.sampling import lonlat_to_grid

    xs: list[float] = []
    ys: list[float] = []
    for p in polygons:
        lon, lat = np.asarray(p.exterior.xy)
        fy, fx = lonlat_to_grid(dem, lat, lon)
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


def _blocks(dem: xr.DataArray, cs: ConstraintSet, res: float) -> tuple[int, int]:
    ks = [k for k in (_block_cells(dem.shape, res, s)[0] for s in cs.slopes) if k > 0]
    return (max(ks, default=1), math.lcm(*ks) if ks else 1)


@dataclass(frozen=True)
class EllipseEvaluation:
    """The evaluation of one landing ellipse (see :func:`evaluate_ellipse`).

    Attributes
    ----------
    ellipse
        The ellipse evaluated.
    constraints
        Name of the constraint set.
    n_cells, cell_area_km2
        DEM cells inside the ellipse and their total area.
    fail_fraction
        Constraint key → area fraction of the ellipse failing it (evaluated constraints).
    fail_any
        Area fraction failing at least one evaluated constraint (or without data).
    not_evaluated
        Constraint key → reason.
    stats
        ``elevation_mean_m``, ``relief_m`` (max − min elevation), ``slope_mean_deg``,
        ``slope_p95_deg``, ``slope_max_deg`` (Horn slope at the DEM's own resolution,
        ``slope_baseline_m``).
    science
        Science value in [0, 1]; ``science_parts`` gives each target's factor.
    """

    ellipse: LandingEllipse
    constraints: str
    n_cells: int
    cell_area_km2: float
    fail_fraction: dict[str, float]
    fail_any: float
    not_evaluated: dict[str, str]
    stats: dict[str, float]
    science: float
    science_parts: dict[str, float]

    @property
    def safety(self) -> float:
        """``1 − fail_any``."""
        return 1.0 - self.fail_any

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "ellipse": self.ellipse.to_dict(),
            "constraints": self.constraints,
            "n_cells": self.n_cells,
            "cell_area_km2": self.cell_area_km2,
            "ellipse_area_km2": self.ellipse.area_km2,
            "fail_fraction": dict(self.fail_fraction),
            "fail_any": self.fail_any,
            "safety": self.safety,
            "not_evaluated": dict(self.not_evaluated),
            **self.stats,
            "science": self.science,
            "science_parts": dict(self.science_parts),
        }


def evaluate_ellipse(
    ellipse: LandingEllipse,
    dem: xr.DataArray,
    constraints: Any,
    *,
    targets: Any = None,
    rocks: xr.DataArray | None = None,
    reach_km: float = 20.0,
    hazard: xr.DataArray | None = None,
    hazard_threshold: float = 0.5,
) -> EllipseEvaluation:
    """Evaluate a landing ellipse on a DEM: constraint failures, terrain statistics, science.

    Parameters
    ----------
    ellipse
        The ellipse (see :meth:`LandingEllipse.from_constraints`).
    dem
        A DEM covering the whole ellipse (numpy or dask backed; only a window is read).
    constraints
        A constraint set or preset name.
    targets
        Science targets (see :func:`make_targets`).
    rocks
        Optional rock-abundance raster on the DEM's grid.
    reach_km
        Distance over which an outside target's value falls to zero.
    hazard
        Optional hazard raster in [0, 1] on the DEM's grid (0 benign, 1 impassable; NaN
        unknown, not counted as failing).
    hazard_threshold
        Cells with hazard ≥ this fail the ``"hazard"`` check.

    Raises
    ------
    CoordinateError
        The ellipse reaches beyond the DEM.
    ValidationError
        The ellipse holds no cell centre (a DEM far coarser than the ellipse).
    """
    cs = load_constraints(constraints)
    res = _resolution_if_needed(dem, cs)
    kmax, step = _blocks(dem, cs, res)
    rows, cols = _window_for(dem, [ellipse.polygon()], 2 * kmax + 1, step)
    window = dem.isel(y=rows, x=cols)
    win_rocks = None if rocks is None else rocks.isel(y=rows, x=cols)
    grid = _SiteGrid.build(window, cs, win_rocks, res)
    if hazard is not None:
        if hazard.shape != dem.shape:
            raise ValidationError(
                f"hazard raster has shape {hazard.shape!r}, the DEM {dem.shape!r}; put it on the "
                "DEM's grid"
            )
        if not 0.0 < hazard_threshold <= 1.0:
            raise ValidationError(f"hazard_threshold={hazard_threshold!r} must lie in (0, 1]")
        hz = np.asarray(hazard.isel(y=rows, x=cols).values, dtype=np.float64)
        grid.hazard = hz
        with np.errstate(invalid="ignore"):
            grid.fails["hazard"] = np.isfinite(hz) & (hz >= hazard_threshold)
    _mark_infeasible(grid, dem, cs, res)
    ev = grid.evaluate(ellipse, slice(None), slice(None))
    if ev["n_cells"] == 0:
        raise ValidationError(
            f"no cell centre of DEM {dem.name!r} falls inside the {2 * ellipse.semi_major_km:g} × "
            f"{2 * ellipse.semi_minor_km:g} km ellipse; use a finer DEM"
        )
    tg = make_targets(targets)
    sci, parts = _science(ellipse, tg, reach_km)
    return _evaluation(
        ellipse,
        cs.name,
        ev,
        missing=grid.not_evaluated,
        sci=sci,
        parts=parts,
        baseline=grid.slope_baseline_m,
    )


def _mark_infeasible(grid: _SiteGrid, dem: xr.DataArray, cs: ConstraintSet, res: float) -> None:
    """Feasibility of a slope baseline is decided on the whole DEM, not the window."""
    for limit in cs.slopes:
        k, why = _block_cells(dem.shape, res, limit)
        if k == 0:
            grid.not_evaluated[limit.key] = why
            grid.fails.pop(limit.key, None)
        elif limit.key in grid.not_evaluated:
            grid.not_evaluated.pop(limit.key)
    grid.__post_init__()


def _evaluation(
    ellipse: LandingEllipse,
    name: str,
    ev: dict[str, Any],
    *,
    missing: dict[str, str],
    sci: float,
    parts: dict[str, float],
    baseline: float,
) -> EllipseEvaluation:
    fails = {k[5:]: float(v) for k, v in ev.items() if k.startswith("fail_") and k != "fail_any"}
    stats: dict[str, float] = {
        k: float(ev[k])
        for k in (
            "elevation_mean_m",
            "relief_m",
            "slope_mean_deg",
            "slope_p95_deg",
            "slope_max_deg",
            "hazard_mean",
            "hazard_max",
        )
        if k in ev
    }
    stats["slope_baseline_m"] = baseline
    return EllipseEvaluation(
        ellipse=ellipse,
        constraints=name,
        n_cells=int(ev["n_cells"]),
        cell_area_km2=float(ev.get("cell_area_km2", 0.0)),
        fail_fraction=fails,
        fail_any=float(ev.get("fail_any", math.nan)),
        not_evaluated=dict(missing),
        stats=stats,
        science=sci,
        science_parts=parts,
    )
