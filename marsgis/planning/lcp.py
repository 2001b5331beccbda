"""Exact least-cost paths on a cost raster: an A*/Dijkstra search compiled with numba.

The cost model is the one of :class:`skimage.graph.MCP_Geometric`: ``cost[i, j]`` is the cost
of travelling one unit of distance (one metre, say) through cell ``(i, j)``, and a step
between two 8-connected neighbours costs the mean of their two costs times the step length
(``dx``, ``dy`` or the diagonal ``sqrt(dx² + dy²)``). Cells whose cost is negative, infinite
or NaN are impassable. The total cost of a path is the sum of its steps; the start cell
costs nothing by itself.

The search is exact: a Dijkstra search on flat cell indices with an indexed 4-ary heap
(decrease-key, so the heap holds each cell at most once), stopped as soon as the goal is
settled, and guided by an A* lower bound ``min(cost) × (shortest grid distance to the
goal)``. That bound is consistent (it never decreases by more than one step's cost), so
the first time the goal is settled its cost is optimal, exactly as Dijkstra's.

References
----------
.. [1] Dijkstra, E. W. (1959). A note on two problems in connexion with graphs.
   Numerische Mathematik 1, 269–271.
.. [2] Hart, P. E., Nilsson, N. J., Raphael, B. (1968). A formal basis for the heuristic
   determination of minimum cost paths. IEEE Trans. Syst. Sci. Cybern. 4(2), 100–107.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from marsgis.exceptions import PlanningError, ValidationError

__all__ = ["LeastCostPath", "least_cost_path"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LeastCostPath:
    """The result of :func:`least_cost_path`.

    Attributes
    ----------
    path
        ``(n, 2)`` int64 array of ``(row, col)`` cells from the start to the goal, each
        an 8-connected neighbour of the one before.
    cost
        Total cost: the sum over the steps of ``0.5 × (cost[a] + cost[b]) × length(a, b)``.
    length
        Total step length in the units of ``spacing`` (cells when no spacing is given).
    settled
        How many cells the search settled (a measure of the work done).
    """

    path: IntArray
    cost: float
    length: float
    settled: int


# --------------------------------------------------------------------------------------------
# numba kernel
# --------------------------------------------------------------------------------------------
# The grid is padded with one ring of impassable cells, so a neighbour is ``u + offset`` with no
# bounds test. ``state[i] = (cost, g)`` keeps the two values read for a neighbour on one cache
# line. The heap is a 4-ary min-heap of ``(key, code)`` rows (16 contiguous bytes per entry)
# with lazy deletion: an improved cell is pushed again and stale entries are skipped when
# popped, which is cheaper here than decrease-key (a position index would be written at every
# sift step, at random places in memory). ``code = 16 · cell + move`` carries the move that
# reached the cell (exact in a float64 for < 2**48 cells), so ``move[cell]`` is written once,
# when the cell is settled, and doubles as the "settled" flag.


@numba.njit(cache=True, inline="always")
def _heap_push(heap: Any, size: int, code: float, key: float) -> None:  # pragma: no cover
    i = size
    while i > 0:
        parent = (i - 1) >> 2
        pkey = heap[parent, 0]
        if pkey <= key:
            break
        heap[i, 0] = pkey
        heap[i, 1] = heap[parent, 1]
        i = parent
    heap[i, 0] = key
    heap[i, 1] = code


@numba.njit(cache=True, inline="always")
def _heap_pop_fix(heap: Any, size: int) -> None:  # pragma: no cover - compiled
    """Move the entry at ``size`` (the old last) to the root and sift it down in ``[0, size)``."""
    key = heap[size, 0]
    code = heap[size, 1]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        bkey = heap[first, 0]
        last = min(first + 4, size)
        for c in range(first + 1, last):
            ck = heap[c, 0]
            if ck < bkey:
                bkey = ck
                best = c
        if bkey >= key:
            break
        heap[i, 0] = bkey
        heap[i, 1] = heap[best, 1]
        i = best
    heap[i, 0] = key
    heap[i, 1] = code


@numba.njit(cache=True, nogil=True)
def _search(  # noqa: PLR0917 - a numba kernel takes positional arguments
    state: Any,
    width: int,
    start: int,
    goal: int,
    hlen: Any,
    vlen: Any,
    dlen: Any,
    hmin: float,
    vmin: float,
    dmin: float,
    cmin: float,
) -> tuple[float, Any, int]:  # pragma: no cover - compiled
    """A*/Dijkstra on the padded grid; returns (total cost, move code per cell, settled count).

    ``hlen[r]``: length of a horizontal step in padded row r; ``vlen[r]`` and ``dlen[r]``:
    lengths of vertical and diagonal steps between padded rows r and r + 1. ``move[c]`` is -1
    for cells never settled, 0–7 for the move that reached a settled cell, 8 for the start.
    """
    n = state.shape[0]
    move = np.full(n, -1, dtype=np.int8)
    cap = 4096
    heap = np.empty((cap, 2), dtype=np.float64)
    gr = goal // width
    gc = goal - gr * width
    use_h = cmin > 0.0
    dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
    dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    off = dr * width + dc
    state[start, 1] = 0.0
    heap[0, 0] = 0.0
    heap[0, 1] = start * 16 + 8
    size = 1
    settled = 0
    while size > 0:
        code = np.int64(heap[0, 1])
        size -= 1
        if size > 0:
            _heap_pop_fix(heap, size)
        u = code >> 4
        if move[u] >= 0:  # a stale entry of a settled cell
            continue
        move[u] = code & 15
        settled += 1
        if u == goal:
            break
        ur = u // width
        uc = u - ur * width
        gu = state[u, 1]
        cu = state[u, 0]
        h_step = hlen[ur]
        v_up = vlen[ur - 1]
        v_down = vlen[ur]
        d_up = dlen[ur - 1]
        d_down = dlen[ur]
        for k in range(8):
            v = u + off[k]
            cv = state[v, 0]
            if not (cv < np.inf):  # impassable (inf; NaN and negatives were made inf)
                continue
            if 3 <= k <= 4:  # horizontal
                step = h_step
            elif k == 1:
                step = v_up
            elif k == 6:
                step = v_down
            elif k < 3:
                step = d_up
            else:
                step = d_down
            nd = gu + 0.5 * (cu + cv) * step
            if nd < state[v, 1]:
                if move[v] >= 0:  # settled: optimal already (only rounding can get here)
                    continue
                state[v, 1] = nd
                key = nd
                if use_h:
                    ar = abs(ur + dr[k] - gr)
                    ac = abs(uc + dc[k] - gc)
                    m = min(ar, ac)
                    h1 = m * dmin + (ac - m) * hmin + (ar - m) * vmin
                    h2 = ac * hmin + ar * vmin
                    key += cmin * min(h1, h2)
                if size == cap:
                    cap *= 2
                    grown = np.empty((cap, 2), dtype=np.float64)
                    grown[:size] = heap[:size]
                    heap = grown
                _heap_push(heap, size, v * 16 + k, key)
                size += 1
    return state[goal, 1], move, settled


@numba.njit(cache=True)
def _trace(move: Any, width: int, start: int, goal: int) -> Any:  # pragma: no cover - compiled
    """Cells from start to goal as unpadded (row, col), following the move codes back."""
    dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
    dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    count = 1
    v = goal
    while v != start:
        k = move[v]
        v -= dr[k] * width + dc[k]
        count += 1
    out = np.empty((count, 2), dtype=np.int64)
    v = goal
    for i in range(count - 1, -1, -1):
        out[i, 0] = v // width - 1
        out[i, 1] = v % width - 1
        if i > 0:
            k = move[v]
            v -= dr[k] * width + dc[k]
    return out


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def _step_lengths(
    ny: int, spacing: tuple[Any, Any] | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-row horizontal lengths and per-row-pair vertical/diagonal lengths."""
    if spacing is None:
        dy_a = np.ones(max(ny - 1, 1))
        dx_a = np.ones(ny)
    else:
        if len(spacing) != 2:
            raise ValidationError(
                f"spacing {spacing!r} must be (dy, dx): numbers, or dx as one value per row"
            )
        dy_in, dx_in = spacing
        dy_arr = np.asarray(dy_in, dtype=np.float64)
        dx_arr = np.asarray(dx_in, dtype=np.float64)
        dy_a = np.broadcast_to(dy_arr, (max(ny - 1, 1),)).copy() if dy_arr.ndim == 0 else dy_arr
        dx_a = np.broadcast_to(dx_arr, (ny,)).copy() if dx_arr.ndim == 0 else dx_arr
        if dx_a.shape != (ny,):
            raise ValidationError(
                f"spacing dx has shape {dx_a.shape!r}; give one number or one value per row ({ny})"
            )
        if dy_a.shape != (max(ny - 1, 1),):
            raise ValidationError(
                f"spacing dy has shape {dy_a.shape!r}; give one number or one value per row "
                f"pair ({ny - 1})"
            )
        if not (np.all(np.isfinite(dx_a)) and np.all(dx_a > 0)):
            raise ValidationError(f"spacing dx {dx_in!r} must be finite and > 0")
        if not (np.all(np.isfinite(dy_a)) and np.all(dy_a > 0)):
            raise ValidationError(f"spacing dy {dy_in!r} must be finite and > 0")
    hlen = np.ascontiguousarray(dx_a, dtype=np.float64)
    vlen = np.ascontiguousarray(dy_a, dtype=np.float64)
    dx_pair = 0.5 * (hlen[:-1] + hlen[1:]) if ny > 1 else hlen.copy()
    dlen = np.sqrt(vlen**2 + dx_pair**2)
    return hlen, vlen, dlen


def _as_cell(value: Any, shape: tuple[int, int], what: str) -> tuple[int, int]:
    try:
        r, c = (int(v) for v in value)
        if (r, c) != tuple(value):
            raise TypeError
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} must be a (row, col) pair of integers") from None
    if not (0 <= r < shape[0] and 0 <= c < shape[1]):
        raise ValidationError(
            f"{what} cell {(r, c)!r} lies outside the {shape[0]}×{shape[1]} raster"
        )
    return r, c


def least_cost_path(
    cost: npt.ArrayLike,
    start: tuple[int, int],
    goal: tuple[int, int],
    *,
    spacing: tuple[Any, Any] | None = None,
) -> LeastCostPath:
    """The exact minimum-cost 8-connected path between two cells of a cost raster.

    Parameters
    ----------
    cost
        2-D cost per unit distance in each cell (a numpy array or a DataArray; dask arrays
        are computed). Negative, infinite and NaN cells are impassable.
    start, goal
        ``(row, col)`` cells.
    spacing
        ``(dy, dx)``: the distance between row centres and between column centres. Each may
        be a number, ``dx`` may be one value per row (geographic grids, where the metric
        width of a cell shrinks with cos φ) and ``dy`` one value per pair of adjacent rows.
        Between rows ``r`` and ``r + 1`` a diagonal step has length
        ``sqrt(dy[r]² + ((dx[r] + dx[r + 1]) / 2)²)``. Default: unit spacing, the model of
        ``skimage.graph.MCP_Geometric(cost)``; a constant ``(dy, dx)`` matches
        ``MCP_Geometric(cost, sampling=(dy, dx))``.

    Returns
    -------
    LeastCostPath
        The cell path from ``start`` to ``goal`` and its total cost.

    Raises
    ------
    PlanningError
        The start or goal cell is impassable, or no passable path joins them.
    ValidationError
        Bad shapes, cells outside the raster, bad spacing.

    Examples
    --------
    >>> import numpy as np
    >>> r = least_cost_path(np.ones((3, 3)), (0, 0), (2, 2))
    >>> r.path.tolist(), round(r.cost, 6)
    ([[0, 0], [1, 1], [2, 2]], 2.828427)
    """
    arr = np.asarray(getattr(cost, "data", cost))
    if hasattr(arr, "compute"):
        arr = np.asarray(arr.compute())
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        raise ValidationError(f"cost must be a 2-D raster, got shape {arr.shape!r}")
    shape = (int(arr.shape[0]), int(arr.shape[1]))
    if shape[0] * shape[1] >= 2**31:
        raise ValidationError(
            f"cost raster {shape!r} has ≥ 2**31 cells; plan on a coarser grid or a corridor "
            "(marsgis.planning.plan_traverse does this for large DEMs)"
        )
    sr, sc = _as_cell(start, shape, "start")
    gr, gc = _as_cell(goal, shape, "goal")
    for what, (r, c) in (("start", (sr, sc)), ("goal", (gr, gc))):
        v = arr[r, c]
        if not (v >= 0.0) or v == np.inf:
            raise PlanningError(
                f"the {what} cell {(r, c)!r} is impassable (cost {float(v)!r}); choose a cell "
                "with a finite, non-negative cost"
            )
    hlen, vlen, dlen = _step_lengths(shape[0], spacing)
    ny, nx = shape
    width = nx + 2
    state = np.empty(((ny + 2) * width, 2), dtype=np.float64)
    state[:, 1] = np.inf
    padded = state[:, 0].reshape(ny + 2, width)
    padded[0, :] = np.inf
    padded[-1, :] = np.inf
    padded[:, 0] = np.inf
    padded[:, -1] = np.inf
    inner = padded[1:-1, 1:-1]
    inner[...] = arr
    with np.errstate(invalid="ignore"):
        inner[~(arr >= 0.0)] = np.inf  # negative and NaN costs are impassable
    passable = arr[np.isfinite(inner)]
    cmin = float(passable.min())
    # padded per-row lengths: the pad rows repeat their neighbours (never used for a step)
    hlen_p = np.concatenate([hlen[:1], hlen, hlen[-1:]])
    vlen_p = np.concatenate([vlen[:1], vlen, vlen[-1:], vlen[-1:]])[: ny + 2]
    dlen_p = np.concatenate([dlen[:1], dlen, dlen[-1:], dlen[-1:]])[: ny + 2]
    s = (sr + 1) * width + sc + 1
    g = (gr + 1) * width + gc + 1
    total, move, settled = _search(
        state,
        width,
        s,
        g,
        hlen_p,
        vlen_p,
        dlen_p,
        float(hlen.min()),
        float(vlen.min()),
        float(dlen.min()),
        cmin,
    )
    del state
    total = float(total)
    if not math.isfinite(total):
        raise PlanningError(
            f"the goal cell {(gr, gc)!r} cannot be reached from the start cell {(sr, sc)!r}: "
            "impassable cells (negative, infinite or NaN cost) separate them"
        )
    path = _trace(move, width, s, g)
    d = np.diff(path, axis=0)
    rows_lo = np.minimum(np.minimum(path[:-1, 0], path[1:, 0]), vlen.size - 1)
    seg = np.where(
        d[:, 0] == 0, hlen[path[:-1, 0]], np.where(d[:, 1] == 0, vlen[rows_lo], dlen[rows_lo])
    )
    return LeastCostPath(path=path, cost=total, length=float(seg.sum()), settled=int(settled))
