"""Traverse planning on real DEMs: lengths against pyproj.Geod, costs against least_cost_path."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import Geod

import marsgis
from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import CoordinateError, PlanningError
from marsgis.geo import lonlat_to_grid
from marsgis.planning import cost_surface, plan_traverse

GEOD = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)
BRADBURY = (-4.5895, 137.4417)
SOLS = (746, 1500, 2500, 3500, 4977)


@pytest.fixture(scope="module")
def gale() -> xr.DataArray:
    return marsgis.open_dem("gale-mola")


@pytest.fixture(scope="module")
def stops():
    return marsgis.open_features("msl-stops")


def _stop(stops, sol: int) -> tuple[float, float]:
    row = stops.iloc[int((stops["sol"] - sol).abs().argmin())]
    return float(row["lat"]), float(row["lon"])


@pytest.mark.parametrize("sol", SOLS)
def test_gale_routes_from_bradbury_to_curiosity_stops(gale, stops, sol: int) -> None:
    goal = _stop(stops, sol)
    route = plan_traverse(gale, BRADBURY, goal)
    leg = route.iloc[0]
    lon, lat = np.asarray(leg.geometry.coords.xy)
    # geodesic length on the Mars sphere, as pyproj measures it
    assert leg.length_m == pytest.approx(GEOD.line_length(lon, lat), rel=1e-9)
    # never shorter than the great circle
    _, _, gc = GEOD.inv(BRADBURY[1], BRADBURY[0], goal[1], goal[0])
    assert leg.great_circle_m == pytest.approx(gc, rel=1e-9)
    assert leg.length_m >= gc
    assert leg.max_slope_deg <= 25.0
    assert route.attrs["method"] == "exact"
    assert leg.drive_time_h == pytest.approx(leg.length_m / 144.0)
    assert (lon[0], lat[0]) == (BRADBURY[1], BRADBURY[0])
    assert (lon[-1], lat[-1]) == pytest.approx((goal[1], goal[0]))


def test_route_cost_is_the_least_cost_path_of_the_cost_surface(gale) -> None:
    from marsgis.planning import least_cost_path
    from marsgis.terrain import cell_size

    goal = (-4.82143, 137.385815)
    route = plan_traverse(gale, BRADBURY, goal)
    cost = cost_surface(gale).values
    size = cell_size(gale)
    h = size.height.values
    fy, fx = lonlat_to_grid(gale, [BRADBURY[0], goal[0]], [BRADBURY[1], goal[1]])
    start, end = (round(fy[0]), round(fx[0])), (round(fy[1]), round(fx[1]))
    ref = least_cost_path(cost, start, end, spacing=(0.5 * (h[:-1] + h[1:]), size.width.values))
    assert route.attrs["cost"] == pytest.approx(ref.cost, rel=1e-12)
    assert route.iloc[0].n_cells == len(ref.path)


def test_elevation_gain_and_loss_follow_the_vertices(gale) -> None:
    route = plan_traverse(gale, BRADBURY, (-4.82143, 137.385815))
    lon, lat = np.asarray(route.geometry.iloc[0].coords.xy)
    z = marsgis.sample(gale, lat, lon)
    dz = np.diff(z)
    # interior vertices are cell centres, where bilinear sampling returns the cell value
    assert route.elevation_gain_m.iloc[0] == pytest.approx(dz[dz > 0].sum(), rel=1e-6)
    assert route.elevation_loss_m.iloc[0] == pytest.approx(-dz[dz < 0].sum(), rel=1e-6)
    assert route.energy_wh.iloc[0] > 200.0 * route.drive_time_h.iloc[0]


def test_via_points_make_chained_legs(gale, stops) -> None:
    via = [_stop(stops, 746), _stop(stops, 1500)]
    goal = _stop(stops, 2500)
    route = plan_traverse(gale, BRADBURY, goal, via=via)
    assert route["leg"].tolist() == [1, 2, 3]
    assert (route.to_lat.iloc[0], route.to_lon.iloc[0]) == via[0]
    assert (route.from_lat.iloc[1], route.from_lon.iloc[1]) == via[0]
    assert route.attrs["length_m"] == pytest.approx(route.length_m.sum())
    direct = plan_traverse(gale, BRADBURY, goal)
    assert route.attrs["cost"] >= direct.attrs["cost"] - 1e-6


def test_unreachable_goals_say_why(gale) -> None:
    with pytest.raises(
        PlanningError, match=r"goal .* steeper than the limit: \d+\.\d° > max_slope 5°"
    ):
        plan_traverse(gale, BRADBURY, (-5.37, 137.86), max_slope=5)
    with pytest.raises(CoordinateError, match="outside DEM"):
        plan_traverse(gale, BRADBURY, (10.0, 137.4))
    # a goal on passable ground ringed by a wall of impassable hazard
    hazard = xr.ones_like(gale)
    r, c = 500, 500
    hazard[r - 3 : r + 4, c - 3 : c + 4] = np.inf
    hazard[r - 2 : r + 3, c - 2 : c + 3] = 1.0
    goal = (float(gale.y[r]), float(gale.x[c]))
    assert np.isfinite(cost_surface(gale).values[r - 5 : r + 6, c - 5 : c + 6]).all()
    with pytest.raises(PlanningError, match="enclosed by steeper terrain"):
        plan_traverse(gale, BRADBURY, goal, cost_factor=hazard)
    hazard[r, c] = np.inf
    with pytest.raises(PlanningError, match="goal .* impassable in the cost_factor raster"):
        plan_traverse(gale, BRADBURY, goal, cost_factor=hazard)


def test_hazard_classes_force_a_detour(gale) -> None:
    goal = (-4.82143, 137.385815)
    base = plan_traverse(gale, BRADBURY, goal)
    classes = xr.zeros_like(gale, dtype=np.int16)
    path = base.geometry.iloc[0]
    fy, fx = lonlat_to_grid(gale, np.asarray(path.xy[1])[5:-5], np.asarray(path.xy[0])[5:-5])
    classes.values[np.round(fy).astype(int), np.round(fx).astype(int)] = 2
    detour = plan_traverse(gale, BRADBURY, goal, cost_factor=classes, classes={0: 1.0, 2: np.inf})
    assert detour.attrs["cost"] > base.attrs["cost"]
    assert detour.attrs["length_m"] >= detour.attrs["great_circle_m"]


def test_projected_one_metre_dem(gale) -> None:
    dem = marsgis.open_dem("gale-1m")
    start, goal = (-4.6650, 137.3690), (-4.6685, 137.3712)
    route = plan_traverse(dem, start, goal, max_slope=30)
    lon, lat = np.asarray(route.geometry.iloc[0].coords.xy)
    assert route.length_m.iloc[0] == pytest.approx(GEOD.line_length(lon, lat), rel=1e-9)
    _, _, gc = GEOD.inv(start[1], start[0], goal[1], goal[0])
    assert gc <= route.length_m.iloc[0] <= 1.5 * gc


def test_dask_dem_gives_the_same_route(gale) -> None:
    goal = (-4.82143, 137.385815)
    eager = plan_traverse(gale, BRADBURY, goal)
    lazy = plan_traverse(marsgis.open_dem("gale-mola", chunks=200), BRADBURY, goal)
    assert lazy.attrs["cost"] == pytest.approx(eager.attrs["cost"], rel=1e-12)
    assert lazy.geometry.iloc[0].equals(eager.geometry.iloc[0])


@pytest.mark.parametrize("goal", [(-6.5, 139.5), (-3.0, 135.5)])
def test_coarse_to_fine_is_close_to_exact(gale, goal) -> None:
    exact = plan_traverse(gale, BRADBURY, goal)
    big = plan_traverse(
        gale, BRADBURY, goal, max_cells=200 * 200, segment_cells=100, margin_cells=30
    )
    assert big.attrs["method"] == "coarse-to-fine"
    assert exact.attrs["cost"] <= big.attrs["cost"] + 1e-6  # exact is optimal
    assert big.attrs["cost"] <= 1.02 * exact.attrs["cost"]
    lon, lat = np.asarray(big.geometry.iloc[0].coords.xy)
    steps = np.abs(np.diff(np.column_stack([lon, lat])[1:-1], axis=0)) * 128
    assert np.all(np.round(steps).max(axis=1) <= 1)  # still a connected 8-neighbour path
    assert big.length_m.iloc[0] >= big.great_circle_m.iloc[0]


def test_window_mode_for_large_grids(gale) -> None:
    goal = (-4.82143, 137.385815)
    exact = plan_traverse(gale, BRADBURY, goal)
    windowed = plan_traverse(gale, BRADBURY, goal, max_cells=300 * 300, margin_cells=100)
    assert windowed.attrs["method"] == "window"
    assert windowed.attrs["cost"] == pytest.approx(exact.attrs["cost"], rel=1e-12)


def test_start_equal_to_goal_is_an_error(gale) -> None:
    with pytest.raises(PlanningError, match=r"the start .* and the goal .* lie in the same cell"):
        plan_traverse(gale, BRADBURY, BRADBURY)
    # another point in the same DEM cell (its centre) is the same point for the planner
    r0, c0 = (round(float(v)) for v in lonlat_to_grid(gale, BRADBURY[0], BRADBURY[1]))
    near = (float(gale.y[r0]), float(gale.x[c0]))
    assert near != BRADBURY
    with pytest.raises(PlanningError, match=rf"same cell \(row {r0}, col {c0}\)") as info:
        plan_traverse(gale, BRADBURY, near)
    assert "finer DEM" in str(info.value)
    # a via point repeating the start names the via point
    with pytest.raises(PlanningError, match=r"the start .* and the via point 1 .* same cell"):
        plan_traverse(gale, BRADBURY, (-4.62, 137.40), via=[BRADBURY])
    # one cell away is a route: at least the great circle between the two exact points
    step = float(abs(gale.rio.resolution()[0]))
    other = (BRADBURY[0], BRADBURY[1] + step)
    route = plan_traverse(gale, BRADBURY, other)
    great = GEOD.inv(BRADBURY[1], BRADBURY[0], other[1], other[0])[2]
    assert route.attrs["length_m"] >= great - 1e-6
    assert great == pytest.approx(
        MARS_RADIUS_M * np.radians(step) * np.cos(np.radians(BRADBURY[0])), rel=1e-4
    )
