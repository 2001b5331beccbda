"""Exact least-cost paths on a cost raster: an A*/Dijkstra search compiled with numba.

The cost model is the one of :class:`skimage.graph.MCP_Geometric`: ``cost[i, j]`` is the cost
of travelling one unit of distance (one metre, say) through cell ``(i, j)``, and a step
between two 8-connected neighbours costs the mean of their two costs times the step length
(``dx``, ``dy`` or the diagonal ``sqrt(dx² + dy²)``). Cells whose cost is negative, infinite
or NaN are impassable. The total cost of a path is the sum of its steps; the start cell
costs nothing by itself.

Every search is exact. :func:`cost_distance` is a full Dijkstra search on a 4-ary heap.
:func:`least_cost_path` is an A* search guided by the lower bound ``min(cost) × (shortest grid
distance to the goal)``, which is consistent (it never decreases by more than one step's
cost): on Dial's bucket queue [5]_ when the raster's cheapest step is positive, else a
bidirectional A* on heaps (see :func:`least_cost_path`). Both return the optimum of a full
Dijkstra search.

References
----------
.. [1] Dijkstra, E. W. (1959). A note on two problems in connexion with graphs.
   Numerische Mathematik 1, 269–271.
.. [2] Hart, P. E., Nilsson, N. J., Raphael, B. (1968). A formal basis for the heuristic
   determination of minimum cost paths. IEEE Trans. Syst. Sci. Cybern. 4(2), 100–107.
.. [5] Dial, R. B. (1969). Algorithm 360: shortest-path forest with topological ordering.
   Communications of the ACM 12(11), 632–633.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from marsgis.exceptions import PlanningError, ValidationError

__all__ = ["MAX_BUCKETS", "LeastCostPath", "cost_distance", "least_cost_path"]

#: Largest bucket ring of the bucket search: ``2 · max step cost / min step cost + 2``. A
#: raster whose costs span a wider range (or has zero-cost cells) is searched with the
#: bidirectional heap search instead.
MAX_BUCKETS = 1 << 22

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
        How many cell expansions the search made (a measure of the work done; the bucket
        search may expand a cell more than once).
    search
        The search that found it: ``"bucket A*"`` or ``"bidirectional A*"`` (see
        :func:`least_cost_path`), ``"none"`` when start and goal are one cell.
    """

    path: IntArray
    cost: float
    length: float
    settled: int
    search: str = "bucket A*"


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


# --------------------------------------------------------------------------------------------
# point to point: bidirectional A* (numba)
# --------------------------------------------------------------------------------------------
# No padded copy of the raster: the kernel reads the caller's cost array (float32 or float64,
# flat, C order) and tests bounds only for cells on the raster's edge. Its per-cell memory is
# allocated zeroed by numpy before the call (``np.zeros``: calloc), so the operating system
# hands out zero pages only where the search goes: a short route on a large raster touches a
# few pages, not gigabytes.
#
# ``lab[v, side]`` is the label (best cost so far) of cell v from the start (side 0) or to the
# goal (side 1), stored negated: ``−g``, so that the all-zero bit pattern (+0.0) means "no
# label" and a label of 0 is −0.0 (``bits[v, side]`` is the int64 view of ``lab``). Both
# sides of a cell share one 16-byte record, read with the cell's cost when it is relaxed.
# ``parent[v, side]`` is 1 + the move (0–7) that gave v its label, or ``_ROOT``, plus
# ``_SETTLED`` once v is settled on that side; it is written with each new label and read when
# a cell is popped (stale entries of settled cells are skipped: lazy deletion) and to trace
# the route. Both heaps live in one array ``heap[side, i] = (key, cell)``: 4-ary min-heaps.
_ROOT = 9
_SETTLED = 16


@numba.njit(cache=True, inline="always")
def _hpush(heap: Any, side: int, size: int, code: float, key: float) -> None:  # pragma: no cover
    i = size
    while i > 0:
        up = (i - 1) >> 2
        pkey = heap[side, up, 0]
        if pkey <= key:
            break
        heap[side, i, 0] = pkey
        heap[side, i, 1] = heap[side, up, 1]
        i = up
    heap[side, i, 0] = key
    heap[side, i, 1] = code


@numba.njit(cache=True, inline="always")
def _hpop_fix(heap: Any, side: int, size: int) -> None:  # pragma: no cover - compiled
    """Move the entry at ``size`` (the old last) to the root and sift it down in ``[0, size)``."""
    key = heap[side, size, 0]
    code = heap[side, size, 1]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        bkey = heap[side, first, 0]
        last = min(first + 4, size)
        for c in range(first + 1, last):
            ck = heap[side, c, 0]
            if ck < bkey:
                bkey = ck
                best = c
        if bkey >= key:
            break
        heap[side, i, 0] = bkey
        heap[side, i, 1] = heap[side, best, 1]
        i = best
    heap[side, i, 0] = key
    heap[side, i, 1] = code


@numba.njit(cache=True, inline="always")
def _octile(ar: int, ac: int, hmin: float, vmin: float, dmin: float) -> float:  # pragma: no cover
    """Shortest length of a path of ``ar`` rows and ``ac`` columns built of min-length steps."""
    m = min(ar, ac)
    h1 = m * dmin + (ac - m) * hmin + (ar - m) * vmin
    h2 = ac * hmin + ar * vmin
    return min(h1, h2)


@numba.njit(cache=True)
def _passable_range(cost: Any) -> tuple[float, float]:  # pragma: no cover - compiled
    """The smallest and largest passable (finite, ≥ 0) costs of the raster; (inf, −1) if none."""
    lo = np.inf
    hi = -1.0
    for i in range(cost.size):
        c = cost[i]
        if c >= 0.0 and c < np.inf:
            lo = min(lo, c)
            hi = max(hi, c)
    return float(lo), float(hi)


@numba.njit(cache=True, inline="always")
def _row_steps(  # noqa: PLR0917 - numba: positional
    steps: Any, ur: Any, ny: int, hlen: Any, vlen: Any, dlen: Any
) -> None:  # pragma: no cover
    """Lengths of the eight moves (``dr``/``dc`` order) out of a cell of row ``ur``."""
    up = max(ur - 1, 0)  # row 0 has no step up: never read
    steps[0] = steps[2] = dlen[up]
    steps[1] = vlen[up]
    steps[3] = steps[4] = hlen[ur]
    down = min(ur, ny - 2) if ny > 1 else 0  # the last row has no step down
    steps[5] = steps[7] = dlen[down]
    steps[6] = vlen[down]


@numba.njit(cache=True)
def _grow(heap: Any) -> Any:  # pragma: no cover - compiled
    grown = np.empty((2, 2 * heap.shape[1], 2), dtype=np.float64)
    grown[:, : heap.shape[1]] = heap
    return grown


@numba.njit(cache=True, inline="always")
def _potential(  # noqa: PLR0917
    r: int, c: int, sr: int, sc: int, tr: int, tc: int, hmin: float, vmin: float, dmin: float
) -> float:  # pragma: no cover - compiled
    """``(H(v, goal) − H(start, v)) / c_min``: twice the average potential over ``c_min``."""
    return _octile(abs(r - tr), abs(c - tc), hmin, vmin, dmin) - _octile(
        abs(r - sr), abs(c - sc), hmin, vmin, dmin
    )


@numba.njit(cache=True, nogil=True)
def _bidirectional(  # noqa: PLR0917 - one numba kernel, positional
    cost: Any,
    lab: Any,
    bits: Any,
    parent: Any,
    ny: int,
    nx: int,
    start: int,
    goal: int,
    hlen: Any,
    vlen: Any,
    dlen: Any,
    hmin: float,
    vmin: float,
    dmin: float,
    cmin: float,
) -> tuple[float, int, int, int]:  # pragma: no cover - compiled
    """Bidirectional A* with the average potential; returns (cost, meet_f, meet_r, settled).

    ``meet_f`` carries a forward label, ``meet_r`` a reverse one and they are neighbours (or
    the same cell): the route is start → meet_f (forward parents) → meet_r → goal (reverse).
    """
    dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
    dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    off = dr * nx + dc
    steps = np.empty(8, dtype=np.float64)
    sr = start // nx
    sc = start - sr * nx
    tr = goal // nx
    tc = goal - tr * nx
    half = 0.5 * cmin
    heap = np.empty((2, 4096, 2), dtype=np.float64)
    sizes = np.zeros(2, dtype=np.int64)
    # p(v) = cmin/2 · (H(v, goal) − H(start, v)); keys: forward g + p, reverse g − p
    p_s = half * _octile(abs(sr - tr), abs(sc - tc), hmin, vmin, dmin)
    lab[start, 0] = -0.0
    lab[goal, 1] = -0.0
    parent[start, 0] = _ROOT
    parent[goal, 1] = _ROOT
    heap[0, 0, 0] = p_s
    heap[0, 0, 1] = start
    heap[1, 0, 0] = p_s  # −p(goal) = +cmin/2 · H(start, goal)
    heap[1, 0, 1] = goal
    sizes[0] = 1
    sizes[1] = 1
    mu = np.inf
    meet_f: Any = -1  # (numba ignores the annotation; mypy: u is an np.int64)
    meet_r: Any = -1
    settled = 0
    while True:
        # drop stale tops (cells settled since they were pushed): the tops are true bounds
        for side in range(2):
            while sizes[side] > 0 and parent[np.int64(heap[side, 0, 1]), side] >= _SETTLED:
                sizes[side] -= 1
                if sizes[side] > 0:
                    _hpop_fix(heap, side, sizes[side])
        if sizes[0] == 0 or sizes[1] == 0:
            break  # one side has settled all it can reach: mu is final (inf: unreachable)
        top_f = heap[0, 0, 0]
        top_r = heap[1, 0, 0]
        if top_f + top_r >= mu:
            break
        side = 0 if top_f <= top_r else 1
        other = 1 - side
        sign = 1.0 - 2.0 * side
        u = np.int64(heap[side, 0, 1])
        sizes[side] -= 1
        if sizes[side] > 0:
            _hpop_fix(heap, side, sizes[side])
        parent[u, side] += _SETTLED
        settled += 1
        gu = -lab[u, side]
        cu = np.float64(cost[u])  # float32 rasters: float64 arithmetic, as MCP_Geometric
        ur = u // nx
        uc = u - ur * nx
        inner = 0 < ur < ny - 1 and 0 < uc < nx - 1
        _row_steps(steps, ur, ny, hlen, vlen, dlen)
        for k in range(8):
            vr = ur + dr[k]
            vc = uc + dc[k]
            if not inner and not (0 <= vr < ny and 0 <= vc < nx):
                continue
            v = u + off[k]
            cv = np.float64(cost[v])
            if not (cv >= 0.0 and cv < np.inf):  # impassable: negative, inf or NaN
                continue
            nd = gu + 0.5 * (cu + cv) * steps[k]
            if bits[v, other] != 0:  # labelled by the other side: a start–goal path
                through = nd - lab[v, other]
                if through < mu:
                    mu = through
                    meet_f = u if side == 0 else v
                    meet_r = v if side == 0 else u
            if bits[v, side] != 0 and (nd >= -lab[v, side] or parent[v, side] >= _SETTLED):
                continue  # no better, or settled already (optimal: only rounding gets here)
            key = nd + sign * half * _potential(vr, vc, sr, sc, tr, tc, hmin, vmin, dmin)
            if key + heap[other, 0, 0] >= mu:
                # a route through v costs ≥ key + (the other side's smallest key): no better
                # than mu, so v need not be labelled (the other heap is never empty here)
                continue
            lab[v, side] = -nd
            parent[v, side] = k + 1
            if sizes[side] == heap.shape[1]:
                heap = _grow(heap)
            _hpush(heap, side, sizes[side], v, key)
            sizes[side] += 1
    return mu, meet_f, meet_r, settled


# --------------------------------------------------------------------------------------------
# point to point: A* on a bucket queue (numba)
# --------------------------------------------------------------------------------------------
# Dial's bucket queue [5] in place of the heap: bucket k holds the open cells whose key
# f = g + h lies in [kΔ, (k + 1)Δ), kept in a ring of ``nb`` slots (keys of open cells span
# less than nb buckets: a step raises f by at most w + w_relaxed ≤ 2·w_max). A push and a pop
# are O(1), against O(log n) sift steps of a heap at random places in memory. Cells within a
# bucket come out in any order, so a cell may be expanded before its best label is known;
# it is then reopened when the better label arrives (a label-correcting search), and the
# search ends only when the current bucket's lower bound kΔ reaches the best goal cost found.
# The entries (cell, g when pushed, next) are singly linked per bucket in a pool with a free
# list: the pool holds about as many entries as the open front, not one per push.


@numba.njit(cache=True)
def _grown(a: Any, cap: int) -> Any:  # pragma: no cover - compiled
    out = np.empty(cap, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True, nogil=True)
def _bucket_astar(  # noqa: PLR0917 - one numba kernel, positional
    cost: Any,
    lab: Any,
    bits: Any,
    parent: Any,
    ny: int,
    nx: int,
    start: int,
    goal: int,
    hlen: Any,
    vlen: Any,
    dlen: Any,
    hmin: float,
    vmin: float,
    dmin: float,
    cmin: float,
    delta: float,
    nb: int,
) -> tuple[float, int]:  # pragma: no cover - compiled
    """A* on a bucket queue of width ``delta`` (``nb`` slots); returns (cost, expansions).

    ``lab[v]`` is ``−g`` (zero bits: no label), ``parent[v]`` 1 + the move that gave the label
    (``_ROOT`` at the start) plus ``_SETTLED`` while v is expanded with its current label.
    """
    dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
    dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    off = dr * nx + dc
    steps = np.empty(8, dtype=np.float64)
    tr = goal // nx
    tc = goal - tr * nx
    head = np.full(nb, -1, dtype=np.int64)
    cap = 4096
    pcell = np.empty(cap, dtype=np.int64)
    pg = np.empty(cap, dtype=np.float64)
    pnext = np.empty(cap, dtype=np.int64)
    free = -1
    inv = 1.0 / delta
    lab[start] = -0.0
    parent[start, 0] = _ROOT
    sr = start // nx
    k0 = np.int64(cmin * _octile(abs(sr - tr), abs(start - sr * nx - tc), hmin, vmin, dmin) * inv)
    pcell[0] = start
    pg[0] = 0.0
    pnext[0] = -1
    used = 1
    head[k0 % nb] = 0
    live = 1
    cur = k0
    best = np.inf
    settled = 0
    while live > 0:
        slot = cur % nb
        if head[slot] < 0:
            cur += 1
            if cur * delta >= best:
                break
            continue
        e = head[slot]
        head[slot] = pnext[e]
        pnext[e] = free
        free = e
        live -= 1
        u = pcell[e]
        gu = pg[e]
        if -lab[u] < gu or parent[u, 0] >= _SETTLED:
            continue  # stale: a better label was pushed since, or it was expanded with this one
        parent[u, 0] += _SETTLED
        settled += 1
        if u == goal:
            best = gu  # an upper bound; optimal once the buckets below it are empty
            continue
        if gu >= best:
            continue
        cu = np.float64(cost[u])
        ur = u // nx
        uc = u - ur * nx
        inner = 0 < ur < ny - 1 and 0 < uc < nx - 1
        _row_steps(steps, ur, ny, hlen, vlen, dlen)
        for k in range(8):
            vr = ur + dr[k]
            vc = uc + dc[k]
            if not inner and not (0 <= vr < ny and 0 <= vc < nx):
                continue
            v = u + off[k]
            cv = np.float64(cost[v])
            if not (cv >= 0.0 and cv < np.inf):
                continue
            nd = gu + 0.5 * (cu + cv) * steps[k]
            if bits[v] != 0 and nd >= -lab[v]:
                continue  # no better
            key = nd + cmin * _octile(abs(vr - tr), abs(vc - tc), hmin, vmin, dmin)
            if key >= best:
                continue  # every route through v costs ≥ key: no better than the one found
            lab[v] = -nd
            parent[v, 0] = k + 1  # a label, not expanded (again) yet: v is (re)opened
            # max: only rounding can put a key below the current bucket (h is consistent)
            b = max(np.int64(key * inv), cur)
            if free >= 0:
                f = free
                free = pnext[f]
            else:
                if used == cap:
                    cap *= 2
                    pcell = _grown(pcell, cap)
                    pg = _grown(pg, cap)
                    pnext = _grown(pnext, cap)
                f = used
                used += 1
            s = b % nb
            pcell[f] = v
            pg[f] = nd
            pnext[f] = head[s]
            head[s] = f
            live += 1
    return best, settled


@numba.njit(cache=True)
def _trace_back(parent: Any, nx: int, cell: int, side: int) -> Any:  # pragma: no cover
    """Cells from ``cell`` back to the root of one side (0: forward, 1: reverse)."""
    dr = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
    dc = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    count = 1
    v = cell
    while True:
        s = parent[v, side] & 15
        if s == _ROOT:
            break
        v -= dr[s - 1] * nx + dc[s - 1]
        count += 1
    out = np.empty((count, 2), dtype=np.int64)
    v = cell
    for i in range(count):
        out[i, 0] = v // nx
        out[i, 1] = v % nx
        s = parent[v, side] & 15
        if s != _ROOT:
            v -= dr[s - 1] * nx + dc[s - 1]
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


def _cost_array(cost: Any) -> npt.NDArray[Any]:
    """The cost raster as a C-contiguous float32/float64 numpy array (no copy when it is one)."""
    arr = np.asarray(getattr(cost, "data", cost))
    if hasattr(arr, "compute"):
        arr = np.asarray(arr.compute())
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    if arr.ndim != 2:
        raise ValidationError(f"cost must be a 2-D raster, got shape {arr.shape!r}")
    if arr.shape[0] * arr.shape[1] >= 2**31:
        raise ValidationError(
            f"cost raster {arr.shape!r} has ≥ 2**31 cells; plan on a coarser grid or a corridor "
            "(marsgis.planning.plan_traverse does this for large DEMs)"
        )
    return arr


def _check_passable(arr: npt.NDArray[Any], cell: tuple[int, int], what: str) -> None:
    v = arr[cell]
    if not (v >= 0.0) or v == np.inf:
        raise PlanningError(
            f"the {what} cell {cell!r} is impassable (cost {float(v)!r}); choose a cell "
            "with a finite, non-negative cost"
        )


def least_cost_path(
    cost: npt.ArrayLike,
    start: tuple[int, int],
    goal: tuple[int, int],
    *,
    spacing: tuple[Any, Any] | None = None,
) -> LeastCostPath:
    """The exact minimum-cost 8-connected path between two cells of a cost raster.

    An A* search (see "Method"): it explores the cells between the two ends, not the whole
    raster, and returns the same optimal cost as a full Dijkstra search
    (:func:`cost_distance`, or ``skimage.graph.MCP_Geometric``).

    Parameters
    ----------
    cost
        2-D cost per unit distance in each cell (a numpy array or a DataArray; dask arrays
        are computed). Negative, infinite and NaN cells are impassable. float32 and float64
        rasters are read in place (no copy); the arithmetic is float64.
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

    Notes
    -----
    **Method.** Let ``c_min`` be the smallest passable cost of the raster and ``h_min``,
    ``v_min``, ``d_min`` the smallest horizontal, vertical and diagonal step lengths over all
    rows (for a geographic grid ``h_min`` is the width of the row nearest a pole). Define the
    *relaxed grid*: the same 8-connected lattice where every horizontal step costs
    ``c_min·h_min``, every vertical one ``c_min·v_min`` and every diagonal one ``c_min·d_min``.
    Each true step costs at least its relaxed cost (the mean of two passable costs is
    ``≥ c_min`` and each step is at least as long as the shortest of its kind), and removing
    impassable cells only lengthens paths, so for any cells ``a``, ``b`` the relaxed distance
    ``H(a, b)`` is a lower bound of the true least cost between them. ``H`` is the exact
    shortest-path distance of a graph, so it obeys the triangle inequality: for every true step
    ``u → v`` of cost ``w``, ``H(u, b) ≤ w_relaxed(u, v) + H(v, b) ≤ w + H(v, b)`` — it is a
    *consistent* heuristic. On that lattice with uniform step costs a path of ``ar`` rows and
    ``ac`` columns needs ``D ≥ 0`` diagonal steps and at least ``ac − D`` horizontal and
    ``ar − D`` vertical ones; the cost is linear in ``D``, so the minimum is at ``D = 0`` or
    ``D = min(ar, ac)`` (more diagonals than that would also need ``d_min ≤ h_min`` or
    ``d_min ≤ v_min``, impossible since ``d_min ≥ max(h_min, v_min)``):
    ``H = min(ac·h + ar·v, m·d + (ac − m)·h + (ar − m)·v)`` with ``m = min(ar, ac)``,
    ``h = c_min·h_min`` etc. The edge lengths in use are those of ``spacing`` (the grid's own
    metric), so the bound is in the very metric of the costs, whatever the latitude.

    **Bucket search** (used when the cheapest step ``Δ = c_min · min(h_min, v_min)`` is
    positive and the ring below needs at most :data:`MAX_BUCKETS` slots). A* with keys
    ``f(v) = g(v) + H(v, goal)`` on Dial's bucket queue [5]_: bucket ``k`` holds the open cells
    with ``kΔ ≤ f < (k + 1)Δ``; a step raises ``f`` by at most ``w + w_relaxed ≤ 2·w_max``,
    so the open keys span fewer than ``2·w_max/Δ + 2`` buckets, kept in a ring. Buckets are
    emptied in order and cells within one in any order, so a cell may be expanded before its
    best label is known: when a better label arrives it is opened again (label correcting).
    The search stops when the current bucket's lower bound ``kΔ`` reaches the best goal cost
    ``g*`` found. That cost is optimal: if a cheaper route existed, take its first cell ``v``
    not expanded with its optimal label; its predecessor on the route was, so ``v`` holds its
    optimal label and is open with ``f(v) ≤`` (the route's cost) ``< g* ≤ kΔ`` — but every
    bucket below ``k`` is empty. A push and a pop cost O(1) (a heap: O(log n) sift steps at
    random places in memory), which is what makes a search over most of a large raster fast.

    **Bidirectional search** (cheapest step 0, or costs spanning too wide a range for the
    ring). Dijkstra from both ends on the reduced costs
    ``w(u, v) − p(u) + p(v)`` with the average potential
    ``p(v) = (H(v, goal) − H(start, v)) / 2`` (Ikeda et al. 1994 [3]_; Goldberg & Harrelson
    2005 [4]_). Both halves of ``p`` are consistent, so every reduced cost is ``≥ 0``
    (``w − (H(u,g) − H(v,g))/2 + (H(s,v) − H(s,u))/2 ≥ w − w/2 − w/2``), and the reverse search
    sees the same reduced costs (the graph is undirected). With ``μ`` the best
    start–goal cost found through a forward-settled and a backward-settled neighbour, the
    search stops when the two smallest keys sum to ``≥ μ``: a shorter path would have to pass
    through a cell settled by neither side, whose reduced distances from both ends are at
    least those keys. So ``μ`` is the optimum, exactly as a full Dijkstra finds it (up to the
    order of the floating-point additions: relative differences ~1e-15).

    References
    ----------
    .. [3] Ikeda, T., Hsu, M.-Y., Imai, H., et al. (1994). A fast algorithm for finding better
       routes by AI search techniques. Proc. Vehicle Navigation and Information Systems.
    .. [4] Goldberg, A. V., Harrelson, C. (2005). Computing the shortest path: A* search meets
       graph theory. Proc. 16th ACM-SIAM SODA, 156–165.

    Examples
    --------
    >>> import numpy as np
    >>> r = least_cost_path(np.ones((3, 3)), (0, 0), (2, 2))
    >>> r.path.tolist(), round(r.cost, 6)
    ([[0, 0], [1, 1], [2, 2]], 2.828427)
    """
    arr = _cost_array(cost)
    ny, nx = (int(arr.shape[0]), int(arr.shape[1]))
    sr, sc = _as_cell(start, (ny, nx), "start")
    gr, gc = _as_cell(goal, (ny, nx), "goal")
    _check_passable(arr, (sr, sc), "start")
    _check_passable(arr, (gr, gc), "goal")
    hlen, vlen, dlen = _step_lengths(ny, spacing)
    if (sr, sc) == (gr, gc):
        return LeastCostPath(path=np.array([[sr, sc]], dtype=np.int64), cost=0.0, length=0.0,
                             settled=1, search="none")  # fmt: skip
    flat = arr.reshape(-1)
    n = flat.size
    hmin, vmin, dmin = float(hlen.min()), float(vlen.min()), float(dlen.min())
    cmin, cmax = _passable_range(flat)
    s, g = sr * nx + sc, gr * nx + gc
    delta = cmin * min(hmin, vmin)  # the cheapest step of the raster
    slots = 2.0 * cmax * float(dlen.max()) / delta + 2.0 if delta > 0.0 else math.inf
    if slots <= MAX_BUCKETS:
        lab = np.zeros(n, dtype=np.float64)  # calloc: pages are touched only where searched
        parent = np.zeros((n, 1), dtype=np.uint8)
        total, settled = _bucket_astar(
            flat, lab, lab.view(np.int64), parent, ny, nx, s, g, hlen, vlen, dlen,
            hmin, vmin, dmin, cmin, delta, int(slots),
        )  # fmt: skip
        meet_f = meet_r = g
        search = "bucket A*"
    else:
        lab = np.zeros((n, 2), dtype=np.float64)
        parent = np.zeros((n, 2), dtype=np.uint8)
        total, meet_f, meet_r, settled = _bidirectional(
            flat, lab, lab.view(np.int64), parent, ny, nx, s, g, hlen, vlen, dlen,
            hmin, vmin, dmin, cmin,
        )  # fmt: skip
        search = "bidirectional A*"
    del lab
    total = float(total)
    if not math.isfinite(total):
        raise PlanningError(
            f"the goal cell {(gr, gc)!r} cannot be reached from the start cell {(sr, sc)!r}: "
            "impassable cells (negative, infinite or NaN cost) separate them"
        )
    head = _trace_back(parent, nx, meet_f, 0)[::-1]
    if search == "bucket A*":
        path = head
    else:
        tail = _trace_back(parent, nx, meet_r, 1)
        path = np.concatenate([head, tail[1:] if meet_f == meet_r else tail])
    return LeastCostPath(
        path=path,
        cost=total,
        length=_path_length(path, hlen, vlen, dlen),
        settled=int(settled),
        search=search,
    )


def _path_length(path: IntArray, hlen: FloatArray, vlen: FloatArray, dlen: FloatArray) -> float:
    d = np.diff(path, axis=0)
    rows_lo = np.minimum(np.minimum(path[:-1, 0], path[1:, 0]), vlen.size - 1)
    seg = np.where(
        d[:, 0] == 0, hlen[path[:-1, 0]], np.where(d[:, 1] == 0, vlen[rows_lo], dlen[rows_lo])
    )
    return float(seg.sum())


def cost_distance(
    cost: npt.ArrayLike,
    start: tuple[int, int],
    *,
    spacing: tuple[Any, Any] | None = None,
) -> FloatArray:
    """The least cost from ``start`` to every cell: a full Dijkstra search of the raster.

    The accumulated-cost map of ``skimage.graph.MCP_Geometric.find_costs`` (same cost model,
    same ``spacing`` as :func:`least_cost_path`). For one goal use :func:`least_cost_path`,
    which stops once the route is proven optimal and explores far fewer cells.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``cost``: the least cost of reaching each cell from ``start``
        (0 there), ``inf`` where impassable or unreachable.

    Examples
    --------
    >>> import numpy as np
    >>> cost_distance(np.ones((2, 3)), (0, 0)).round(3).tolist()
    [[0.0, 1.0, 2.0], [1.0, 1.414, 2.414]]
    """
    arr = _cost_array(cost)
    ny, nx = (int(arr.shape[0]), int(arr.shape[1]))
    sr, sc = _as_cell(start, (ny, nx), "start")
    _check_passable(arr, (sr, sc), "start")
    hlen, vlen, dlen = _step_lengths(ny, spacing)
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
    # padded per-row lengths: the pad rows repeat their neighbours (never used for a step)
    hlen_p = np.concatenate([hlen[:1], hlen, hlen[-1:]])
    vlen_p = np.concatenate([vlen[:1], vlen, vlen[-1:], vlen[-1:]])[: ny + 2]
    dlen_p = np.concatenate([dlen[:1], dlen, dlen[-1:], dlen[-1:]])[: ny + 2]
    s = (sr + 1) * width + sc + 1
    _search(state, width, s, -1, hlen_p, vlen_p, dlen_p, 1.0, 1.0, 1.0, 0.0)
    out: FloatArray = state[:, 1].reshape(ny + 2, width)[1:-1, 1:-1].copy()
    return out
