"""marsgis benchmarks: ``make bench`` (never part of ``make test``).

Each benchmark is a function registered with ``@benchmark("name")``: it takes the run's
:class:`Context` (a temp folder removed at the end, shared inputs, the repeat count) and returns
a :class:`Section` (a title, :class:`Row` s and notes). ``python benchmarks/run.py`` runs them
all; ``--only NAME`` (repeatable) runs some. Results are printed and written into
``docs/benchmarks.md`` between ``<!-- bench:NAME -->`` markers, so a partial run leaves the
other sections as they were.

To add a benchmark, write a function below the existing ones::

    @benchmark("least_cost_path")
    def bench_least_cost_path(ctx: Context) -> Section:
        ...
        return Section("Least-cost path", rows=[Row(...)], notes=[...])

Timings are wall clock, the best of ``--repeats`` runs (default 3), with the CPU seconds of
that run; speed ratios are wall ``reference / ours`` (above 1: we are faster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"

# ------------------------------------------------------------------------------- framework


@dataclass
class Row:
    """One measurement: ours against a reference, with its target."""

    measurement: str
    ours: str
    reference: str
    ratio: str
    target: str
    passed: bool | None  # None: informational, no target


@dataclass
class Section:
    title: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    tmp: Path
    repeats: int
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def cli(self) -> list[str]:
        script = Path(sys.executable).parent / "marsgis"
        return [str(script)] if script.exists() else [sys.executable, "-m", "marsgis"]


Benchmark = Callable[[Context], Section]
BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str) -> Callable[[Benchmark], Benchmark]:
    """Register a benchmark under ``name`` (the ``--only`` value and the doc marker)."""

    def register(func: Benchmark) -> Benchmark:
        BENCHMARKS[name] = func
        return func

    return register


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, fail loudly with its stderr."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def best_time(func: Callable[[], Any], repeats: int) -> float:
    """Best wall-clock seconds of ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def best_interleaved(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Best wall-clock seconds of ``first`` and of ``second``, called in turn ``repeats`` times."""
    a = b = float("inf")
    for _ in range(repeats):
        a, b = min(a, best_time(first, 1)), min(b, best_time(second, 1))
    return a, b


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of the best run, and the CPU seconds that run used."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def best_timing(func: Callable[[], Any], repeats: int) -> Timing:
    """The fastest of ``repeats`` in-process calls (CPU: all threads of this process)."""
    best: Timing | None = None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        func()
        t = Timing(time.perf_counter() - w0, time.process_time() - c0)
        best = t if best is None or t.wall < best.wall else best
    assert best is not None
    return best


def best_cmd_time(cmd: list[str], repeats: int) -> Timing:
    """The fastest of ``repeats`` runs of a command (CPU: user + system of the child)."""
    best: Timing | None = None
    for _ in range(repeats):
        r0, w0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        run(cmd)
        wall = time.perf_counter() - w0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        best = Timing(wall, cpu) if best is None or wall < best.wall else best
    assert best is not None
    return best


def speed_row(measurement: str, ours: Timing, reference: Timing, target: float | None) -> Row:
    ratio = reference.wall / ours.wall
    text = f"{ratio:.2f}× faster" if ratio >= 1 else f"{ratio:.2f}× ({1 / ratio:.1f}× slower)"
    return Row(
        measurement,
        str(ours),
        str(reference),
        text,
        f"≥ {target:g}× faster" if target is not None else "—",
        None if target is None else ratio >= target,
    )


def parallel_speedup() -> float:
    """Speed-up of two threads over one on a GIL-free CPU task (2.0 = two free cores)."""
    import hashlib
    import threading

    data = os.urandom(32 << 20)

    def work() -> None:
        for _ in range(4):
            hashlib.sha256(data).digest()

    one = best_time(work, 2)
    threads = [threading.Thread(target=work) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 2 * one / (time.perf_counter() - start)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} CPU ({model})"


# --------------------------------------------------------------------------- terrain inputs

GALE_8K_NOTE = (
    "Input: `gale-8192-eqc.tif`, 8192 × 8192 Float32 (256 MiB, uncompressed, 256-px tiles): "
    "the shipped 897 × 897 MOLA 128 px/deg window around Gale (`gale-mola`) written to "
    "GeoTIFF and upsampled with `gdalwarp -t_srs IAU_2015:49910 -ts 8192 8192 -r cubic` "
    "(Mars equirectangular, 50.7 m pixels), so that gdaldem, which knows no cos φ, computes "
    "the same slope as marsgis. Built in a temp folder, removed afterwards."
)


def gale_8k(ctx: Context) -> Path:
    """The 8192² real-data GeoTIFF shared by the terrain benchmarks (built once per run)."""
    if "gale_8k" not in ctx.cache:
        import marsgis
        from marsgis.io.writers import write_dem

        src = write_dem(marsgis.open_dem("gale-mola"), ctx.tmp / "gale-mola.tif", compress=None)
        dst = ctx.tmp / "gale-8192-eqc.tif"
        warp = ["gdalwarp", "-q", "-overwrite", "-t_srs", "IAU_2015:49910", "-ts", "8192", "8192"]
        run([*warp, "-r", "cubic", "-co", "TILED=YES", str(src), str(dst)])
        ctx.cache["gale_8k"] = dst
    path: Path = ctx.cache["gale_8k"]
    return path


# ------------------------------------------------------------------------------ benchmarks


@benchmark("terrain_cli")
def bench_terrain_cli(ctx: Context) -> Section:
    """`marsgis terrain slope` file→file against `gdaldem slope` on the 8192² input."""
    import rasterio

    src = gale_8k(ctx)
    out = ctx.tmp / "ours.tif"
    ref = ctx.tmp / "gdaldem.tif"
    n = ctx.repeats
    ours_cmd = [*ctx.cli, "terrain", "slope", str(src), "-o", str(out), "--json"]
    gdal_cmd = ["gdaldem", "slope", "-q", str(src), str(ref)]
    same = ["-co", "TILED=YES", "-co", "BLOCKXSIZE=512", "-co", "BLOCKYSIZE=512"]
    same += ["-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=3", "-co", "ZLEVEL=1"]

    gdal_default = best_cmd_time(gdal_cmd, n)
    ours_default = best_cmd_time(ours_cmd, n)
    ours_size = out.stat().st_size
    gdal_deflate = best_cmd_time([*gdal_cmd, *same], n)
    gdal_size = ref.stat().st_size
    ours_none = best_cmd_time([*ours_cmd, "--compress", "none"], n)

    from marsgis.terrain import to_file

    to_file("slope", src, out, compress=None)  # warm: numba load, GDAL drivers
    in_process = best_timing(lambda: to_file("slope", src, out, compress=None), n)

    # the fixed cost of a CLI call: interpreter, imports, numba load (897² input: ~no work)
    small = ctx.tmp / "gale-mola.tif"
    ours_small = best_cmd_time([*ctx.cli, "terrain", "slope", str(small), "-o", str(out)], n)
    gdal_small = best_cmd_time(["gdaldem", "slope", "-q", str(small), str(ref)], n)

    # and the two slopes agree (uncompressed outputs of the last runs)
    run(gdal_cmd)
    run([*ours_cmd, "--compress", "none"])
    with rasterio.open(out) as a, rasterio.open(ref) as b:
        ours_v, gdal_v = a.read(1)[1:-1, 1:-1], b.read(1, masked=True)[1:-1, 1:-1]
    ok = ~np.ma.getmaskarray(gdal_v) & np.isfinite(ours_v)
    median_diff = float(np.median(np.abs(ours_v[ok] - gdal_v.data[ok])))
    del ours_v, gdal_v, ok

    rows = [
        speed_row(
            "CLI `marsgis terrain slope IN -o OUT` (its defaults: deflate) vs "
            "`gdaldem slope IN OUT` (its defaults: uncompressed)",
            ours_default,
            gdal_default,
            3,
        ),
        speed_row(
            "both uncompressed: CLI `--compress none` vs `gdaldem slope IN OUT`",
            ours_none,
            gdal_default,
            1.5,  # issue #17
        ),
        speed_row(
            "both deflate level 1 + predictor 3, 512² tiles: CLI defaults vs gdaldem `-co ...`",
            ours_default,
            gdal_deflate,
            3,
        ),
        speed_row(
            "in-process `marsgis.terrain.to_file` (no interpreter start), uncompressed, "
            "vs `gdaldem slope IN OUT`",
            in_process,
            gdal_default,
            None,
        ),
        speed_row(
            "fixed cost of one CLI call (897² input: the numpy kernel, no numba): "
            "interpreter, imports, 0.8 Mcells of work",
            ours_small,
            gdal_small,
            None,
        ),
        Row(
            "median abs(slope − gdaldem slope), interior cells",
            f"{median_diff:.2e}°",
            "0°",
            "—",
            "< 0.05°",
            median_diff < 0.05,
        ),
    ]
    notes = [
        GALE_8K_NOTE,
        f"Output sizes, deflate level 1 + predictor 3: marsgis {ours_size / 2**20:.0f} MiB, "
        f"gdaldem {gdal_size / 2**20:.0f} MiB (uncompressed: 256 MiB).",
        "gdaldem is Debian's GDAL 3.6 `gdaldem` (one thread). The CLI streams a GeoTIFF "
        "through `marsgis.terrain.stream` (no xarray or dask): 512-row bands read straight "
        "into reused float32 buffers by one thread, the numba kernel and the output statistics "
        "on one more, the writes (and GDAL's compression threads) on a third; `to_file` (the "
        "in-process row) goes through xarray and dask's `map_overlap`.",
        f"Where the CLI time goes: a call on the 897² input takes {ours_small.wall:.2f} s "
        f"against gdaldem's {gdal_small.wall:.2f} s (inputs up to 2048² run numpy twins of the "
        "numba kernels, so no numba import); on the 8192² input the call also imports numba "
        "and loads its cached kernel (≈ 0.4–0.6 s on this machine), then the pipeline is "
        "bound by GDAL's writes. With deflate, compression dominates both tools.",
    ]
    return Section("Slope file → file: CLI vs gdaldem", rows, notes)


def median_cmd_time(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> Timing:
    """The median of ``runs`` runs of a command (its wall clock and that run's CPU seconds)."""
    times: list[Timing] = []
    for _ in range(runs):
        r0, w0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        run(cmd, env=env)
        wall = time.perf_counter() - w0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(Timing(wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)))
    return sorted(times, key=lambda t: t.wall)[len(times) // 2]


@benchmark("cli_startup")
def bench_cli_startup(ctx: Context) -> Section:
    """The fixed cost of a ``marsgis`` call: ``--help`` and ``terrain slope`` of a tiny file."""
    import marsgis
    from marsgis.io.writers import write_dem

    tiny = write_dem(
        marsgis.open_dem("gale-mola").isel(y=slice(0, 64), x=slice(0, 64)),
        ctx.tmp / "tiny.tif",
        compress=None,
    )
    out = ctx.tmp / "tiny-slope.tif"
    runs = max(7, 2 * ctx.repeats + 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's marsgis, whatever installed
    slope = [*ctx.cli, "terrain", "slope", str(tiny), "-o", str(out)]
    run(slope, env=env)  # numba's cache of the kernel exists (as after any first call)
    python = median_cmd_time([sys.executable, "-c", "pass"], runs, env)
    imports = median_cmd_time(
        [sys.executable, "-c", "import numpy, rasterio, pyproj, click"], runs, env
    )
    help_ = median_cmd_time([*ctx.cli, "--help"], runs, env)
    ours = median_cmd_time(slope, runs, env)
    others = {
        name: median_cmd_time([*ctx.cli, "terrain", name, str(tiny), "-o", str(out)], runs, env)
        for name in ("aspect", "roughness")
    }
    gdal = median_cmd_time(["gdaldem", "slope", "-q", str(tiny), str(ctx.tmp / "g.tif")], runs)

    def row(measurement: str, t: Timing, target: float | None) -> Row:
        return Row(
            measurement,
            str(t),
            f"python -c pass {python.wall:.2f} s; gdaldem {gdal.wall:.2f} s",
            f"{t.wall / python.wall:.1f}× python start",
            f"≤ {target:g} s" if target is not None else "—",
            None if target is None else t.wall <= target,
        )

    rows = [
        row("`marsgis --help`", help_, 0.6),
        row("fixed cost of `marsgis terrain slope tiny.tif -o out.tif` (64² input)", ours, 0.6),
        *(
            row(f"fixed cost of `marsgis terrain {name} tiny.tif -o out.tif`", t, None)
            for name, t in others.items()
        ),
        row("`python -c 'import numpy, rasterio, pyproj, click'`: the floor", imports, None),
    ]
    notes = [
        f"Median of {runs} runs each, in fresh processes, after one warm-up call.",
        "What a call imports: `--help` only click and marsgis's command table; `terrain slope` "
        "(aspect, roughness) of a GeoTIFF streams through `marsgis.terrain.stream` with "
        "rasterio, numpy and pyproj: no xarray, pandas, dask, rioxarray or numba "
        "(tests/test_cli_startup.py checks the import lists). Up to 2048² cells the kernels are "
        "`marsgis.terrain._numpy_kernels`, numpy twins of the numba kernels with the same "
        "float32 results bit for bit (tests/terrain/test_terrain_numpy_kernels.py); larger "
        "inputs load the cached numba kernel (numba's import and typing context ≈ 0.4 s more). "
        "After the command the CLI freezes the GC, so that the interpreter's exit does not "
        "walk every object again.",
    ]
    return Section("CLI start-up: the fixed cost of a call", rows, notes)


@benchmark("terrain_in_memory")
def bench_terrain_in_memory(ctx: Context) -> Section:
    """In-memory terrain kernels against a numpy read-once/write-once bandwidth proxy."""
    import marsgis
    import marsgis.terrain as terrain

    dem = marsgis.open_dem(gale_8k(ctx)).compute()
    a = dem.values
    b = np.empty_like(a)
    reps = max(ctx.repeats, 7)
    rows = []
    for name in ("slope", "aspect", "roughness", "hillshade"):
        func = getattr(terrain, name)
        func(dem)  # warm
        # the proxy and the kernel alternate, so that a busy spell of the host slows both
        proxy, t = best_interleaved(lambda: np.add(a, 0, out=b), lambda func=func: func(dem), reps)
        ratio = t / proxy
        required = name == "slope"
        rows.append(
            Row(
                f"in-memory `marsgis.terrain.{name}(dem)`, 8192² float32 "
                f"({a.size / t / 1e6:.0f} Mcells/s) vs `np.add(a, 0, out=b)`",
                f"{t * 1e3:.1f} ms",
                f"{proxy * 1e3:.1f} ms",
                f"{ratio:.1f}× the proxy",
                "≤ 2.5× the proxy" if required else "—",  # issue #17
                ratio <= 2.5 if required else None,
            )
        )
    notes = [
        GALE_8K_NOTE,
        "Ours includes allocating the 256 MiB output and wrapping it in a DataArray; the "
        "proxy writes into a preallocated array. Best of "
        f"{reps} runs each.",
        "The kernels are bound by the CPU's divide/square-root unit, not by memory: slope's "
        "loop without its `sqrt` and `atan` runs at the proxy's speed. The ratio therefore "
        "depends on the vector width numba compiles for; this run: "
        f"{_vector_isa()}. An earlier run on another host (vector width not recorded) measured "
        "slope at 4.9× the proxy.",
    ]
    return Section("In-memory kernels vs memory bandwidth", rows, notes)


def _vector_isa() -> str:
    """The CPU model numba compiles for and its widest vector instructions."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    width = (
        "AVX-512 (16 float32 lanes)"
        if features.get("avx512f")
        else "AVX2 (8 float32 lanes)"
        if features.get("avx2")
        else "SSE (4 float32 lanes)"
    )
    return f"`{llvm.get_host_cpu_name()}`, {width}"


@benchmark("terrain_peak_memory")
def bench_terrain_peak_memory(ctx: Context) -> Section:
    """Peak RSS of the CLI streaming slope over a 32768×16384 int16 COG."""
    import marsgis
    from marsgis.io.writers import write_dem

    folder = ctx.tmp / "peak-memory"
    folder.mkdir()
    try:
        start = time.perf_counter()
        mola = write_dem(
            marsgis.open_dem("mola").astype(np.int16), folder / "mola.tif", compress=None
        )
        big = folder / "mola-32768.tif"
        warp = ["gdalwarp", "-q", "-ts", "32768", "16384", "-r", "cubic", "-ot", "Int16"]
        warp += ["-co", "TILED=YES", "-co", "BIGTIFF=YES", "-wm", "512", "-multi"]
        run([*warp, "-wo", "NUM_THREADS=ALL_CPUS", str(mola), str(big)])
        cog = folder / "mola-32768-cog.tif"
        translate = ["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE"]
        run([*translate, "-co", "NUM_THREADS=ALL_CPUS", "-co", "BIGTIFF=YES", str(big), str(cog)])
        big.unlink()
        build = time.perf_counter() - start
        cog_size = cog.stat().st_size

        # a fresh wrapper process runs the CLI and reports its child's peak RSS
        wrapper = (
            "import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "sys.stderr.write(p.stderr)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(p.returncode)\n"
        )
        out = folder / "slope.tif"
        cmd = [*ctx.cli, "terrain", "slope", str(cog), "-o", str(out), "--json"]
        env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}
        start = time.perf_counter()
        proc = run([sys.executable, "-c", wrapper, *cmd], env=env)
        seconds = time.perf_counter() - start
        peak_mib = int(proc.stdout.strip().splitlines()[-1]) / 1024
        out_size = out.stat().st_size
        out.unlink()

        # the same stream written with rioxarray's to_raster (dask store, lock), for reference
        rio_code = (
            "import sys, threading, marsgis, marsgis.terrain as t\n"
            "d = marsgis.open_dem(sys.argv[1], chunks={'y': 512, 'x': 8192})\n"
            "s = t.slope(d).rio.write_nodata(float('nan'), encoded=False)\n"
            "s.rio.to_raster(sys.argv[2], tiled=True, compress='deflate', predictor=3, zlevel=1,"
            " lock=threading.Lock())\n"
        )
        start = time.perf_counter()
        proc = run(
            [sys.executable, "-c", wrapper, sys.executable, "-c", rio_code, str(cog), str(out)]
        )
        rio_seconds = time.perf_counter() - start
        rio_mib = int(proc.stdout.strip().splitlines()[-1]) / 1024
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    limit = 2048.0
    rows = [
        Row(
            "peak RSS (VmHWM) of `marsgis terrain slope COG -o OUT.tif` over a lazily read "
            f"32768 × 16384 int16 COG, written chunk by chunk ({seconds:.0f} s)",
            f"{peak_mib:.0f} MiB",
            "2048 MiB (the slope as float32 in memory)",
            f"{peak_mib / limit:.2f}× the limit",
            "< 2 GB",
            peak_mib < limit,
        ),
        Row(
            "the same slope stream written with rioxarray "
            f"`to_raster(lock=threading.Lock())` ({rio_seconds:.0f} s)",
            f"{rio_mib:.0f} MiB",
            "2048 MiB",
            f"{rio_mib / limit:.2f}× the limit",
            "—",
            None,
        ),
    ]
    notes = [
        "Input: MOLA MEGDR 4 px/deg (`mola`, int16 metres) upsampled to 32768 × 16384 "
        "(91 px/deg) with `gdalwarp -r cubic -ot Int16`, then `gdal_translate -of COG "
        f"-co COMPRESS=DEFLATE` ({cog_size / 2**20:.0f} MiB; 1 GiB as int16, 2 GiB as float32); "
        f"built in {build:.0f} s in a temp folder and removed afterwards.",
        f"Output: deflate GeoTIFF of {out_size / 2**20:.0f} MiB. Peak RSS is the "
        "`ru_maxrss` of the CLI process, measured by a fresh wrapper process.",
        "Why `write_dem` does not call rioxarray's `to_raster`: for dask data that goes through "
        "`dask.array.store`, reopens the file for every chunk (dropping GDAL's `NUM_THREADS`) "
        "and lets dask read ahead of the writer; `write_dem` keeps one dataset open and feeds "
        "it through a tree-reduced `map_blocks`, which dask orders block row by block row.",
    ]
    return Section("Peak memory: streaming slope of a global COG", rows, notes)


# planning: least_cost_path vs MCP_Geometric, global eligibility (benchmarks/bench_planning.py)
from bench_planning import register as _register_planning  # noqa: E402

_register_planning(benchmark, Row, Section, gale_8k=gale_8k)
from bench_ml import register as _register_ml  # noqa: E402  (ml_inference, benchmarks/bench_ml.py)

_register_ml(benchmark, Row, Section)
from bench_gpu import register as _register_gpu  # noqa: E402  (gpu, benchmarks/bench_gpu.py)

_register_gpu(benchmark, Row, Section, gale_8k=gale_8k, gale_8k_note=GALE_8K_NOTE)
from bench_dashboards import register as _register_dashboards  # noqa: E402

_register_dashboards(benchmark, Row, Section)
from bench_api import register as _register_api  # noqa: E402  (api, benchmarks/bench_api.py)

_register_api(benchmark, Row, Section)
from bench_cache import register as _register_cache  # noqa: E402  (cache, benchmarks/bench_cache.py)

_register_cache(benchmark, Row, Section)
from bench_events import register as _register_events  # noqa: E402  (events, bench_events.py)

_register_events(benchmark, Row, Section)
from bench_station import register as _register_station  # noqa: E402  (station, bench_station.py)

_register_station(benchmark, Row, Section)


# ------------------------------------------------------------------------------------ doc

DOC_HEADER = """# marsgis benchmarks

Generated by `make bench` (`python benchmarks/run.py`; `--only NAME` for one section). Each
section below is rewritten by the run that measured it, between its `<!-- bench:NAME -->`
markers; the date and machine are in every row. Timings are wall clock, best of the
repeats, with the CPU seconds of that run; speed ratios compare wall clock. The numbers depend
on the machine: on a shared VM other work competes for the CPUs, so each section records the
load average and how much faster two threads ran than one just before it.
"""


def render(name: str, section: Section, stamp: str, host: str, load: str) -> str:
    """The doc block of one section: its table, notes and the load it ran under."""
    lines = [
        f"<!-- bench:{name} -->",
        f"## {section.title}",
        "",
        "| measurement | ours | reference | ratio | target | pass/fail | machine (nproc) | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in section.rows:
        verdict = "—" if r.passed is None else ("pass" if r.passed else "**fail**")
        cells = [r.measurement, r.ours, r.reference, r.ratio, r.target, verdict, host, stamp]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines.extend(f"- {note}" for note in section.notes)
    lines.append(f"- Machine state: {load}.")
    lines.append(f"<!-- /bench:{name} -->")
    return "\n".join(lines)


def update_doc(blocks: dict[str, str]) -> None:
    text = DOC.read_text() if DOC.exists() else DOC_HEADER
    for name, block in blocks.items():
        pattern = re.compile(
            rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
        )
        if pattern.search(text):
            text = pattern.sub(lambda _m, block=block: block, text)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text if text.endswith("\n") else text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--no-doc", action="store_true", help="print only, leave the doc alone")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    names = args.only or list(BENCHMARKS)
    host = machine()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    blocks: dict[str, str] = {}
    failed = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="marsgis-bench-") as tmp:
        ctx = Context(tmp=Path(tmp), repeats=args.repeats)
        for name in names:
            t0 = time.perf_counter()
            before = f"{os.getloadavg()[0]:.1f}"
            speedup = parallel_speedup()
            section = BENCHMARKS[name](ctx)
            load = (
                f"load average {before} before, {os.getloadavg()[0]:.1f} after; two threads ran "
                f"{speedup:.2f}× as fast as one just before (2.00 = both CPUs free)"
            )
            block = render(name, section, stamp, host, load)
            blocks[name] = block
            print(block, f"\n({name}: {time.perf_counter() - t0:.0f} s)\n", flush=True)
            failed += [f"{name}: {r.measurement}" for r in section.rows if r.passed is False]
    if not args.no_doc:
        update_doc(blocks)
        print(f"wrote {DOC.relative_to(ROOT)}")
    print(f"total {time.perf_counter() - started:.0f} s; {len(failed)} target(s) missed")
    for item in failed:
        print(f"  missed: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
