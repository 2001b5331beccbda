"""API benchmarks: a bounded load loop against a real ``marsgis serve`` on loopback.

The load generator is Debian's ``wrk`` (C, event loop; ``scripts/setup-system.sh`` installs
it), driven for a fixed number of seconds per measurement, with a Lua ``done`` hook that prints
its request count, latency percentiles and error counts as one JSON line. The server is a real
``marsgis serve`` (one uvicorn process) over a fresh SpatiaLite file in a temp folder, with its
own empty tile cache, so nothing of the user's is read or written. Measurements (issue #12):

* ``GET /api/v1/missions`` (the default page of 100) over 10 000 seeded missions, 32 concurrent
  clients: p50, p99, requests/s; target p99 < 100 ms;
* one cached tile from ``/api/v1/tiles/...`` against the same PNG bytes served by a plain
  static file server (Python's ``http.server.ThreadingHTTPServer``, HTTP/1.1 keep-alive as
  uvicorn), same clients, alternating runs: throughput ratio, target ≥ 0.5×;
* uncached tiles (a distinct tile for every request): p99, target < 250 ms;
* a 15 km Gale traverse, ``POST /api/v1/planning/traverse``: p99 (informational).

``python benchmarks/run.py --only api`` runs it; ``measure(tmp, TINY)`` runs it at a tiny size
(tests/test_bench_api.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Targets of issue #12.
MISSION_LIST_P99_MS = 100.0
CACHED_TILE_RATIO = 0.5
UNCACHED_TILE_P99_MS = 250.0

#: The 15 km Gale traverse of the dashboards benchmark: Bradbury Landing to the south-west,
#: on the shipped 128 px/deg MOLA Gale window (lat, lon).
TRAVERSE_DATASET = "gale-mola"
TRAVERSE_START = (-4.5895, 137.4417)
TRAVERSE_GOAL = (-4.82, 137.39)
#: The uncached tiles: zoom 13 around Curiosity's traverse (over the 1 m Gale DEM first).
TILE_ZOOM = 13
TILE_CENTRE = (-4.6668, 137.3699)


@dataclass(frozen=True)
class Scale:
    """How much load: seeded missions, clients and seconds of each ``wrk`` run."""

    missions: int = 10_000
    clients: int = 32
    seconds: int = 10
    #: seconds of each of the alternating cached-tile and static runs (two of each)
    tile_seconds: int = 4
    #: clients of the uncached-tile and traverse runs (one per CPU of the 2-CPU machine)
    heavy_clients: int = 2
    threads: int = 2


FULL = Scale()
TINY = Scale(missions=20, clients=4, seconds=1, tile_seconds=1, heavy_clients=2, threads=1)


# ------------------------------------------------------------------------------------ wrk

DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"bad_status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    """What one ``wrk`` run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # HTTP status >= 400, socket errors and timeouts
    #: CPU seconds the server process spent per request during the run (user + system), ms
    server_cpu_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def __str__(self) -> str:
        text = f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, {self.rps:.0f} req/s"
        return text + self.cpu_text() + (f", **{self.errors} errors**" if self.errors else "")

    def cpu_text(self) -> str:
        """``", server CPU X ms/req"`` where measured."""
        if self.server_cpu_ms is None:
            return ""
        return f", server CPU {self.server_cpu_ms:.2f} ms/req"


def wrk(
    url: str,
    *,
    clients: int,
    threads: int,
    seconds: int,
    folder: Path,
    headers: dict[str, str] | None = None,
    lua: str = "",
    server_pid: int | None = None,
) -> Load:
    """Run ``wrk`` against ``url`` for ``seconds``; ``lua`` is prepended to the done hook.

    With ``server_pid``, the CPU time that process spent during the run is divided by the
    requests served (``Load.server_cpu_ms``): a per-request cost that other people's work on
    the machine hardly changes, unlike the latencies.
    """
    script = folder / f"wrk-{time.monotonic_ns()}.lua"
    script.write_text(lua + DONE_LUA)
    cmd = ["wrk", f"-t{min(threads, clients)}", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found: install Debian's wrk (bash scripts/setup-system.sh)")
    cpu_before = _cpu_s(server_pid)
    proc = subprocess.run(
        [*cmd, "-s", str(script), url], check=False, capture_output=True, text=True
    )
    cpu_after = _cpu_s(server_pid)
    script.unlink()
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(r[k] for k in ("bad_status", "connect", "read", "write", "timeout"))
    return Load(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1e3,
        p99_ms=r["p99_us"] / 1e3,
        max_ms=r["max_us"] / 1e3,
        errors=errors,
        server_cpu_ms=None
        if server_pid is None or not r["requests"]
        else (cpu_after - cpu_before) * 1e3 / r["requests"],
    )


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` and its children so far (0 without one)."""
    if pid is None:
        return 0.0
    import psutil

    process = psutil.Process(pid)
    processes = [process, *process.children(recursive=True)]  # uvicorn workers
    total = 0.0
    for each in processes:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def paths_lua(paths: list[str], threads: int) -> str:
    """A wrk script that sends ``paths`` in turn, each once, spread over the threads."""
    table = ",\n".join(_lua_string(p) for p in paths)
    return f"""
local paths = {{
{table}
}}
local made = 0
setup = function(thread) thread:set("id", made); made = made + 1 end
local i = nil
request = function()
  if i == nil then i = id end
  local p = paths[(i % #paths) + 1]
  i = i + {threads}
  return wrk.format("GET", p)
end
"""


def post_lua(body: dict[str, Any]) -> str:
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = {_lua_string(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


# -------------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()}") from None
            time.sleep(0.2)


@contextmanager
def _process(
    cmd: list[str], env: dict[str, str], up_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_until_up(up_url, proc, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "marsgis"
    return [str(script)] if script.exists() else [sys.executable, "-m", "marsgis"]


def _env(folder: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "PYTHONPATH": path,  # this checkout's marsgis, whatever the installed one
        "MARSGIS_DATA_DIR": str(folder / "data"),
        "MARSGIS_CACHE_DIR": str(folder / "cache"),
        # a load loop is one principal far above any per-principal rate limit
        "MARSGIS_API_RATE_LIMIT": "off",
    }


#: Process ids of the running servers, by root URL (for ``wrk(server_pid=...)``).
SERVER_PIDS: dict[str, int] = {}


@contextmanager
def marsgis_serve(db_url: str, folder: Path) -> Iterator[str]:
    """A real ``marsgis serve`` on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    cmd = [*_cli(), "serve", "--port", str(port), "--url", db_url]
    with _process(cmd, _env(folder), f"{root}/api/v1/health", folder / "serve.log") as proc:
        SERVER_PIDS[root] = proc.pid
        try:
            yield root
        finally:
            SERVER_PIDS.pop(root, None)


STATIC_SERVER = """
import functools, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn

    def log_message(self, *args):
        pass

handler = functools.partial(Handler, directory=sys.argv[2])
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


@contextmanager
def static_serve(directory: Path, folder: Path) -> Iterator[str]:
    """Python's ``ThreadingHTTPServer`` serving ``directory``; yields its root URL."""
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-c", STATIC_SERVER, str(port), str(directory)]
    with _process(cmd, dict(os.environ), f"{root}/", folder / "static.log") as proc:
        SERVER_PIDS[root] = proc.pid
        try:
            yield root
        finally:
            SERVER_PIDS.pop(root, None)


# -------------------------------------------------------------------------------- measure


def seed(url: str, n: int) -> float:
    """Store ``n`` missions in one transaction through the public db API; return seconds."""
    import numpy as np

    from marsgis import db

    rng = np.random.default_rng(20261201)
    lats = rng.uniform(-80, 80, n)
    lons = rng.uniform(-180, 180, n)
    types = list(db.MISSION_TYPES)
    start = time.perf_counter()
    with db.transaction(url, write=True) as conn:
        for i in range(n):
            db.add_mission(
                f"Bench mission {i}",
                lat=float(lats[i]),
                lon=float(lons[i]),
                mission_type=types[i % len(types)],
                description="seeded by benchmarks/bench_api.py",
                objectives=["survey", "sample"],
                db=conn,
            )
    return time.perf_counter() - start


def uncached_tile_paths(count: int) -> list[str]:
    """``count`` distinct zoom-13 relief tiles around Curiosity, nearest first."""
    from marsgis.viz.tiling import tile_of, tile_range
    from marsgis.viz.tms import TMS_ID

    cx, cy = tile_of(*TILE_CENTRE, TILE_ZOOM)
    cols, rows = tile_range(TILE_ZOOM)
    side = int(count**0.5) + 2
    tiles = [
        (cx + dx, cy + dy)
        for dx in range(-side, side + 1)
        for dy in range(-side, side + 1)
        if 0 <= cx + dx < cols and 0 <= cy + dy < rows
    ]
    tiles.sort(key=lambda t: ((t[0] - cx) ** 2 + (t[1] - cy) ** 2, t))
    return [f"/api/v1/tiles/relief/{TMS_ID}/{TILE_ZOOM}/{x}/{y}.png" for x, y in tiles[:count]]


def measure(tmp: Path, scale: Scale = FULL, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every API measurement at ``scale`` in ``tmp``; the results and what was checked."""
    import httpx

    from marsgis import db
    from marsgis.db import tokens
    from marsgis.geo import great_circle_m
    from marsgis.viz.tms import TMS_ID

    folder = tmp / "api-bench"
    folder.mkdir()
    try:
        url = f"sqlite:///{folder / 'bench-api.sqlite'}"
        db.upgrade(url)
        seed_s = seed(url, scale.missions)
        out: dict[str, Any] = {"scale": scale, "seed_s": seed_s}
        log(f"api: seeded {scale.missions} missions in {seed_s:.1f} s")
        _, secret = tokens.create_token("bench", "admin", db=url)
        # where the time goes, in this process: the store call behind the list, the token check
        db.list_missions(db=url)
        out["list_missions_ms"] = _best_ms(lambda: db.list_missions(db=url), 3)
        out["page_missions_ms"] = _best_ms(lambda: db.page_missions(db=url), 20)
        out["authenticate_ms"] = _best_ms(lambda: tokens.authenticate(secret, db=url), 50)
        cache = tokens.TokenCache()
        cache.authenticate(secret, db=url)
        out["cached_authenticate_ms"] = _best_ms(lambda: cache.authenticate(secret, db=url), 50)
        db.dispose_engines()
        auth = {"Authorization": f"Bearer {secret}"}

        def load(
            target: str, clients: int, seconds: int, *, lua: str = "", token: bool = True
        ) -> Load:
            headers = auth if token else None
            server = next((pid for r, pid in SERVER_PIDS.items() if target.startswith(r)), None)
            return wrk(
                target,
                clients=clients,
                threads=scale.threads,
                seconds=seconds,
                folder=folder,
                headers=headers,
                lua=lua,
                server_pid=server,
            )

        with marsgis_serve(url, folder) as root, httpx.Client(base_url=root, headers=auth) as c:
            # mission list
            first = c.get("/api/v1/missions", timeout=60)
            first.raise_for_status()
            out["missions_total"] = first.json()["total"]
            out["missions_page"] = len(first.json()["items"])
            out["missions"] = load(f"{root}/api/v1/missions", scale.clients, scale.seconds)
            log(f"api: mission list {out['missions']}")

            # a cached tile vs the same bytes from a static file server
            z, x, y = 7, *_gale_tile(7)
            tile_path = f"/api/v1/tiles/relief/{TMS_ID}/{z}/{x}/{y}.png"
            png = c.get(tile_path, timeout=60)
            png.raise_for_status()
            static_dir = folder / "static"
            static_dir.mkdir()
            (static_dir / "tile.png").write_bytes(png.content)
            with static_serve(static_dir, folder) as static_root:
                served = httpx.get(f"{static_root}/tile.png", timeout=10).content
                out["tile_png"] = png.content
                out["tile_bytes"] = len(png.content)
                out["tile_bytes_equal"] = served == png.content
                cached: list[Load] = []
                static: list[Load] = []
                for _ in range(2):  # alternate, keep the best of each
                    static.append(
                        load(
                            f"{static_root}/tile.png",
                            scale.clients,
                            scale.tile_seconds,
                            token=False,
                        )
                    )
                    cached.append(load(f"{root}{tile_path}", scale.clients, scale.tile_seconds))
            out["cached_tile"] = max(cached, key=lambda r: r.rps)
            out["static_tile"] = max(static, key=lambda r: r.rps)
            out["tile"] = (z, x, y)
            log(f"api: cached tile {out['cached_tile']}; static {out['static_tile']}")

            # uncached tiles: a new tile each request (more paths than can be served)
            paths = uncached_tile_paths(max(400, 200 * scale.seconds * scale.heavy_clients))
            c.get(paths.pop(0), timeout=60).raise_for_status()  # warm: open the Gale DEMs
            lua = paths_lua(paths, min(scale.threads, scale.heavy_clients))
            out["uncached_tile"] = load(root, scale.heavy_clients, scale.seconds, lua=lua)
            out["uncached_paths"] = len(paths)
            if out["uncached_tile"].requests > len(paths):
                raise RuntimeError("uncached tiles: more requests than distinct tiles; add tiles")
            log(f"api: uncached tile {out['uncached_tile']}")

            # the 15 km Gale traverse
            body = {
                "dataset": TRAVERSE_DATASET,
                "start": {"type": "Point", "coordinates": list(TRAVERSE_START[::-1])},
                "goal": {"type": "Point", "coordinates": list(TRAVERSE_GOAL[::-1])},
                "max_slope_deg": 25.0,
            }
            out["traverse_straight_km"] = great_circle_m(*TRAVERSE_START, *TRAVERSE_GOAL) / 1e3
            probe = c.post("/api/v1/planning/traverse", json=body, timeout=120)
            out["traverse_status"] = probe.status_code
            if probe.status_code == 200:
                out["traverse_feature"] = probe.json()
                out["traverse"] = load(
                    f"{root}/api/v1/planning/traverse",
                    scale.heavy_clients,
                    scale.seconds,
                    lua=post_lua(body),
                )
                log(f"api: traverse {out['traverse']}")
            else:
                out["traverse_problem"] = probe.text[:300]
                log(f"api: traverse not measured: {probe.status_code} {probe.text[:200]}")
        return out
    finally:
        db.dispose_engines()
        shutil.rmtree(folder, ignore_errors=True)


def _best_ms(func: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def _gale_tile(z: int) -> tuple[int, int]:
    from marsgis.viz.tiling import tile_of

    return tile_of(*TILE_CENTRE, z)


# -------------------------------------------------------------------------------- section

#: The per-request CPU cost of the app alone before and after the speed-up of 2026-12-05
#: (a one-off measurement, kept as text: the "before" code is gone).
IN_PROCESS_NOTE = (
    "Per-request CPU of the app alone, in-process (the ASGI app called directly on a private "
    "event loop, one client, no HTTP; CPU time of 200–500 sequential requests, three "
    "alternating runs on the loaded machine, same 10,000-mission database): mission list "
    "3.9–4.9 ms before (commit 9727608: every request loaded and serialized the page) → "
    "0.83–0.92 ms after (cached body); cached tile 0.40–0.45 ms → 0.37–0.41 ms "
    "(`settings()` remembered per set of variable values; the request-context middleware "
    "decodes only the two headers it reads). The server-side gain on tiles is uvicorn's "
    "HTTP parsing (httptools) and event loop (uvloop), which the in-process figure leaves out."
)


def _route_km(feature: dict[str, Any]) -> str:
    props = feature.get("properties") or {}
    for key in ("length_m", "distance_m", "total_distance_m"):
        if isinstance(props.get(key), int | float):
            return f"{props[key] / 1e3:.1f} km route"
    return "route"


def to_section(res: dict[str, Any], row_cls: Any, section_cls: Any) -> Any:
    """The ``api`` section of docs/benchmarks.md from :func:`measure`'s results."""
    from marsgis.viz.tms import TMS_ID

    scale: Scale = res["scale"]
    ml: Load = res["missions"]
    cached: Load = res["cached_tile"]
    static: Load = res["static_tile"]
    unc: Load = res["uncached_tile"]
    ratio = cached.rps / static.rps
    z, x, y = res["tile"]
    rows = [
        row_cls(
            f"`GET /api/v1/missions` (default page: {res['missions_page']} of "
            f"{res['missions_total']:,} missions), {scale.clients} concurrent clients, "
            f"{scale.seconds} s",
            str(ml),
            "—",
            f"p99 {ml.p99_ms / MISSION_LIST_P99_MS:.2f}× the target",
            f"p99 < {MISSION_LIST_P99_MS:g} ms",
            ml.p99_ms < MISSION_LIST_P99_MS and ml.errors == 0,
        ),
        row_cls(
            f"cached tile `GET /api/v1/tiles/relief/{TMS_ID}/{z}/{x}/{y}.png` "
            f"({res['tile_bytes']:,} B) vs the same PNG from Python's `ThreadingHTTPServer`, "
            f"{scale.clients} concurrent clients, best of 2 × {scale.tile_seconds} s each",
            f"{cached.rps:.0f} req/s (p50 {cached.p50_ms:.1f} ms, p99 {cached.p99_ms:.1f} ms)"
            + cached.cpu_text()
            + (f", **{cached.errors} errors**" if cached.errors else ""),
            f"{static.rps:.0f} req/s (p50 {static.p50_ms:.1f} ms, p99 {static.p99_ms:.1f} ms)"
            + static.cpu_text(),
            f"{ratio:.2f}× its throughput",
            f"≥ {CACHED_TILE_RATIO:g}×",
            ratio >= CACHED_TILE_RATIO and cached.errors == 0 and res["tile_bytes_equal"],
        ),
        row_cls(
            f"uncached tiles (a distinct zoom-{TILE_ZOOM} relief tile per request, around "
            f"Curiosity), {scale.heavy_clients} concurrent clients, {scale.seconds} s",
            str(unc),
            "—",
            f"p99 {unc.p99_ms / UNCACHED_TILE_P99_MS:.2f}× the target",
            f"p99 < {UNCACHED_TILE_P99_MS:g} ms",
            unc.p99_ms < UNCACHED_TILE_P99_MS and unc.errors == 0,
        ),
    ]
    what = (
        f"`POST /api/v1/planning/traverse` on `{TRAVERSE_DATASET}`, Bradbury Landing → "
        f"{TRAVERSE_GOAL[0]}, {TRAVERSE_GOAL[1]} ({res['traverse_straight_km']:.1f} km straight"
    )
    if "traverse" in res:
        tr: Load = res["traverse"]
        rows.append(
            row_cls(
                f"{what}, {_route_km(res['traverse_feature'])}), {scale.heavy_clients} "
                f"concurrent clients, {scale.seconds} s",
                str(tr),
                "—",
                "—",
                "—",
                None if tr.errors == 0 else False,
            )
        )
    else:
        rows.append(
            row_cls(
                f"{what}): not measured, the route answered {res['traverse_status']}",
                "—",
                "—",
                "—",
                "—",
                None,
            )
        )
    notes = [
        "Figures from a shared 2-CPU machine: the load generator (`wrk`, "
        f"{scale.threads} threads), the API server and other people's work share both CPUs, "
        "so these are lower bounds of what the API does on a machine of its own.",
        "Server: one `marsgis serve` process (uvicorn with uvloop and httptools, one worker, its "
        "JSON access log on) over a "
        f"fresh SpatiaLite file with {res['missions_total']:,} missions (seeded through "
        f"`db.add_mission` in one transaction in {res['seed_s']:.1f} s, not timed) and an empty "
        "tile cache; an admin token from `marsgis.db.tokens.create_token` on every request.",
        "Load: Debian's `wrk` 4.1 for a fixed number of seconds per row, keep-alive "
        "connections on loopback; p50/p99 are wrk's latency percentiles; errors (HTTP ≥ 400, "
        "socket errors, timeouts) fail a row.",
        "Static reference: Python's `http.server.ThreadingHTTPServer` (HTTP/1.1 keep-alive, "
        "request log off) serving the PNG the API returned, byte for byte "
        f"({'equal' if res['tile_bytes_equal'] else '**not equal**'}); the cached and static "
        "runs alternate. The cached API tile comes from the server's in-memory tile cache (the "
        "disk cache behind it), with the token check, `ETag` and access log of every API "
        "response.",
        f"Uncached tiles: {res['uncached_paths']} distinct tiles ready, each requested once, "
        "rendered from the shipped DEMs (the 1 m Gale DEM where it covers the tile).",
        "wrk sees only the requests that finish within a run: where a request takes about "
        "as long as the run (mission list), p99 is a lower bound.",
        "Where the time goes, measured in the benchmark's process on the same database: the "
        "list route asks the store for one page (`db.page_missions`: count, filters, "
        f"`ORDER BY created_at, id LIMIT/OFFSET` in SQL; {res['page_missions_ms']:.1f} ms, best "
        f"of 20), where loading every mission (`db.list_missions`) takes "
        f"{res['list_missions_ms']:.0f} ms (best of 3). A token is checked in the database "
        f"(`tokens.authenticate`: {res['authenticate_ms']:.2f} ms, best of 50) once per "
        "5 s per process, then from the in-process token cache "
        f"(`tokens.TokenCache`: {res['cached_authenticate_ms'] * 1e3:.0f} µs); the tile `ETag` "
        "is the tile's cache key, not a hash of its bytes. The list's JSON body is cached "
        "(`marsgis.memo`) under the event-log position of the mission topics, so a repeated "
        "page costs one indexed position lookup and a memory read, both on the event loop "
        "(`memo.peek`; the thread pool only on a miss); any mission, plan or task change "
        "moves the position (never stale, docs/cache.md).",
        "Server CPU per request: the server process's CPU time (user + system, psutil) during "
        "a run divided by the requests it served, for the API and for the static server alike; "
        "it hardly depends on the machine's load, unlike the latencies. " + IN_PROCESS_NOTE,
    ]
    return section_cls("Service API under load (`marsgis serve`, loopback)", rows, notes)


def register(benchmark: Callable[[str], Any], row_cls: Any, section_cls: Any) -> None:
    """Register the ``api`` section with ``benchmarks/run.py``."""

    @benchmark("api")
    def api(ctx: Any) -> Any:
        return to_section(measure(Path(ctx.tmp), FULL), row_cls, section_cls)
