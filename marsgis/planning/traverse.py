"""Rover traverse planning on a DEM: least-cost routes with per-leg distance, climb, time, energy.

:func:`plan_traverse` turns a DEM into a cost surface (:func:`~marsgis.planning.cost_surface`),
finds the exact least-cost 8-connected route for each leg (start → via… → goal) with
:func:`~marsgis.planning.least_cost_path` (a point-to-point bidirectional A*, exact) using
the true metric size of the cells (on a geographic grid a cell's width is ``R cos φ Δλ``),
and reports each leg as a LineString
with its geodesic length on the Mars sphere, elevation gain and loss, slopes, drive time
and an energy estimate.

Large regions
-------------
The search needs the cost of every cell it may visit in memory (8 bytes a cell) and labels
(18 bytes a cell, allocated lazily: only the pages of the cells it explores are touched).
A DEM up to ``max_cells`` cells (default 4096² ≈ 16.8 M) is planned whole: the route is
the exact optimum. A larger one is first cut to the waypoints' bounding box plus a margin
(the route is then the exact optimum inside that window). If the window is still larger
than ``max_cells`` (8192² and up, or a dask-backed global mosaic), planning goes coarse to
fine: the DEM is block-averaged by ``f = ceil(sqrt(cells / max_cells))``, a coarse route is
planned, and the fine route is solved exactly in overlapping windows of at most
``segment_cells`` fine cells of route plus ``margin_cells`` on each side, joined at cells of
the coarse route. Only those windows are ever read from a dask-backed DEM. The result is
then optimal within each window but not guaranteed globally optimal; ``attrs["method"]``
says which way a plan was made.

Rover model
-----------
``drive_time_h = length / speed`` with ``speed_m_per_h`` (default 144 m/h: Curiosity's
4 cm/s top speed on flat, hard ground); ``energy_wh = drive_power_w · drive_time_h +
m g h_gain / (efficiency · 3600)`` with ``g = 3.72076 m/s²``. The defaults (200 W, 899 kg,
efficiency 0.5) are assumptions about a Curiosity-class rover: set them for your rover.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS, Transformer
from shapely.geometry import LineString

from marsgis.crs import MARS_GEOGRAPHIC, validate_latlon
from marsgis.exceptions import CoordinateError, PlanningError, ValidationError
from marsgis.geo import Grid, great_circle_m, lon180
from marsgis.planning.cost import cost_surface, slope_limit
from marsgis.planning.lcp import least_cost_path
from marsgis.progress import progress_iter

__all__ = ["MARS_GRAVITY", "ROUTE_SUMMARY_KEYS", "RoverModel", "plan_traverse", "route_summary"]

#: Mean surface gravity of Mars, m/s².
MARS_GRAVITY = 3.72076

#: The route attributes a summary of a planned traverse shows (CLI, mission plans, reports).
ROUTE_SUMMARY_KEYS = (
    "length_m",
    "great_circle_m",
    "cost",
    "max_slope_deg",
    "drive_time_h",
    "energy_wh",
    "elevation_gain_m",
    "elevation_loss_m",
    "method",
    "max_slope_limit_deg",
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
LatLon = tuple[float, float]


@dataclass(frozen=True)
class RoverModel:
    """Speed and energy parameters of a rover (defaults: a Curiosity-class rover, see module)."""

    speed_m_per_h: float = 144.0
    drive_power_w: float = 200.0
    mass_kg: float = 899.0
    efficiency: float = 0.5

    def __post_init__(self) -> None:
        for label in ("speed_m_per_h", "drive_power_w", "mass_kg", "efficiency"):
            v = getattr(self, label)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValidationError(f"rover {label} must be a number > 0, got {v!r}")
        if self.efficiency > 1:
            raise ValidationError(f"rover efficiency must be in (0, 1], got {self.efficiency!r}")

    def drive_time_h(self, length_m: float) -> float:
        """Hours to drive ``length_m`` metres."""
        return length_m / self.speed_m_per_h

    def energy_wh(self, length_m: float, gain_m: float) -> float:
        """Watt-hours to drive ``length_m`` metres climbing ``gain_m`` metres in all."""
        lift = self.mass_kg * MARS_GRAVITY * max(gain_m, 0.0) / (self.efficiency * 3600.0)
        return self.drive_power_w * self.drive_time_h(length_m) + lift


@dataclass(frozen=True)
class _CostParams:
    max_slope: float
    slope_weight: float
    roughness_weight: float
    cost_factor: xr.DataArray | None
    classes: Mapping[Any, float] | None


@dataclass
class _Layers:
    """In-memory layers of a DEM window: cost, slope, elevation and metric cell sizes."""

    dem: xr.DataArray
    row0: int
    col0: int
    cost: FloatArray
    slope: FloatArray
    elevation: FloatArray
    dx: FloatArray  # per row
    dy: FloatArray  # per row pair

    @property
    def spacing(self) -> tuple[FloatArray, FloatArray]:
        return self.dy, self.dx


def _layers(dem: xr.DataArray, rows: slice, cols: slice, p: _CostParams) -> _Layers:
    """Cost, slope and elevation of ``dem[rows, cols]``, computed with a 1-cell halo."""
    from marsgis import terrain

    ny, nx = dem.shape
    r0, r1 = rows.start, rows.stop
    c0, c1 = cols.start, cols.stop
    er0, er1 = max(0, r0 - 1), min(ny, r1 + 1)
    ec0, ec1 = max(0, c0 - 1), min(nx, c1 + 1)
    big = dem.isel(y=slice(er0, er1), x=slice(ec0, ec1))
    if hasattr(big.data, "compute"):
        big = big.compute()
    hz = None if p.cost_factor is None else p.cost_factor.isel(y=slice(er0, er1), x=slice(ec0, ec1))
    if hz is not None and hasattr(hz.data, "compute"):
        hz = hz.compute()
    cost = cost_surface(
        big, max_slope=p.max_slope, slope_weight=p.slope_weight,
        roughness_weight=p.roughness_weight, cost_factor=hz, classes=p.classes,
    )  # fmt: skip
    slope = terrain.slope(big)
    size = terrain.cell_size(big)
    iy = slice(r0 - er0, r0 - er0 + (r1 - r0))
    ix = slice(c0 - ec0, c0 - ec0 + (c1 - c0))
    h = np.asarray(size.height.values, dtype=np.float64)[iy]
    dx = np.maximum(np.asarray(size.width.values, dtype=np.float64)[iy], 1e-6)  # pole rows: 0
    dy = 0.5 * (h[:-1] + h[1:]) if h.size > 1 else h.copy()
    return _Layers(
        dem=big.isel(y=iy, x=ix),
        row0=r0,
        col0=c0,
        cost=np.ascontiguousarray(cost.values[iy, ix], dtype=np.float64),
        slope=np.asarray(slope.values[iy, ix], dtype=np.float64),
        elevation=np.asarray(big.values[iy, ix], dtype=np.float64),
        dx=dx,
        dy=dy,
    )


def _cells_lonlat(
    dem: xr.DataArray, rows: IntArray, cols: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Lat/lon (°E, −180–180) of cell centres of ``dem``."""
    xs = np.asarray(dem["x"].values, dtype=np.float64)[cols]
    ys = np.asarray(dem["y"].values, dtype=np.float64)[rows]
    crs = CRS.from_user_input(dem.rio.crs)
    if crs.is_geographic:
        return ys, np.asarray(lon180(xs), dtype=np.float64)
    tr = Transformer.from_crs(crs, CRS.from_user_input(MARS_GEOGRAPHIC), always_xy=True)
    lon, lat = tr.transform(xs, ys)
    return np.asarray(lat, dtype=np.float64), np.asarray(lon180(lon), dtype=np.float64)


def _point(value: Any, what: str) -> LatLon:
    try:
        lat, lon = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} must be a (lat, lon) pair of degrees") from None
    la, lo = validate_latlon(lat, lon)
    return float(la), lon180(float(lo))


def _cell_of(
    grid: Grid, shape: tuple[int, int], pt: LatLon, what: str, dem: xr.DataArray
) -> tuple[int, int]:
    fy, fx = grid.locate(pt[0], pt[1])
    r, c = round(float(fy)), round(float(fx))
    if grid.is_global:
        c %= shape[1]
    if not (0 <= r < shape[0] and 0 <= c < shape[1]):
        b = tuple(round(float(v), 4) for v in dem.rio.bounds())
        raise CoordinateError(
            f"the {what} lat={pt[0]!r}, lon={pt[1]!r} lies outside DEM {dem.name!r} (bounds {b} "
            "in its CRS); use a DEM that covers every waypoint"
        )
    return r, c


def _check_distinct(
    cells: Sequence[tuple[int, int]],
    points: Sequence[LatLon],
    labels: Sequence[str],
    dem: xr.DataArray,
) -> None:
    """Refuse a leg whose two ends lie in one DEM cell (a route needs two cells)."""
    for i in range(len(cells) - 1):
        if cells[i] == cells[i + 1]:
            a, b = points[i], points[i + 1]
            res = tuple(round(abs(float(v)), 6) for v in dem.rio.resolution())
            raise PlanningError(
                f"the {labels[i]} (lat={a[0]!r}, lon={a[1]!r}) and the {labels[i + 1]} "
                f"(lat={b[0]!r}, lon={b[1]!r}) lie in the same cell (row {cells[i][0]}, col "
                f"{cells[i][1]}) of DEM {dem.name!r} (cell size {res} in its CRS), so there is "
                "no route to plan between them; move one of them at least one cell away, drop "
                "the repeated point, or use a finer DEM"
            )


def _explain_blocked(
    layers: _Layers, cell: tuple[int, int], what: str, pt: LatLon, limit: float
) -> None:
    r, c = cell
    if np.isfinite(layers.cost[r, c]):
        return
    elev = layers.elevation[r, c]
    s = layers.slope[r, c]
    where = f"the {what} (lat={pt[0]:.5f}, lon={pt[1]:.5f})"
    if not np.isfinite(elev):
        raise PlanningError(f"{where} has no elevation data in the DEM; move it onto valid terrain")
    if not np.isfinite(s):
        raise PlanningError(
            f"{where} is on the DEM's edge or next to nodata, where slope is unknown; move it "
            "at least one cell inside the DEM"
        )
    if s > limit:
        raise PlanningError(
            f"{where} is steeper than the limit: {s:.1f}° > max_slope {limit:g}°; move it, or raise "
            f"max_slope (Curiosity's fault-protection limit is 30°)"
        )
    raise PlanningError(
        f"{where} is impassable in the cost_factor raster (factor inf, ≤ 0 or missing); move it "
        "or change cost_factor / classes"
    )


def _leg_path(
    layers: _Layers, a: tuple[int, int], b: tuple[int, int], names: tuple[str, str], limit: float
) -> tuple[IntArray, float]:
    try:
        res = least_cost_path(layers.cost, a, b, spacing=layers.spacing)
    except PlanningError:
        raise PlanningError(
            f"no route from the {names[0]} to the {names[1]} stays under the {limit:g}° slope limit "
            "(and off cells the cost_factor makes impassable): the way is enclosed by steeper "
            "terrain. Raise max_slope, add a via point around the obstacle, or check cost_factor"
        ) from None
    return res.path, res.cost


def plan_traverse(
    dem: xr.DataArray,
    start: tuple[float, float],
    goal: tuple[float, float],
    *,
    via: Sequence[tuple[float, float]] = (),
    max_slope: float | None = None,
    slope_weight: float = 1.0,
    roughness_weight: float = 0.5,
    cost_factor: xr.DataArray | None = None,
    classes: Mapping[Any, float] | None = None,
    rover: RoverModel | None = None,
    speed_m_per_h: float | None = None,
    max_cells: int = 4096 * 4096,
    segment_cells: int = 1024,
    margin_cells: int = 256,
    name: str = "traverse",
) -> gpd.GeoDataFrame:
    """Plan a rover traverse over a DEM from ``start`` through ``via`` points to ``goal``.

    Parameters
    ----------
    dem
        Elevations in metres (numpy or dask backed), geographic or projected Mars CRS.
    start, goal, via
        ``(lat, lon)`` planetocentric degrees (longitude 0–360 or −180–180 °E).
    max_slope
        Slope limit in degrees (default: option ``max_slope_deg``, 25°).
    slope_weight, roughness_weight, cost_factor, classes
        Cost surface parameters (see :func:`~marsgis.planning.cost_surface`). ``cost_factor``
        is a raster of multiplicative cost factors (1…∞), not a 0–1 hazard: make it from a
        hazard with :func:`marsgis.ml.hazard_factor`.
    rover
        Speed and energy model (default :class:`RoverModel`); ``speed_m_per_h`` overrides its speed.
    max_cells
        Largest grid planned in one piece (see "Large regions").
    segment_cells, margin_cells
        Window sizes of coarse-to-fine planning.
    name
        Name stored in ``attrs``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per leg: ``leg, from_lat, from_lon, to_lat, to_lon`` (longitudes in
        −180–180 °E), ``length_m`` (geodesic on
        the Mars sphere), ``great_circle_m, cost, elevation_gain_m, elevation_loss_m,
        max_slope_deg, mean_slope_deg, drive_time_h, energy_wh, n_cells`` and a LineString
        (lon, lat °E) from the exact start through the cell centres to the exact end.
        ``attrs``: totals (``length_m``, ``cost``, ``max_slope_deg``, ``drive_time_h``,
        ``energy_wh``), ``method`` and the parameters.

    Raises
    ------
    PlanningError
        A waypoint is impassable (says why: too steep, no data, cost factor) or unreachable;
        or two consecutive waypoints (start and goal, say) lie in the same DEM cell: a route
        from a point to itself is an error, not a zero-length (or one-cell round trip) route.
    CoordinateError
        A waypoint lies outside the DEM.
    """
    limit = slope_limit(max_slope)
    model = rover or RoverModel()
    if speed_m_per_h is not None:
        model = RoverModel(
            float(speed_m_per_h), model.drive_power_w, model.mass_kg, model.efficiency
        )
    if max_cells < 64 * 64:
        raise ValidationError(f"max_cells must be at least 4096, got {max_cells!r}")
    points = [
        _point(start, "start"),
        *[_point(v, f"via[{i}]") for i, v in enumerate(via)],
        _point(goal, "goal"),
    ]
    labels = ["start", *[f"via point {i + 1}" for i in range(len(via))], "goal"]
    params = _CostParams(limit, slope_weight, roughness_weight, cost_factor, classes)
    if dem.dims != ("y", "x"):
        raise ValidationError(
            f"expected a DEM with dims ('y', 'x'), got {dem.dims!r}; open it with marsgis.open_dem"
        )
    ny, nx = dem.shape
    grid = Grid.of(dem)
    cells = [_cell_of(grid, (ny, nx), p, w, dem) for p, w in zip(points, labels, strict=True)]
    _check_distinct(cells, points, labels, dem)

    if ny * nx <= max_cells:
        method = "exact"
        rows, cols = slice(0, ny), slice(0, nx)
    else:
        rs = [c[0] for c in cells]
        cs_ = [c[1] for c in cells]
        extent = max(max(rs) - min(rs), max(cs_) - min(cs_))
        m = max(margin_cells, extent // 4)
        rows = slice(max(0, min(rs) - m), min(ny, max(rs) + m + 1))
        cols = slice(max(0, min(cs_) - m), min(nx, max(cs_) + m + 1))
        method = "window"
        if (rows.stop - rows.start) * (cols.stop - cols.start) > max_cells:
            method = "coarse-to-fine"
    if method != "coarse-to-fine":
        layers = _layers(dem, rows, cols, params)
        local = [(r - rows.start, c - cols.start) for r, c in cells]
        for cell, p, w in zip(local, points, labels, strict=True):
            _explain_blocked(layers, cell, w, p, limit)
        legs = []
        for i in progress_iter(range(len(points) - 1), desc="traverse legs", unit="leg"):
            path, cost = _leg_path(
                layers, local[i], local[i + 1], (labels[i], labels[i + 1]), limit
            )
            legs.append(_leg_record(layers, path, cost, (points[i], points[i + 1]), model))
    else:
        legs = _coarse_to_fine(
            dem,
            cells,
            points,
            labels,
            p=params,
            model=model,
            max_cells=max_cells,
            segment_cells=segment_cells,
            margin_cells=margin_cells,
        )
    return _frame(legs, model=model, method=method, p=params, name=name, n_via=len(via))


def _leg_record(
    layers: _Layers, path: IntArray, cost: float, ends: tuple[LatLon, LatLon], model: RoverModel
) -> dict[str, Any]:
    a, b = ends
    from marsgis.sampling import sample

    lat_c, lon_c = _cells_lonlat(layers.dem, path[:, 0], path[:, 1])
    lats = np.concatenate([[a[0]], lat_c, [b[0]]])
    lons = np.concatenate([[a[1]], lon_c, [b[1]]])
    # unwrap longitudes so the LineString does not jump at ±180°; it starts at the start's
    # longitude (−180–180 °E) and may run past ±180 to stay continuous
    lons = np.degrees(np.unwrap(np.radians(lons)))
    z_ends = np.asarray(sample(layers.dem, [a[0], b[0]], [a[1], b[1]]), dtype=np.float64)
    z_cells = layers.elevation[path[:, 0], path[:, 1]]
    z = np.concatenate(
        [
            [z_ends[0] if np.isfinite(z_ends[0]) else z_cells[0]],
            z_cells,
            [z_ends[1] if np.isfinite(z_ends[1]) else z_cells[-1]],
        ]
    )
    seg = great_circle_m(lats[:-1], lons[:-1], lats[1:], lons[1:])
    seg = np.atleast_1d(np.asarray(seg, dtype=np.float64))
    length = float(seg.sum())
    dz = np.diff(z)
    gain = float(dz[dz > 0].sum())
    loss = float(np.abs(dz[dz < 0]).sum())
    s = layers.slope[path[:, 0], path[:, 1]]
    # each cell carries half of the segments on either side of it
    w = 0.5 * (seg[:-1] + seg[1:])
    ok = np.isfinite(s)
    mean_s = (
        float(np.sum(s[ok] * w[ok]) / np.sum(w[ok]))
        if ok.any() and np.sum(w[ok]) > 0
        else float(np.nanmean(s))
        if ok.any()
        else math.nan
    )
    verts = [(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]
    dedup = [verts[0]] + [v for prev, v in itertools.pairwise(verts) if v != prev]
    if len(dedup) == 1:
        dedup.append(dedup[0])
    return {
        "from_lat": a[0],
        "from_lon": a[1],
        "to_lat": b[0],
        "to_lon": b[1],
        "length_m": length,
        "great_circle_m": float(great_circle_m(a[0], a[1], b[0], b[1])),
        "cost": float(cost),
        "elevation_gain_m": gain,
        "elevation_loss_m": loss,
        "max_slope_deg": float(np.nanmax(s)) if ok.any() else math.nan,
        "mean_slope_deg": mean_s,
        "drive_time_h": model.drive_time_h(length),
        "energy_wh": model.energy_wh(length, gain),
        "n_cells": int(path.shape[0]),
        "geometry": LineString(dedup),
    }


def _frame(
    legs: list[dict[str, Any]],
    *,
    model: RoverModel,
    method: str,
    p: _CostParams,
    name: str,
    n_via: int,
) -> gpd.GeoDataFrame:
    for i, leg in enumerate(legs):
        leg["leg"] = i + 1
    cols = [
        "leg", "from_lat", "from_lon", "to_lat", "to_lon", "length_m", "great_circle_m", "cost",
        "elevation_gain_m", "elevation_loss_m", "max_slope_deg", "mean_slope_deg", "drive_time_h",
        "energy_wh", "n_cells", "geometry",
    ]  # fmt: skip
    gdf = gpd.GeoDataFrame(
        [{k: leg[k] for k in cols} for leg in legs], geometry="geometry", crs=MARS_GEOGRAPHIC
    )
    gdf.attrs = {
        "name": name,
        "method": method,
        "length_m": float(gdf["length_m"].sum()),
        "great_circle_m": float(gdf["great_circle_m"].sum()),
        "cost": float(gdf["cost"].sum()),
        "elevation_gain_m": float(gdf["elevation_gain_m"].sum()),
        "elevation_loss_m": float(gdf["elevation_loss_m"].sum()),
        "max_slope_deg": float(gdf["max_slope_deg"].max()),
        "drive_time_h": float(gdf["drive_time_h"].sum()),
        "energy_wh": float(gdf["energy_wh"].sum()),
        "max_slope_limit_deg": p.max_slope,
        "slope_weight": p.slope_weight,
        "roughness_weight": p.roughness_weight,
        "speed_m_per_h": model.speed_m_per_h,
        "via_points": n_via,
    }
    return gdf


def route_summary(route: gpd.GeoDataFrame) -> dict[str, Any]:
    """The totals of a :func:`plan_traverse` result (:data:`ROUTE_SUMMARY_KEYS`) and its legs.

    Examples
    --------
    >>> import marsgis
    >>> route = plan_traverse(marsgis.open_dem("gale-mola"), (-4.5895, 137.4417), (-4.62, 137.40))
    >>> summary = route_summary(route)
    >>> summary["legs"], summary["method"], summary["length_m"] >= summary["great_circle_m"]
    (1, 'exact', True)
    """
    out = {k: route.attrs.get(k) for k in ROUTE_SUMMARY_KEYS}
    out["legs"] = len(route)
    return out


# --------------------------------------------------------------------------------------------
# coarse to fine
# --------------------------------------------------------------------------------------------


def _coarse_to_fine(
    dem: xr.DataArray,
    cells: list[tuple[int, int]],
    points: list[LatLon],
    labels: list[str],
    *,
    p: _CostParams,
    model: RoverModel,
    max_cells: int,
    segment_cells: int,
    margin_cells: int,
) -> list[dict[str, Any]]:
    ny, nx = dem.shape
    f = max(2, math.ceil(math.sqrt(ny * nx / max_cells)))
    coarse_dem = dem.coarsen(y=f, x=f, boundary="trim").mean()
    if hasattr(coarse_dem.data, "compute"):
        coarse_dem = coarse_dem.compute()
    coarse_dem = coarse_dem.rio.write_crs(dem.rio.crs)
    hz = None
    if p.cost_factor is not None:
        hz = p.cost_factor.coarsen(y=f, x=f, boundary="trim").max()
    cp = _CostParams(
        p.max_slope, p.slope_weight, p.roughness_weight, hz, None if hz is not None else p.classes
    )
    if p.classes is not None and p.cost_factor is not None:
        raise ValidationError(
            "terrain classes (classes=) are not supported on coarse-to-fine plans; pass "
            "cost_factor as factors instead"
        )
    cny, cnx = coarse_dem.shape
    coarse = _layers(coarse_dem, slice(0, cny), slice(0, cnx), cp)
    # the coarse cost cannot block a waypoint the fine grid allows: open waypoint blocks
    ccells = [(min(r // f, cny - 1), min(c // f, cnx - 1)) for r, c in cells]
    for r, c in ccells:
        if not np.isfinite(coarse.cost[r, c]):
            coarse.cost[r, c] = 1.0
    seg_len = max(1, segment_cells // f)
    legs: list[dict[str, Any]] = []
    for i in range(len(cells) - 1):
        cpath, _ = _leg_path(
            coarse, ccells[i], ccells[i + 1], (labels[i], labels[i + 1]), p.max_slope
        )
        # junctions: every seg_len coarse cells, ending at the goal
        idx = list(range(seg_len, cpath.shape[0] - 1, seg_len))
        joints: list[tuple[int, int]] = [cells[i]]
        for k in idx:
            joints.append(_junction(dem, int(cpath[k, 0]), int(cpath[k, 1]), f, p))
        joints.append(cells[i + 1])
        pieces: list[IntArray] = []
        total = 0.0
        windows = list(itertools.pairwise(joints))
        for a, b in progress_iter(windows, desc=f"traverse leg {i + 1} windows", unit="window"):
            r0 = max(0, min(a[0], b[0]) - margin_cells)
            r1 = min(ny, max(a[0], b[0]) + margin_cells + 1)
            c0 = max(0, min(a[1], b[1]) - margin_cells)
            c1 = min(nx, max(a[1], b[1]) + margin_cells + 1)
            lay = _layers(dem, slice(r0, r1), slice(c0, c1), p)
            if a == cells[i]:
                _explain_blocked(lay, (a[0] - r0, a[1] - c0), labels[i], points[i], p.max_slope)
            if b == cells[i + 1]:
                _explain_blocked(
                    lay, (b[0] - r0, b[1] - c0), labels[i + 1], points[i + 1], p.max_slope
                )
            path, cost = _leg_path(
                lay,
                (a[0] - r0, a[1] - c0),
                (b[0] - r0, b[1] - c0),
                (labels[i], labels[i + 1]),
                p.max_slope,
            )
            path = path + np.array([r0, c0])
            pieces.append(path if not pieces else path[1:])
            total += cost
        full = np.concatenate(pieces)
        r0, r1 = int(full[:, 0].min()), int(full[:, 0].max()) + 1
        c0, c1 = int(full[:, 1].min()), int(full[:, 1].max()) + 1
        lay = _layers(dem, slice(r0, r1), slice(c0, c1), p)
        legs.append(
            _leg_record(lay, full - np.array([r0, c0]), total, (points[i], points[i + 1]), model)
        )
    return legs


def _junction(dem: xr.DataArray, cr: int, cc: int, f: int, p: _CostParams) -> tuple[int, int]:
    """The passable fine cell of coarse block (cr, cc) nearest its centre (lowest cost on ties)."""
    ny, nx = dem.shape
    r0, c0 = cr * f, cc * f
    lay = _layers(dem, slice(r0, min(ny, r0 + f)), slice(c0, min(nx, c0 + f)), p)
    ok = np.isfinite(lay.cost)
    if not ok.any():
        raise PlanningError(
            f"the coarse route crosses a block (rows {r0}–{r0 + f}, cols {c0}–{c0 + f}) with no "
            f"fine cell under the {p.max_slope:g}° limit; add a via point to steer around it, or "
            "plan on a window small enough for an exact plan (raise max_cells)"
        )
    rr, cc_ = np.nonzero(ok)
    centre = (f - 1) / 2.0
    d = (rr - centre) ** 2 + (cc_ - centre) ** 2
    k = int(np.lexsort((lay.cost[rr, cc_], d))[0])
    return r0 + int(rr[k]), c0 + int(cc_[k])
