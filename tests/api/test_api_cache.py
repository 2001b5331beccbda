"""The API's cached reads: terrain profiles and statistics, mission plans (marsgis.memo).

Real Redis (127.0.0.1:6379, own key prefix, keys deleted afterwards) and a private
``redis-server`` killed mid-test. Cached answers are compared with the uncached library calls
and, for plans, with the database after each change.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from api_service import ROLES, Service
from shapely.geometry import LineString, box, mapping

import marsgis
from marsgis import db, memo, terrain
from marsgis.api import create_app
from marsgis.db import tokens

REDIS_URL = "redis://127.0.0.1:6379/0"
DATA = "/api/v1/mars-data"
MISSIONS = "/api/v1/missions"
LINE = {"type": "LineString", "coordinates": [[137.30, -4.80], [137.50, -4.55]]}
POLYGON = box(137.30, -4.75, 137.45, -4.60)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"marsgis-test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def shared_memo(prefix: str) -> Iterator[memo.Memo]:
    """The process's cache, on the real Redis with this test's prefix."""
    store = memo.Memo(redis_url=REDIS_URL, prefix=prefix)
    previous = memo.set_memo(store)
    yield store
    memo.set_memo(previous)
    store.close()


@pytest.fixture
def lite_service(spatialite_url: str) -> Service:
    """The app over a SpatiaLite store (terrain routes do not touch the database)."""
    db.upgrade(spatialite_url)
    made = {r: tokens.create_token(f"{r}-user", r, db=spatialite_url)[1] for r in ROLES}
    return Service(spatialite_url, create_app(spatialite_url, rate_limit="off"), made)


def _profile(service: Service) -> dict[str, Any]:
    r = service.call(
        "POST",
        f"{DATA}/terrain/gale-mola/profile",
        json={"line": LINE, "samples": 40},
        role="viewer",
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _stats(service: Service) -> dict[str, Any]:
    r = service.call(
        "POST",
        f"{DATA}/terrain/gale-mola/stats",
        json={"polygon": mapping(POLYGON), "product": "slope"},
        role="viewer",
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _check_profile_against_library(body: dict[str, Any]) -> None:
    lons, lats = zip(*LINE["coordinates"], strict=True)
    frame = terrain.line_profile(marsgis.open_dem("gale-mola"), list(lats), list(lons), samples=40)
    assert body["length_m"] == frame.attrs["length_m"]
    for column in ("distance_m", "lat", "lon", "elevation_m"):
        np.testing.assert_array_equal([p[column] for p in body["items"]], frame[column])


def _check_stats_against_library(body: dict[str, Any]) -> None:
    raster = terrain.terrain_product(marsgis.open_dem("gale-mola"), "slope")
    found = terrain.zonal_stats(raster, POLYGON)
    assert body["count"] == int(found["count"])
    for k in ("min", "max", "mean", "std", "p50", "p90"):
        assert body[k] == float(found[k]), k


def test_profile_and_stats_hits_equal_the_library(
    lite_service: Service, shared_memo: memo.Memo
) -> None:
    first = _profile(lite_service), _stats(lite_service)
    assert shared_memo.stats().misses == 2
    from_memory = _profile(lite_service), _stats(lite_service)
    assert shared_memo.stats().memory_hits == 2
    shared_memo.clear_memory()
    from_redis = _profile(lite_service), _stats(lite_service)
    assert shared_memo.stats().redis_hits == 2
    assert first == from_memory == from_redis
    _check_profile_against_library(from_redis[0])
    _check_stats_against_library(from_redis[1])
    # another DEM or other parameters are other entries, not the cached answer
    other = lite_service.call(
        "POST",
        f"{DATA}/terrain/gale-mola/profile",
        json={"line": LINE, "samples": 41},
        role="viewer",
    )
    assert len(other.json()["items"]) == 41
    assert shared_memo.stats().misses == 3


def _plan(service: Service, mission_id: str) -> dict[str, Any]:
    r = service.call("GET", f"{MISSIONS}/{mission_id}/plan", role="viewer")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_plan_reads_follow_every_change_across_replicas(
    service: Service, prefix: str, shared_memo: memo.Memo
) -> None:
    """Two replicas (two stores on one Redis): each change shows at once on both.

    A task added does not step the mission's version, so a key made of the version alone
    would serve a stale plan here; the key is the log position of the plan topics.
    """
    other = memo.Memo(redis_url=REDIS_URL, prefix=prefix)  # a second API replica's cache
    url = service.url
    mission = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=url)
    gale = db.add_mission("Jezero", lat=18.44, lon=77.45, db=url)  # another, unchanged

    def both() -> list[dict[str, Any]]:
        seen = []
        for store in (shared_memo, other):
            memo.set_memo(store)
            seen.append(_plan(service, mission.id))
        memo.set_memo(shared_memo)
        return seen

    def expected() -> dict[str, Any]:
        stored = db.load_plan(mission.id, db=url)
        return {
            "status": stored.mission.status,
            "tasks": [t.title for t in stored.tasks],
            "traverses": [a.name for a in stored.artefacts if a.kind == "traverse"],
        }

    def shown(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": body["mission"]["status"],
            "tasks": [t["title"] for t in body["tasks"]],
            "traverses": [f["properties"]["name"] for f in body["traverses"]["features"]],
        }

    steps = [
        lambda: None,
        lambda: db.add_task(mission.id, "Drive to Mount Sharp", db=url),
        lambda: db.set_status(mission.id, "active", expected_version=1, db=url),
        lambda: db.add_artefact(
            mission.id, "traverse", "leg 1", LineString([(137.44, -4.59), (137.45, -4.60)]), db=url
        ),
    ]
    for step in steps:
        step()
        for _ in range(2):  # the second read of each state is a hit
            seen = both()
            assert [shown(b) for b in seen] == [expected()] * 2
    assert shared_memo.stats().memory_hits >= 4 and other.stats().memory_hits >= 4
    assert shared_memo.stats().redis_hits + other.stats().redis_hits >= 1
    assert _plan(service, gale.id)["mission"]["name"] == "Jezero"
    db.delete_mission(mission.id, db=url)
    gone = service.call("GET", f"{MISSIONS}/{mission.id}/plan", role="viewer")
    assert gone.status_code == 404, gone.text
    other.close()


def _listed(service: Service, query: str) -> dict[str, Any]:
    r = service.call("GET", f"{MISSIONS}?{query}", role="viewer")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_list_pages_follow_every_change_across_replicas(
    service: Service, prefix: str, shared_memo: memo.Memo
) -> None:
    """Cached list pages equal the store's own page after every change, on two replicas.

    The page body is cached under the log position of the mission topics: each write below
    moves it, so no replica ever serves the page of before the write.
    """
    other = memo.Memo(redis_url=REDIS_URL, prefix=prefix)  # a second API replica's cache
    url = service.url
    first = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=url)
    db.add_mission("Jezero", lat=18.44, lon=77.45, mission_type="sample_return", db=url)
    queries: dict[str, dict[str, Any]] = {
        "limit=100": {},
        "limit=1&offset=1": {"limit": 1, "offset": 1},
        "status=active": {"status": "active"},
        "bbox=130,-10,140,0": {"bbox": (130.0, -10.0, 140.0, 0.0)},
    }

    def shown(body: dict[str, Any]) -> list[Any]:
        rows = [(m["id"], m["name"], m["status"], m["version"]) for m in body["items"]]
        return [body["total"], rows]

    def expected(filters: dict[str, Any]) -> list[Any]:
        found = db.page_missions(db=url, **filters)  # the store, uncached
        rows = [(m.id, m.name, m.status, m.version) for m in found.items]
        return [found.total, rows]

    steps = [
        lambda: None,
        lambda: db.update_mission(first.id, expected_version=1, name="Gale crater", db=url),
        lambda: db.set_status(first.id, "active", expected_version=2, db=url),
        lambda: db.add_mission("Olympus", lat=18.65, lon=226.2, db=url),
        lambda: db.delete_mission(first.id, db=url),
    ]
    for step in steps:
        step()
        for _ in range(2):  # the second read of each state is a hit
            for store in (shared_memo, other):
                memo.set_memo(store)
                for query, filters in queries.items():
                    assert shown(_listed(service, query)) == expected(filters), query
            memo.set_memo(shared_memo)
    assert shared_memo.stats().memory_hits >= len(steps) * len(queries)
    assert other.stats().memory_hits >= len(steps) * len(queries)
    assert shared_memo.stats().redis_hits + other.stats().redis_hits >= len(steps)
    other.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server must be installed (it runs the shared Redis)"
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)
    client.close()
    yield f"redis://127.0.0.1:{port}/0", proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=20)


def test_redis_stopped_mid_test_requests_still_correct(
    lite_service: Service, private_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, proc = private_redis
    store = memo.Memo(redis_url=url, prefix="t:", retry_after=0.0)
    previous = memo.set_memo(store)
    try:
        mission = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=lite_service.url)
        before = _profile(lite_service), _stats(lite_service), _plan(lite_service, mission.id)
        assert store.stats().redis_up is True
        proc.kill()
        proc.wait(timeout=20)
        store.clear_memory()
        during = _profile(lite_service), _stats(lite_service), _plan(lite_service, mission.id)
        assert during == before
        db.add_task(mission.id, "Image the rim", db=lite_service.url)
        changed = _plan(lite_service, mission.id)
        assert [t["title"] for t in changed["tasks"]] == ["Image the rim"]
        assert store.stats().redis_up is False and store.stats().redis_errors >= 1
        _check_profile_against_library(during[0])
        _check_stats_against_library(during[1])
    finally:
        memo.set_memo(previous)
        store.close()
