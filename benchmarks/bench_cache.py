"""``cache``: what the caches save on the API's cached reads: map tiles (the tile server's
memory and disk tiers) and the result cache (:mod:`marsgis.memo`).

Requests go through the real app in process (FastAPI ``TestClient``: routing, auth, JSON), over
a SpatiaLite store, with the cache in three set-ups: none (every request computes), the
in-process LRU, and Redis only (the LRU turned off, so every hit is a Redis round trip). A
replayed dashboard visit then sends a fixed sequence of profile, statistics and plan requests
alternately to two "replicas" (two stores), with and without a shared Redis.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REDIS_URL = os.environ.get("MARSGIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PROFILE = {
    "line": {
        "type": "LineString",
        "coordinates": [[137.20, -4.90], [137.45, -4.60], [137.60, -4.40]],
    },
    "samples": 1000,
}


def _median_ms(func: Callable[[], Any], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def measure_tiles(tmp: Path, client: Any, headers: dict[str, str], n: int) -> dict[str, Any]:
    """``GET /api/v1/tiles/relief/...`` medians: a miss (a tile never drawn: render, PNG,
    write), a hit from the tile server's memory tier, and a hit from its disk tier alone.

    The tile cache goes to a folder of the run (``MARSGIS_CACHE_DIR``), so the user's is
    neither read nor written.
    """
    from bench_api import uncached_tile_paths

    from marsgis.viz import tiles

    previous = os.environ.get("MARSGIS_CACHE_DIR")
    os.environ["MARSGIS_CACHE_DIR"] = str(tmp / "tile-cache")
    try:
        paths = iter(uncached_tile_paths(n + 1))

        def get(path: str) -> bytes:
            r = client.get(path, headers=headers)
            assert r.status_code == 200, r.text
            return bytes(r.content)

        hit_path = next(paths)
        first = get(hit_path)  # warm: DEMs opened, renderer loaded; this tile is now cached
        miss = _median_ms(lambda: get(next(paths)), n)
        memory = _median_ms(lambda: get(hit_path), n)

        def from_disk() -> None:
            tiles._MEMORY.clear()
            get(hit_path)

        disk = _median_ms(from_disk, n)
        same = get(hit_path) == first == tiles.tile_png(*_zxy(hit_path), cache=False)
    finally:
        if previous is None:
            os.environ.pop("MARSGIS_CACHE_DIR", None)
        else:
            os.environ["MARSGIS_CACHE_DIR"] = previous
        tiles._MEMORY.clear()
    return {
        "tile_none": miss,
        "tile_memory": memory,
        "tile_disk": disk,
        "tile_same": same,
        "tile_bytes": len(first),
        "tile_path": hit_path,
    }


def _zxy(path: str) -> tuple[int, int, int]:
    z, x, y = path.removesuffix(".png").rsplit("/", 3)[1:]
    return int(z), int(x), int(y)


def measure(tmp: Path, n: int = 30) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from shapely.geometry import LineString, box, mapping

    from marsgis import db, memo
    from marsgis.api import create_app
    from marsgis.db import tokens

    url = f"sqlite:///{tmp / 'bench-cache.sqlite'}"
    (tmp / "bench-cache.sqlite").touch()
    db.upgrade(url)
    token = tokens.create_token("bench", "viewer", db=url)[1]
    client = TestClient(create_app(url, rate_limit="off"))
    headers = {"Authorization": f"Bearer {token}"}
    rng = np.random.default_rng(13)

    missions = []
    for k in range(4):
        m = db.add_mission(f"Site {k}", lat=-4.6 + 0.01 * k, lon=137.4, db=url)
        for t in range(6):
            db.add_task(m.id, f"Task {t}", db=url)
        for leg in range(3):
            lons = 137.3 + np.cumsum(rng.uniform(0, 2e-4, 400))
            lats = -4.7 + np.cumsum(rng.uniform(0, 2e-4, 400))
            db.add_artefact(
                m.id, "traverse", f"leg {leg}", LineString(zip(lons, lats, strict=True)), db=url
            )
        missions.append(m.id)

    def profile(body: dict[str, Any] = PROFILE) -> None:
        r = client.post("/api/v1/mars-data/terrain/gale-mola/profile", json=body, headers=headers)
        assert r.status_code == 200, r.text

    def stats(polygon: Any) -> None:
        body = {"polygon": mapping(polygon), "product": "slope"}
        r = client.post("/api/v1/mars-data/terrain/gale-mola/stats", json=body, headers=headers)
        assert r.status_code == 200, r.text

    def plan(mission_id: str) -> None:
        r = client.get(f"/api/v1/missions/{mission_id}/plan", headers=headers)
        assert r.status_code == 200, r.text

    prefix = f"marsgis-bench:{uuid.uuid4().hex}:"
    setups = {
        "none": lambda: memo.Memo(max_bytes=0),
        "memory": memo.Memo,
        "redis": lambda: memo.Memo(max_bytes=0, redis_url=REDIS_URL, prefix=prefix),
    }
    res: dict[str, Any] = {"n": n}
    res.update(measure_tiles(tmp, client, headers, n))
    previous = memo.set_memo(None)
    try:
        for name, make in setups.items():
            store = make()
            memo.set_memo(store)
            profile()  # warm (a hit from here on, where there is a cache)
            plan(missions[0])
            res[f"profile_{name}"] = _median_ms(profile, n)
            res[f"plan_{name}"] = _median_ms(lambda: plan(missions[0]), n)
            store.purge_redis()
            store.close()
        # a replayed dashboard visit: Zipf-like choice among 12 profiles, 6 polygons, 4 plans;
        # one task added half way (the plans' log position moves)
        lines = [
            {
                "line": {
                    "type": "LineString",
                    "coordinates": [
                        [float(137.2 + rng.uniform(0, 0.3)), float(-4.9 + rng.uniform(0, 0.4))]
                        for _ in range(3)
                    ],
                },
                "samples": 500,
            }
            for _ in range(12)
        ]
        boxes = [
            box(x, y, x + 0.08, y + 0.08)
            for x, y in zip(rng.uniform(137.2, 137.45, 6), rng.uniform(-4.9, -4.5, 6), strict=True)
        ]
        calls: list[Callable[[], None]] = []
        weights = 1.0 / np.arange(1, 23)
        picks = rng.choice(22, size=240, p=weights / weights.sum())
        for k in picks:
            if k < 12:
                calls.append(lambda k=k: profile(lines[k]))
            elif k < 18:
                calls.append(lambda k=k: stats(boxes[k - 12]))
            else:
                calls.append(lambda k=k: plan(missions[k - 18]))
        res["replay_requests"] = len(calls)
        res["replay_distinct"] = len(set(picks.tolist()))
        for name, redis_url in (("none", None), ("local", None), ("redis", REDIS_URL)):
            size = 0 if name == "none" else 64 << 20
            replicas = [
                memo.Memo(max_bytes=size, redis_url=redis_url, prefix=prefix) for _ in range(2)
            ]
            start = time.perf_counter()
            for i, call in enumerate(calls):
                if i == len(calls) // 2:
                    db.add_task(missions[0], "Replanned", db=url)
                memo.set_memo(replicas[i % 2])
                call()
            res[f"replay_{name}_s"] = time.perf_counter() - start
            counted = [r.stats() for r in replicas]
            hits = sum(s.memory_hits + s.redis_hits for s in counted)
            total = hits + sum(s.misses for s in counted)
            res[f"replay_{name}_ratio"] = hits / total
            res[f"replay_{name}_redis_hits"] = sum(s.redis_hits for s in counted)
            replicas[0].purge_redis()
            for r in replicas:
                r.close()
    finally:
        memo.set_memo(previous)
        client.close()
        db.dispose_engines()
    return res


def to_section(res: dict[str, Any], row_cls: Any, section_cls: Any) -> Any:
    def faster(miss: float, hit: float) -> str:
        return f"{miss / hit:.1f}× faster"

    rows = []
    tile_miss = res["tile_none"]
    for tier, label in (("memory", "in-process memory"), ("disk", "disk cache only")):
        hit = res[f"tile_{tier}"]
        rows.append(
            row_cls(
                f"map tile, 256² PNG (`GET …/tiles/relief/…/13/x/y.png`): hit ({label}) vs "
                "miss (a tile never drawn), median",
                f"{hit:.2f} ms",
                f"{tile_miss:.2f} ms",
                faster(tile_miss, hit),
                "≥ 5× faster, same bytes",
                tile_miss / hit >= 5.0 and res["tile_same"],
            )
        )
    for what, key, target in (
        ("terrain profile, 1000 samples (`POST …/terrain/gale-mola/profile`)", "profile", 5.0),
        (
            "mission plan, 6 tasks + 3 × 400-vertex traverses (`GET …/missions/{id}/plan`)",
            "plan",
            2.0,
        ),
    ):
        miss = res[f"{key}_none"]
        for tier in ("memory", "redis"):
            hit = res[f"{key}_{tier}"]
            rows.append(
                row_cls(
                    f"{what}: hit ({'in-process LRU' if tier == 'memory' else 'Redis only'}) "
                    "vs miss (no cache), median",
                    f"{hit:.2f} ms",
                    f"{miss:.2f} ms",
                    faster(miss, hit),
                    f"≥ {target:.0f}× faster",
                    miss / hit >= target,
                )
            )
    base = res["replay_none_s"]
    for name, label in (("local", "LRU per replica, no Redis"), ("redis", "LRU + shared Redis")):
        rows.append(
            row_cls(
                f"replayed dashboard visit ({res['replay_requests']} requests, "
                f"{res['replay_distinct']} distinct, 2 replicas): {label} — hit ratio, wall time",
                f"{res[f'replay_{name}_ratio']:.0%}, {res[f'replay_{name}_s']:.2f} s",
                f"no cache: {base:.2f} s",
                faster(base, res[f"replay_{name}_s"]),
                "—",
                None,
            )
        )
    notes = [
        "Tiles are cached by the tile server itself (`marsgis.viz.tiles`: the most recent "
        "tiles' bytes in memory, every tile on disk under the cache dir, keyed by renderer "
        "version, DEM digest and z/x/y), not by `marsgis.memo`. Miss: each request a distinct "
        "zoom-13 relief tile around Curiosity never drawn before (render from the shipped DEMs, "
        f"encode the PNG, write it atomically); hit: one tile ({res['tile_bytes']:,} bytes) "
        "again, from memory, or from disk with the memory tier cleared before each request. "
        "The cached bytes equal a fresh render "
        f"({'checked' if res['tile_same'] else '**they differ**'}). Both hits are at the "
        "request's own floor (routing, token check), so their order is noise.",
        f"Medians of {res['n']} requests each through the real app in process (FastAPI "
        "TestClient: routing, token check, JSON), SpatiaLite store, one worker thread. 'Miss' is "
        "the cache switched off (`Memo(max_bytes=0)`, no Redis): open the DEM, compute, "
        "serialise. A hit returns the stored response bytes (no decode); 'Redis only' turns "
        "the in-process tier off, so each hit is a round trip to the local Redis. A hit's "
        "floor is the request itself (routing, token check: about 5 ms here).",
        "A plan hit still reads the log position of the plan topics (one indexed query, "
        "`events.log_position`) — that query is what makes a cached plan never stale.",
        f"Replay: {res['replay_requests']} requests drawn (seeded, Zipf-like) from 12 profiles "
        "(500 samples), 6 slope-statistics boxes and 4 plans, sent alternately to two replicas "
        "(two stores); a task is added to one mission half way, which moves the plans' log "
        f"position (all cached plans are dropped). Redis hits in the shared run: "
        f"{res['replay_redis_redis_hits']} (answers one replica computed for the other).",
    ]
    return section_cls(
        "Caches: hit vs miss (map tiles, `marsgis.memo`), replayed visit", rows, notes
    )


def register(benchmark: Callable[[str], Any], row_cls: Any, section_cls: Any) -> None:
    """Register the ``cache`` section with ``benchmarks/run.py``."""

    @benchmark("cache")
    def cache(ctx: Any) -> Any:
        return to_section(measure(Path(ctx.tmp)), row_cls, section_cls)
