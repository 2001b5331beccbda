"""least_cost_path against skimage.graph.MCP_Geometric and an independent scipy Dijkstra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.csgraph
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.graph import MCP_Geometric

import marsgis
from marsgis.exceptions import PlanningError, ValidationError
from marsgis.planning import cost_surface, least_cost_path


@pytest.fixture(scope="module")
def gale_cost() -> np.ndarray:
    """Cost per metre from the real Gale MOLA grid (inf where steeper than 25°)."""
    return np.asarray(cost_surface(marsgis.open_dem("gale-mola")).values, dtype=np.float64)


def _mcp_cost(
    cost: np.ndarray, start: tuple[int, int], goal: tuple[int, int], sampling=None
) -> float:
    m = MCP_Geometric(np.where(np.isfinite(cost), cost, -1.0), sampling=sampling)
    cum, _ = m.find_costs([start], [goal])
    return float(cum[goal])


def _path_cost(cost: np.ndarray, path: np.ndarray, dy: float = 1.0, dx: float = 1.0) -> float:
    d = np.abs(np.diff(path, axis=0)).astype(float)
    length = np.hypot(d[:, 0] * dy, d[:, 1] * dx)
    c = cost[path[:, 0], path[:, 1]]
    return float(np.sum(0.5 * (c[:-1] + c[1:]) * length))


def _assert_valid(
    path: np.ndarray, cost: np.ndarray, start: tuple[int, int], goal: tuple[int, int]
) -> None:
    assert tuple(path[0]) == start
    assert tuple(path[-1]) == goal
    if len(path) > 1:
        steps = np.abs(np.diff(path, axis=0))
        assert np.all(steps.max(axis=1) == 1)  # every step moves to one of the 8 neighbours
    assert np.all(np.isfinite(cost[path[:, 0], path[:, 1]]))
    assert len({tuple(p) for p in path}) == len(path)  # no cell twice


PAIRS = [
    ((344, 403), (450, 390)),
    ((100, 100), (800, 800)),
    ((20, 880), (870, 15)),
    ((344, 403), (344, 404)),
]


@pytest.mark.parametrize(("start", "goal"), PAIRS)
def test_cost_equals_mcp_geometric_on_gale(gale_cost: np.ndarray, start, goal) -> None:
    result = least_cost_path(gale_cost, start, goal)
    assert result.cost == pytest.approx(_mcp_cost(gale_cost, start, goal), rel=1e-9)
    _assert_valid(result.path, gale_cost, start, goal)
    assert result.cost == pytest.approx(_path_cost(gale_cost, result.path), rel=1e-12)


def test_constant_spacing_equals_mcp_sampling(gale_cost: np.ndarray) -> None:
    spacing = (463.0577, 461.0008)  # metres per cell at Gale (json of the window)
    start, goal = (344, 403), (700, 300)
    result = least_cost_path(gale_cost, start, goal, spacing=spacing)
    assert result.cost == pytest.approx(
        _mcp_cost(gale_cost, start, goal, sampling=spacing), rel=1e-9
    )
    assert result.cost == pytest.approx(_path_cost(gale_cost, result.path, *spacing), rel=1e-12)


def test_per_row_spacing_equals_scipy_dijkstra(gale_cost: np.ndarray) -> None:
    """Geographic grids: cell width R·cosφ·Δλ per row; reference built edge by edge with scipy."""
    sub = gale_cost[300:380, 380:470]
    ny, nx = sub.shape
    lat = -1.8984375 - (np.arange(300, 380) + 0.5) / 128.0
    r = marsgis.crs.MARS_RADIUS_M
    dx = r * np.cos(np.radians(lat)) * np.radians(1 / 128)
    dy = r * np.radians(1 / 128)
    rows, cols, vals = [], [], []
    ok = np.isfinite(sub)
    for i in range(ny):
        for j in range(nx):
            if not ok[i, j]:
                continue
            for di, dj in ((0, 1), (1, -1), (1, 0), (1, 1)):
                k, m = i + di, j + dj
                if not (0 <= k < ny and 0 <= m < nx) or not ok[k, m]:
                    continue
                if di == 0:
                    length = dx[i]
                elif dj == 0:
                    length = dy
                else:
                    length = np.hypot(dy, 0.5 * (dx[i] + dx[k]))
                w = 0.5 * (sub[i, j] + sub[k, m]) * length
                rows += [i * nx + j, k * nx + m]
                cols += [k * nx + m, i * nx + j]
                vals += [w, w]
    graph = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(ny * nx, ny * nx))
    start, goal = (44, 23), (5, 85)
    ref = scipy.sparse.csgraph.dijkstra(graph, indices=start[0] * nx + start[1])[
        goal[0] * nx + goal[1]
    ]
    result = least_cost_path(sub, start, goal, spacing=(dy, dx))
    assert result.cost == pytest.approx(ref, rel=1e-9)
    _assert_valid(result.path, sub, start, goal)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 25), st.integers(1, 25)),
    seed=st.integers(0, 2**32 - 1),
    blocked=st.floats(0.0, 0.45),
    sampling=st.one_of(st.none(), st.tuples(st.floats(0.2, 5.0), st.floats(0.2, 5.0))),
)
def test_random_rasters_match_mcp(shape, seed, blocked, sampling) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0.0, 10.0, shape)
    cost[rng.random(shape) < blocked] = np.inf
    start = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
    goal = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
    cost[start] = 1.0
    cost[goal] = 2.0
    expected = _mcp_cost(cost, start, goal, sampling=sampling)
    if not np.isfinite(expected):
        with pytest.raises(PlanningError, match="cannot be reached"):
            least_cost_path(cost, start, goal, spacing=sampling)
        return
    result = least_cost_path(cost, start, goal, spacing=sampling)
    assert result.cost == pytest.approx(expected, rel=1e-9, abs=1e-12)
    _assert_valid(result.path, cost, start, goal)


def test_impassable_endpoints_and_walls_say_why() -> None:
    cost = np.ones((5, 5))
    cost[:, 2] = np.inf
    with pytest.raises(PlanningError, match=r"cannot be reached .* impassable cells"):
        least_cost_path(cost, (0, 0), (4, 4))
    with pytest.raises(PlanningError, match=r"the goal cell \(0, 2\) is impassable \(cost inf\)"):
        least_cost_path(cost, (0, 0), (0, 2))
    cost[0, 0] = np.nan
    with pytest.raises(PlanningError, match="the start cell"):
        least_cost_path(cost, (0, 0), (0, 1))
    with pytest.raises(ValidationError, match="outside the 5×5 raster"):
        least_cost_path(np.ones((5, 5)), (0, 0), (5, 0))
    with pytest.raises(ValidationError, match="2-D"):
        least_cost_path(np.ones(5), (0, 0), (1, 1))


def test_negative_costs_are_impassable_like_mcp() -> None:
    cost = np.ones((3, 5))
    cost[1, 1:4] = -5.0
    r = least_cost_path(cost, (1, 0), (1, 4))
    assert not any(cost[p[0], p[1]] < 0 for p in r.path)
    assert r.cost == pytest.approx(_mcp_cost(cost, (1, 0), (1, 4)), rel=1e-12)


def test_start_equals_goal() -> None:
    r = least_cost_path(np.ones((3, 3)), (1, 1), (1, 1))
    assert r.path.tolist() == [[1, 1]]
    assert r.cost == 0.0
    assert r.length == 0.0


def test_dask_and_dataarray_inputs(gale_cost: np.ndarray) -> None:
    cost = cost_surface(marsgis.open_dem("gale-mola", chunks=256))
    assert hasattr(cost.data, "dask")
    r = least_cost_path(cost, (344, 403), (450, 390))
    assert r.cost == pytest.approx(
        least_cost_path(gale_cost, (344, 403), (450, 390)).cost, rel=1e-12
    )
