"""Planning benchmarks: least_cost_path vs skimage MCP_Geometric, the global eligibility map.

Each ``bench_*`` function runs one measurement and returns a list of result rows (dicts with
``name``, ``seconds``, ``target`` and ``met``, plus what was compared). ``BENCHMARKS`` lists
them for a runner; ``python benchmarks/bench_planning.py [--quick]`` runs them alone and
prints one JSON document.

Targets (issue "Planning"):

* ``least_cost_path`` on 4096² and 8192² rasters is at least 1.5× faster than
  ``skimage.graph.MCP_Geometric`` on the same raster, measured in the same run, with equal
  cost (relative 1e-9);
* point to point (issue #17): ``least_cost_path`` (A* on a bucket queue) is at least 4× faster
  than ``MCP_Geometric`` on the 8192² random raster and at least 10× faster on a real-terrain
  route (Bradbury Landing to the base of Mount Sharp on the Gale DEM upsampled to 8192²),
  with equal cost;
* the global eligibility map on the 4 px/deg MOLA grid (MER-A preset, with its area on the
  Mars sphere) takes under 0.5 s.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Row = dict[str, Any]

#: Speed-up over MCP_Geometric that least_cost_path must reach.
LCP_SPEEDUP_TARGET = 1.5
#: Speed-ups over MCP_Geometric of the point-to-point search (issue #17): random, real terrain.
P2P_RANDOM_TARGET = 4.0
P2P_TERRAIN_TARGET = 10.0
#: Bradbury Landing (Curiosity's landing site), lat, lon.
BRADBURY = (-4.5895, 137.4417)
#: Curiosity reached the base of Mount Sharp (Pahrump Hills) on sol 746: the first stop of the
#: shipped ``msl-stops`` from that sol on is the goal of the real-terrain route.
MOUNT_SHARP_BASE_SOL = 746
#: Seconds the global MOLA eligibility map may take.
ELIGIBILITY_TARGET_S = 0.5


def _raster(n: int, seed: int = 20240806) -> np.ndarray:
    """A reproducible cost raster: uniform 1–10 per metre, 10 % impassable cells."""
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1.0, 10.0, (n, n))
    cost[rng.random((n, n)) < 0.10] = np.inf
    cost[0, 0] = cost[-1, -1] = 1.0
    return cost


def _timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall seconds, CPU seconds of this process)``."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - w0, time.process_time() - c0


def bench_least_cost_path(n: int = 4096, repeat: int = 1) -> list[Row]:
    """Corner-to-corner least-cost path on an n×n raster: marsgis vs skimage, same raster.

    Both run single-threaded, alternately, ``repeat`` times; the speed-up is the ratio of the
    best CPU times (the CPU time of this process is not inflated by other work on a shared
    machine, where wall-clock time is); wall-clock times are reported too.
    """
    from skimage.graph import MCP_Geometric

    from marsgis.planning import least_cost_path

    least_cost_path(np.ones((8, 8)), (0, 0), (7, 7))  # load the compiled kernel
    cost = _raster(n)
    start, goal = (0, 0), (n - 1, n - 1)
    masked = np.where(np.isfinite(cost), cost, -1.0)  # MCP's impassable marker

    def reference() -> float:
        mcp = MCP_Geometric(masked)
        cum, _ = mcp.find_costs([start], [goal])
        return float(cum[goal])

    mine_wall, mine_cpu, ref_wall, ref_cpu = [], [], [], []
    mine: Any = None
    ref = float("nan")
    for _ in range(repeat):
        mine, wall, cpu = _timed(lambda: least_cost_path(cost, start, goal))
        mine_wall.append(wall)
        mine_cpu.append(cpu)
        ref, wall, cpu = _timed(reference)
        ref_wall.append(wall)
        ref_cpu.append(cpu)
    rel = abs(mine.cost - ref) / ref
    speedup = min(ref_cpu) / min(mine_cpu)
    return [
        {
            "name": f"least_cost_path {n}x{n}",
            "seconds": min(mine_wall),
            "cpu_seconds": min(mine_cpu),
            "reference": "skimage.graph.MCP_Geometric.find_costs",
            "reference_seconds": min(ref_wall),
            "reference_cpu_seconds": min(ref_cpu),
            "speedup": speedup,
            "wall_speedup": min(ref_wall) / min(mine_wall),
            "cost": mine.cost,
            "reference_cost": ref,
            "cost_rel_diff": rel,
            "settled_cells": mine.settled,
            "target": f"speedup (CPU time) >= {LCP_SPEEDUP_TARGET} and equal cost (rel 1e-9)",
            "met": bool(speedup >= LCP_SPEEDUP_TARGET and rel <= 1e-9),
        }
    ]


def _versus_mcp(
    cost: np.ndarray,
    start: tuple[int, int],
    goal: tuple[int, int],
    spacing: tuple[float, float] | None,
    repeat: int,
) -> Row:
    """least_cost_path vs MCP_Geometric.find_costs on one raster, alternately, best CPU times."""
    from skimage.graph import MCP_Geometric

    from marsgis.planning import least_cost_path

    least_cost_path(np.ones((8, 8)), (0, 0), (7, 7))  # load the compiled kernel
    masked = np.where(np.isfinite(cost), cost, -1.0)  # MCP's impassable marker

    def reference() -> float:
        mcp = MCP_Geometric(masked, sampling=spacing)
        cum, _ = mcp.find_costs([start], [goal])
        return float(cum[goal])

    mine_wall, mine_cpu, ref_wall, ref_cpu = [], [], [], []
    mine: Any = None
    ref = float("nan")
    for _ in range(repeat):
        mine, wall, cpu = _timed(lambda: least_cost_path(cost, start, goal, spacing=spacing))
        mine_wall.append(wall)
        mine_cpu.append(cpu)
        ref, wall, cpu = _timed(reference)
        ref_wall.append(wall)
        ref_cpu.append(cpu)
    return {
        "seconds": min(mine_wall),
        "cpu_seconds": min(mine_cpu),
        "reference_seconds": min(ref_wall),
        "reference_cpu_seconds": min(ref_cpu),
        "speedup": min(ref_cpu) / min(mine_cpu),
        "wall_speedup": min(ref_wall) / min(mine_wall),
        "cost": mine.cost,
        "reference_cost": ref,
        "cost_rel_diff": abs(mine.cost - ref) / ref,
        "settled_cells": mine.settled,
        "search": mine.search,
        "cells": int(cost.size),
        "path_cells": int(mine.path.shape[0]),
    }


def bench_point_to_point_random(n: int = 8192, repeat: int = 1) -> list[Row]:
    """Corner to corner on the n² random raster (as ``bench_least_cost_path``), issue #17."""
    row = _versus_mcp(_raster(n), (0, 0), (n - 1, n - 1), None, repeat)
    met = row["speedup"] >= P2P_RANDOM_TARGET and row["cost_rel_diff"] <= 1e-9
    row.update(
        name=f"point to point {n}x{n} random",
        target=f"speedup (CPU time) >= {P2P_RANDOM_TARGET} and equal cost (rel 1e-9)",
        met=bool(met),
    )
    return [row]


def mount_sharp_route(dem: Any) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], Any]:
    """Cost surface, start and goal cells and stop of Bradbury Landing → Mount Sharp's base."""
    import marsgis
    from marsgis.geo import Grid
    from marsgis.planning import cost_surface

    stops = marsgis.open_features("msl-stops")
    stop = stops[stops["sol"] >= MOUNT_SHARP_BASE_SOL].iloc[0]
    cost = np.ascontiguousarray(cost_surface(dem).values, dtype=np.float64)
    grid = Grid.of(dem)
    cells = []
    for lat, lon in (BRADBURY, (float(stop.lat), float(stop.lon))):
        fy, fx = grid.locate(lat, lon)
        cells.append((round(float(fy)), round(float(fx))))
    return cost, cells[0], cells[1], stop


def bench_point_to_point_terrain(dem: Any, repeat: int = 1) -> list[Row]:
    """Bradbury Landing → Mount Sharp's base on a projected (equirectangular) Gale DEM."""
    cost, start, goal, stop = mount_sharp_route(dem)
    res = [abs(float(v)) for v in dem.rio.resolution()]
    spacing = (res[1], res[0])
    row = _versus_mcp(cost, start, goal, spacing, repeat)
    met = row["speedup"] >= P2P_TERRAIN_TARGET and row["cost_rel_diff"] <= 1e-9
    row.update(
        name=f"point to point {cost.shape[0]}x{cost.shape[1]} Gale, Bradbury -> sol {stop.sol}",
        goal_lat=float(stop.lat),
        goal_lon=float(stop.lon),
        sol=int(stop.sol),
        start=start,
        goal=goal,
        spacing=spacing,
        target=f"speedup (CPU time) >= {P2P_TERRAIN_TARGET} and equal cost (rel 1e-9)",
        met=bool(met),
    )
    return [row]


def bench_global_eligibility(repeat: int = 5) -> list[Row]:
    """Eligibility map + eligible area of the MER-A preset on the global 4 px/deg MOLA grid."""
    import marsgis
    from marsgis.planning import eligibility_map, eligible_area

    dem = marsgis.open_dem("mola")  # reading the file is not part of the measurement
    eligible_area(eligibility_map(dem, "mer-a"))  # warm imports and caches
    times = []
    result: dict[str, Any] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = eligible_area(eligibility_map(dem, "mer-a"))
        times.append(time.perf_counter() - t0)
    best = min(times)
    return [
        {
            "name": "eligibility map, global MOLA 4 px/deg (mer-a)",
            "seconds": best,
            "median_seconds": float(np.median(times)),
            "eligible_km2": result["eligible_km2"],
            "eligible_fraction": result["eligible_fraction"],
            "target": f"seconds < {ELIGIBILITY_TARGET_S}",
            "met": bool(best < ELIGIBILITY_TARGET_S),
        }
    ]


def bench_gale_traverse() -> list[Row]:
    """plan_traverse on gale-mola (897², geographic): Bradbury Landing to the sol-4977 stop."""
    import marsgis
    from marsgis.planning import plan_traverse

    dem = marsgis.open_dem("gale-mola")
    stops = marsgis.open_features("msl-stops")
    last = stops.iloc[-1]
    plan_traverse(dem, (-4.5895, 137.4417), (float(last.lat), float(last.lon)))
    t0 = time.perf_counter()
    route = plan_traverse(dem, (-4.5895, 137.4417), (float(last.lat), float(last.lon)))
    seconds = time.perf_counter() - t0
    return [
        {
            "name": "plan_traverse gale-mola, Bradbury -> sol 4977",
            "seconds": seconds,
            "length_m": route.attrs["length_m"],
            "curiosity_odometry_m": float(last.odometry_m),
            "target": "informational",
            "met": True,
        }
    ]


#: Benchmarks of this module, for a runner: (name, function returning rows).
BENCHMARKS: list[tuple[str, Callable[[], list[Row]]]] = [
    ("planning.eligibility_global", bench_global_eligibility),
    ("planning.least_cost_path_4096", lambda: bench_least_cost_path(4096, repeat=2)),
    ("planning.least_cost_path_8192", lambda: bench_least_cost_path(8192)),
    ("planning.gale_traverse", bench_gale_traverse),
]


def register(
    benchmark: Callable[[str], Any],
    row_cls: Any,
    section_cls: Any,
    *,
    gale_8k: Callable[[Any], Any] | None = None,
) -> None:
    """Register the planning sections with ``benchmarks/run.py``'s ``@benchmark`` registry.

    ``run.py`` calls ``register(benchmark, Row, Section)``; each section converts the rows
    of the ``bench_*`` functions above into its ``Row(measurement, ours, reference, ratio,
    target, passed)``. ``gale_8k(ctx)`` gives the path of the 8192² Gale GeoTIFF that the
    terrain benchmarks share (the real-terrain point-to-point route runs on it).
    """

    def lcp_row(r: Row) -> Any:
        return row_cls(
            measurement=f"`least_cost_path` {r['name'].split()[-1]} (random 1–10 cost, 10 % "
            "impassable, corner to corner) vs `skimage.graph.MCP_Geometric.find_costs`",
            ours=f"{r['seconds']:.2f} s (CPU {r['cpu_seconds']:.2f} s)",
            reference=f"{r['reference_seconds']:.2f} s (CPU {r['reference_cpu_seconds']:.2f} s)",
            ratio=f"{r['wall_speedup']:.2f}× faster (CPU {r['speedup']:.2f}×); "
            f"cost rel. diff {r['cost_rel_diff']:.1e}",
            target=f"≥ {LCP_SPEEDUP_TARGET}× faster, equal cost (1e-9)",
            passed=r["met"],
        )

    @benchmark("planning_least_cost_path")
    def planning_least_cost_path(ctx: Any) -> Any:
        rows = bench_least_cost_path(4096, repeat=2) + bench_least_cost_path(8192, repeat=1)
        return section_cls(
            "Least-cost path: marsgis vs skimage MCP_Geometric",
            rows=[lcp_row(r) for r in rows],
            notes=[
                "Same raster, same run, both single-threaded and run alternately; best of 2 "
                "at 4096², one run at 8192². Pass/fail uses the CPU-time ratio (not inflated "
                "by other work on a shared machine).",
            ],
        )

    def p2p_row(r: Row, what: str, target: float) -> Any:
        return row_cls(
            measurement=f"point-to-point `least_cost_path` {what} vs "
            "`skimage.graph.MCP_Geometric.find_costs` (same start and goal)",
            ours=f"{r['seconds']:.2f} s (CPU {r['cpu_seconds']:.2f} s; {r['search']}, "
            f"{r['settled_cells']:,} expansions, {r['cells']:,} cells)",
            reference=f"{r['reference_seconds']:.2f} s (CPU {r['reference_cpu_seconds']:.2f} s)",
            ratio=f"{r['wall_speedup']:.1f}× faster (CPU {r['speedup']:.1f}×); "
            f"cost rel. diff {r['cost_rel_diff']:.1e}",
            target=f"≥ {target:g}× faster, equal cost (1e-9)",
            passed=r["met"],
        )

    @benchmark("planning_point_to_point")
    def planning_point_to_point(ctx: Any) -> Any:
        import marsgis

        rows = []
        (rnd,) = bench_point_to_point_random(8192, repeat=1)
        rows.append(
            p2p_row(rnd, "8192² random raster (1–10 cost, 10 % impassable, corner to corner)",
                    P2P_RANDOM_TARGET)
        )  # fmt: skip
        notes = [
            "A* (bound: min cost × octile distance) on Dial's bucket queue, cells reopened "
            "when a better label arrives, reading the caller's raster in place (the "
            "bidirectional heap A* only for rasters with free cells or a very wide cost "
            "range); MCP_Geometric is a full Dijkstra that "
            "stops when the goal is settled. Same raster, same run, one run each, alternately; "
            "pass/fail uses the CPU-time ratio.",
        ]
        if gale_8k is not None:
            dem = marsgis.open_dem(gale_8k(ctx)).compute()
            (ter,) = bench_point_to_point_terrain(dem, repeat=max(2, int(ctx.repeats)))
            del dem
            rows.append(
                p2p_row(
                    ter,
                    f"real terrain: Bradbury Landing → base of Mount Sharp (sol {ter['sol']} "
                    f"stop, {ter['goal_lat']:.4f}, {ter['goal_lon']:.4f}) on the 8192² Gale "
                    f"grid, {ter['path_cells']}-cell route",
                    P2P_TERRAIN_TARGET,
                )
            )
            notes.append(
                "Real terrain: `cost_surface` (default 25° limit) of `gale-8192-eqc.tif` (the "
                "`gale-mola` window upsampled to 8192² with gdalwarp, 50.7 m equirectangular "
                f"pixels); spacing {ter['spacing'][0]:.2f} × {ter['spacing'][1]:.2f} m for both "
                f"(MCP `sampling`); cells {ter['start']} → {ter['goal']}; best of "
                f"{max(2, int(ctx.repeats))} alternate runs. The cost surface is not timed."
            )
        return section_cls(
            "Point-to-point least-cost path: marsgis vs skimage MCP_Geometric",
            rows=rows,
            notes=notes,
        )

    @benchmark("planning_eligibility")
    def planning_eligibility(ctx: Any) -> Any:
        (r,) = bench_global_eligibility(repeat=max(3, int(getattr(ctx, "repeats", 3))))
        return section_cls(
            "Global landing eligibility map",
            rows=[
                row_cls(
                    measurement="`eligibility_map` + `eligible_area`, MER-A preset, global "
                    "MOLA 4 px/deg (720 × 1440)",
                    ours=f"{r['seconds'] * 1000:.1f} ms",
                    reference="—",
                    ratio="—",
                    target=f"< {ELIGIBILITY_TARGET_S} s",
                    passed=r["met"],
                )
            ],
            notes=[
                f"Eligible: {r['eligible_km2']:,.0f} km² = {100 * r['eligible_fraction']:.2f} % "
                "of Mars (latitude and elevation; the slope limits are not evaluated at 14.8 km "
                "cells). Reading the DEM is not timed.",
            ],
        )


def run_all(*, quick: bool = False) -> list[Row]:
    """Run every benchmark (``quick``: 1024² and 2048² rasters instead of 4096² and 8192²)."""
    rows: list[Row] = []
    rows += bench_global_eligibility()
    for n, repeat in ((1024, 3), (2048, 2)) if quick else ((4096, 2), (8192, 1)):
        rows += bench_least_cost_path(n, repeat=repeat)
    rows += bench_gale_traverse()
    return rows


if __name__ == "__main__":
    out = run_all(quick="--quick" in sys.argv[1:])
    print(json.dumps(out, indent=2))
    sys.exit(0 if all(r["met"] for r in out) else 1)
