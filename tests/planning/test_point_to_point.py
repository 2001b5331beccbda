"""Point-to-point least_cost_path (bucket A*, bidirectional A*) against full searches, issue #17.

Every optimum is compared with two independent full Dijkstra searches of the whole raster:
``skimage.graph.MCP_Geometric`` (constant spacing) or ``scipy.sparse.csgraph.dijkstra`` on a
graph built edge by edge here (per-row spacing of geographic grids), and with marsgis's own
full search :func:`~marsgis.planning.cost_distance`. Paths are checked step by step and their
cost is recomputed here from the raster.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.csgraph
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.graph import MCP_Geometric

import marsgis
from marsgis.exceptions import PlanningError
from marsgis.geo import Grid
from marsgis.planning import cost_distance, cost_surface, least_cost_path, plan_traverse
from marsgis.terrain import cell_size

BRADBURY = (-4.5895, 137.4417)
#: Curiosity reached the base of Mount Sharp (Pahrump Hills) on sol 746.
MOUNT_SHARP_BASE_SOL = 746


def _mcp(cost: np.ndarray, start, goal=None, sampling=None):
    m = MCP_Geometric(np.where(np.isfinite(cost) & (cost >= 0), cost, -1.0), sampling=sampling)
    cum, _ = m.find_costs([start], [goal] if goal is not None else None)
    return cum if goal is None else float(cum[goal])


def _step_length(a, b, dy: np.ndarray, dx: np.ndarray) -> float:
    """Length of one 8-neighbour step between cells a and b (the documented model)."""
    (r0, c0), (r1, c1) = a, b
    if r0 == r1:
        return float(dx[r0])
    lo = min(r0, r1)
    if c0 == c1:
        return float(dy[lo])
    return float(np.hypot(dy[lo], 0.5 * (dx[r0] + dx[r1])))


def _check_path(cost, result, start, goal, dy, dx) -> None:
    """A valid 8-connected route of passable cells whose recomputed cost is the reported one."""
    path = result.path
    assert path.dtype == np.int64
    assert tuple(path[0]) == tuple(start)
    assert tuple(path[-1]) == tuple(goal)
    steps = np.abs(np.diff(path, axis=0))
    assert np.all(steps.max(axis=1) == 1)  # each step to one of the 8 neighbours
    c = cost[path[:, 0], path[:, 1]]
    assert np.all(np.isfinite(c) & (c >= 0))
    assert len({tuple(p) for p in path}) == len(path)
    total = length = 0.0
    for i in range(len(path) - 1):
        step = _step_length(path[i], path[i + 1], dy, dx)
        total += 0.5 * (float(c[i]) + float(c[i + 1])) * step
        length += step
    assert result.cost == pytest.approx(total, rel=1e-12, abs=1e-12)
    assert result.length == pytest.approx(length, rel=1e-12, abs=1e-12)


def _scipy_dijkstra(cost: np.ndarray, start, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Full Dijkstra of scipy on the 8-connected graph, built edge by edge here."""
    ny, nx = cost.shape
    ok = np.isfinite(cost) & (cost >= 0)
    rows, cols, vals = [], [], []
    for i in range(ny):
        for j in range(nx):
            if not ok[i, j]:
                continue
            for di, dj in ((0, 1), (1, -1), (1, 0), (1, 1)):
                k, m = i + di, j + dj
                if not (0 <= k < ny and 0 <= m < nx) or not ok[k, m]:
                    continue
                w = 0.5 * (cost[i, j] + cost[k, m]) * _step_length((i, j), (k, m), dy, dx)
                # csgraph drops explicit zeros: a zero-cost step becomes a tiny positive one
                w = w if w > 0 else 1e-300
                rows += [i * nx + j, k * nx + m]
                cols += [k * nx + m, i * nx + j]
                vals += [w, w]
    graph = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(ny * nx, ny * nx))
    return scipy.sparse.csgraph.dijkstra(graph, indices=start[0] * nx + start[1]).reshape(ny, nx)


def _random_case(seed: int, shape, blocked: float, floor: float = 0.0):
    """Random costs in [floor, 10) with impassable (inf, NaN, negative) and, for floor 0, free cells."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(floor, 10.0, shape)
    kind = rng.random(shape)
    cost[kind < blocked] = np.inf
    cost[(kind >= blocked) & (kind < blocked + 0.05)] = np.nan  # NaN: impassable too
    cost[(kind >= blocked + 0.05) & (kind < blocked + 0.08)] = -1.0  # negative: impassable
    if floor == 0.0:
        cost[(kind >= blocked + 0.08) & (kind < blocked + 0.1)] = 0.0  # free cells are passable
    start = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
    goal = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
    cost[start] = 1.0
    cost[goal] = 2.0
    return rng, cost, start, goal


def _search_for(cost: np.ndarray) -> str:
    """Which search least_cost_path uses: the bucket queue needs a cheapest step > 0."""
    passable = cost[np.isfinite(cost) & (cost >= 0)]
    return "bucket A*" if passable.min() > 0 else "bidirectional A*"


@settings(max_examples=160, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    seed=st.integers(0, 2**32 - 1),
    blocked=st.floats(0.0, 0.4),
    sampling=st.one_of(st.none(), st.tuples(st.floats(0.05, 20.0), st.floats(0.05, 20.0))),
    floor=st.sampled_from([0.0, 0.01, 0.5, 3.0]),
)
def test_random_rasters_equal_mcp_and_the_full_search(
    shape, seed, blocked, sampling, floor
) -> None:
    _, cost, start, goal = _random_case(seed, shape, blocked, floor)
    expected = _mcp(cost, start, goal, sampling=sampling)
    full = cost_distance(cost, start, spacing=sampling)
    if not np.isfinite(expected):
        assert full[goal] == np.inf
        with pytest.raises(PlanningError, match="cannot be reached"):
            least_cost_path(cost, start, goal, spacing=sampling)
        return
    result = least_cost_path(cost, start, goal, spacing=sampling)
    assert result.cost == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert result.cost == pytest.approx(full[goal], rel=1e-9, abs=1e-12)
    assert result.search == ("none" if start == goal else _search_for(cost))
    dy, dx = (1.0, 1.0) if sampling is None else sampling
    _check_path(cost, result, start, goal, np.full(shape[0], dy), np.full(shape[0], dx))


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(2, 30), st.integers(1, 30)),
    seed=st.integers(0, 2**32 - 1),
    blocked=st.floats(0.0, 0.35),
    floor=st.sampled_from([0.0, 0.01, 0.5]),
)
def test_per_row_spacing_equals_scipy_dijkstra(shape, seed, blocked, floor) -> None:
    """Geographic grids: every row its own width, down to 1/1000 of the widest (near a pole)."""
    rng, cost, start, goal = _random_case(seed, shape, blocked, floor)
    dx = rng.uniform(0.001, 3.0, shape[0])
    dy = rng.uniform(0.5, 2.0, shape[0] - 1)
    ref = _scipy_dijkstra(cost, start, dy, dx)
    full = cost_distance(cost, start, spacing=(dy, dx))
    np.testing.assert_allclose(full, ref, rtol=1e-9, atol=1e-250)
    if not np.isfinite(ref[goal]):
        with pytest.raises(PlanningError, match="cannot be reached"):
            least_cost_path(cost, start, goal, spacing=(dy, dx))
        return
    result = least_cost_path(cost, start, goal, spacing=(dy, dx))
    assert result.cost == pytest.approx(ref[goal], rel=1e-9, abs=1e-12)
    assert result.search == ("none" if start == goal else _search_for(cost))
    _check_path(cost, result, start, goal, dy, dx)


@pytest.mark.parametrize(
    ("low", "search"),
    [
        (1.0, "bucket A*"),
        (1e-3, "bucket A*"),
        (1e-7, "bidirectional A*"),
        (0.0, "bidirectional A*"),
    ],
)
def test_the_bucket_search_and_its_fallback_equal_mcp(low: float, search: str) -> None:
    """300² costs 1–10 with cells of cost ``low``: a bucket ring of 2·10·√2/low slots or more.

    Beyond ``MAX_BUCKETS`` slots (or with free cells) the heap search takes over.
    """
    rng = np.random.default_rng(20261206)
    cost = rng.uniform(1.0, 10.0, (300, 300))
    cost[rng.random(cost.shape) < 0.05] = low
    cost[rng.random(cost.shape) < 0.1] = np.inf
    start, goal = (3, 290), (296, 4)
    cost[start] = cost[goal] = 1.0
    result = least_cost_path(cost, start, goal)
    assert result.search == search
    assert result.cost == pytest.approx(_mcp(cost, start, goal), rel=1e-9)
    _check_path(cost, result, start, goal, np.ones(300), np.ones(300))


def test_cost_distance_is_mcp_s_cost_map() -> None:
    _, cost, start, _ = _random_case(7, (120, 90), 0.2)
    cum = _mcp(cost, start, sampling=(2.0, 0.5))
    full = cost_distance(cost, start, spacing=(2.0, 0.5))
    ok = np.isfinite(cum)
    assert np.array_equal(ok, np.isfinite(full))
    np.testing.assert_allclose(full[ok], cum[ok], rtol=1e-12)


def test_a_larger_seeded_raster_with_walls() -> None:
    """500² random costs with two long walls: the route must go round them."""
    rng = np.random.default_rng(20261204)
    cost = rng.uniform(1.0, 10.0, (500, 500))
    cost[rng.random(cost.shape) < 0.15] = np.inf
    cost[100, :480] = np.inf
    cost[300, 20:] = np.nan
    start, goal = (5, 5), (495, 490)
    cost[start] = cost[goal] = 1.0
    result = least_cost_path(cost, start, goal)
    assert result.cost == pytest.approx(_mcp(cost, start, goal), rel=1e-9)
    assert result.cost == pytest.approx(cost_distance(cost, start)[goal], rel=1e-9)
    _check_path(cost, result, start, goal, np.ones(500), np.ones(500))
    assert result.settled < cost.size  # it stopped before exploring the whole raster


def test_float32_rasters_are_read_in_place_with_float64_arithmetic() -> None:
    _, cost, start, goal = _random_case(3, (60, 70), 0.1)
    c32 = cost.astype(np.float32)
    r32 = least_cost_path(c32, start, goal)
    r64 = least_cost_path(c32.astype(np.float64), start, goal)
    assert r32.cost == r64.cost
    assert np.array_equal(r32.path, r64.path)


# --------------------------------------------------------------------------------------------
# real rasters
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gale() -> xr.DataArray:
    return marsgis.open_dem("gale-mola")


@pytest.fixture(scope="module")
def gale_layers(gale):
    """Cost, per-row spacing (as plan_traverse builds it) and the route's cells on gale-mola."""
    cost = np.asarray(cost_surface(gale).values, dtype=np.float64)
    size = cell_size(gale)
    h = np.asarray(size.height.values, dtype=np.float64)
    dy = 0.5 * (h[:-1] + h[1:])
    dx = np.asarray(size.width.values, dtype=np.float64)
    stops = marsgis.open_features("msl-stops")
    grid = Grid.of(gale)
    cells = {}
    for key, (lat, lon) in {
        "bradbury": BRADBURY,
        "base": tuple(stops[stops["sol"] >= MOUNT_SHARP_BASE_SOL].iloc[0][["lat", "lon"]]),
        "last": tuple(stops.iloc[-1][["lat", "lon"]]),
    }.items():
        fy, fx = grid.locate(float(lat), float(lon))
        cells[key] = (round(float(fy)), round(float(fx)))
    return cost, dy, dx, cells


@pytest.mark.parametrize(
    ("a", "b"),
    [("bradbury", "base"), ("bradbury", "last"), ("base", "last"), ("last", "bradbury")],
)
def test_gale_routes_equal_the_full_search(gale_layers, a: str, b: str) -> None:
    """Bradbury Landing → Mount Sharp's base (and on) with the true per-row cell sizes."""
    cost, dy, dx, cells = gale_layers
    start, goal = cells[a], cells[b]
    result = least_cost_path(cost, start, goal, spacing=(dy, dx))
    assert result.cost == pytest.approx(
        cost_distance(cost, start, spacing=(dy, dx))[goal], rel=1e-9
    )
    _check_path(cost, result, start, goal, dy, dx)
    assert result.settled < 0.2 * cost.size


@pytest.mark.parametrize("pair", [((344, 403), (450, 390)), ((20, 880), (870, 15))])
def test_gale_routes_equal_mcp_with_constant_spacing(gale_layers, pair) -> None:
    cost, *_ = gale_layers
    spacing = (463.0577, 461.0008)
    start, goal = pair
    result = least_cost_path(cost, start, goal, spacing=spacing)
    assert result.cost == pytest.approx(_mcp(cost, start, goal, sampling=spacing), rel=1e-9)
    _check_path(cost, result, start, goal, np.full(897, spacing[0]), np.full(897, spacing[1]))


def test_gale_1m_routes_equal_mcp() -> None:
    """The shipped 1 m Gale DEM (projected): random pairs of passable cells."""
    dem = marsgis.open_dem("gale-1m")
    cost = np.asarray(cost_surface(dem).values, dtype=np.float64)
    res = [abs(float(v)) for v in dem.rio.resolution()]
    spacing = (res[1], res[0])
    rng = np.random.default_rng(11)
    ok = np.argwhere(np.isfinite(cost))
    for _ in range(6):
        start, goal = (tuple(int(v) for v in ok[rng.integers(len(ok))]) for _ in range(2))
        expected = _mcp(cost, start, goal, sampling=spacing)
        if not np.isfinite(expected):
            with pytest.raises(PlanningError, match="cannot be reached"):
                least_cost_path(cost, start, goal, spacing=spacing)
            continue
        result = least_cost_path(cost, start, goal, spacing=spacing)
        assert result.cost == pytest.approx(expected, rel=1e-9)
        n = cost.shape[0]
        _check_path(cost, result, start, goal, np.full(n, spacing[0]), np.full(n, spacing[1]))


def test_plan_traverse_cost_is_the_full_search_optimum(gale, gale_layers) -> None:
    """plan_traverse (one goal: the point-to-point search) gives the full search's optimum."""
    cost, dy, dx, cells = gale_layers
    stops = marsgis.open_features("msl-stops")
    stop = stops[stops["sol"] >= MOUNT_SHARP_BASE_SOL].iloc[0]
    route = plan_traverse(gale, BRADBURY, (float(stop.lat), float(stop.lon)))
    full = cost_distance(cost, cells["bradbury"], spacing=(dy, dx))
    assert route.attrs["method"] == "exact"
    assert route.attrs["cost"] == pytest.approx(full[cells["base"]], rel=1e-9)
