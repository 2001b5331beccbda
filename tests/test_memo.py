"""marsgis.memo on the real Redis at 127.0.0.1:6379 (and private ``redis-server`` processes).

Every test uses a key prefix of its own and deletes its keys afterwards: the Redis server is
shared with the other tests on the machine, so it is never flushed or stopped here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

import marsgis
from marsgis import memo, terrain
from marsgis.exceptions import ValidationError

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted at the end."""
    name = f"marsgis-test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _redis_keys(prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return list(client.scan_iter(match=f"{prefix}*"))
    finally:
        client.close()


class RedisServer:
    """A private ``redis-server`` on a free port (no persistence), to kill and restart."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server must be installed (it runs the shared Redis)"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "private redis-server did not start"
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=20)
        self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc is not None:
        server.kill()


def _gale_profile() -> dict[str, list[float]]:
    """An uncached library call: a 60-point profile across the Gale window (JSON data)."""
    frame = terrain.line_profile(
        marsgis.open_dem("gale-mola"), [-4.80, -4.55], [137.30, 137.50], samples=60
    )
    return {c: frame[c].to_numpy(dtype=float).tolist() for c in ("distance_m", "elevation_m")}


# ------------------------------------------------------------------------------ values


def test_values_round_trip_as_json_bytes_and_arrays_never_pickles() -> None:
    store = memo.Memo()
    grid = np.arange(12, dtype="f4").reshape(3, 4)
    got = store.cached("t-array", ["grid"], lambda: grid)
    again = store.cached("t-array", ["grid"], lambda: np.zeros(1))
    np.testing.assert_array_equal(again, grid)
    assert again.dtype == np.float32 and again is not got  # a fresh copy each hit
    assert store.cached("t-bytes", [1], lambda: b"\x89PNG") == b"\x89PNG"
    assert store.cached("t-bytes", [1], lambda: b"other") == b"\x89PNG"
    with pytest.raises(ValidationError, match="cannot be cached"):
        store.cached("t-bad", [1], lambda: {1, 2})
    with pytest.raises(ValidationError, match="dtype object"):
        store.cached("t-bad", [2], lambda: np.array([object()]))
    with pytest.raises(ValidationError, match="namespace"):
        store.cached("Bad Name", [1], lambda: 1)
    with pytest.raises(ValidationError, match="not JSON data"):
        store.cached("t-key", [np.zeros(2)], lambda: 1)
    # a pickle planted in Redis is refused, not loaded
    assert memo.encode({"a": 1})[:1] == b"J"
    with pytest.raises(ValueError, match="not a cached value"):
        memo.decode(b"\x80\x04K\x01.")


def test_lru_is_bounded_by_bytes_and_drops_the_least_recently_used() -> None:
    store = memo.Memo(max_bytes=3 * 1000 + 3)  # three 1000-byte values, with their tags
    for k in range(3):
        store.cached("t-lru", [k], lambda k=k: bytes([k]) * 1000)
    store.cached("t-lru", [0], lambda: b"recomputed")  # 0 is now the most recent
    store.cached("t-lru", [3], lambda: b"\x03" * 1000)  # evicts 1, the least recent
    assert store.stats().entries == 3
    assert store.stats().memory_bytes == 3 * 1001
    assert store.cached("t-lru", [0], lambda: b"recomputed") == b"\x00" * 1000
    assert store.cached("t-lru", [1], lambda: b"recomputed") == b"recomputed"


def test_hit_equals_the_uncached_library_call_in_memory_and_in_redis(prefix: str) -> None:
    reference = _gale_profile()
    calls: list[int] = []

    def compute() -> dict[str, list[float]]:
        calls.append(1)
        return _gale_profile()

    store = memo.Memo(redis_url=REDIS_URL, prefix=prefix)
    key = [marsgis.data.content_sha256("gale-mola"), [-4.80, -4.55], [137.30, 137.50], 60]
    first = store.cached("terrain-profile", key, compute)
    from_memory = store.cached("terrain-profile", key, compute)
    store.clear_memory()
    from_redis = store.cached("terrain-profile", key, compute)
    assert first == from_memory == from_redis == reference  # NaN-free: plain equality
    assert len(calls) == 1
    stats = store.stats()
    assert (stats.misses, stats.memory_hits, stats.redis_hits) == (1, 1, 1)
    assert stats.redis_up is True
    assert [k.decode() for k in _redis_keys(prefix)] == [
        f"{prefix}terrain-profile:{memo.key_digest(key)}"
    ]


def test_a_second_process_gets_the_value_from_redis(prefix: str, tmp_path: Path) -> None:
    """Two interpreters share the Redis tier: the second does not compute (side-effect file)."""
    calls = tmp_path / "computed.txt"
    script = textwrap.dedent(
        f"""
        import json, sys
        import marsgis
        from marsgis import memo, terrain

        def compute():
            with open({str(calls)!r}, "a") as f:
                f.write("computed\\n")
            frame = terrain.line_profile(
                marsgis.open_dem("gale-mola"), [-4.80, -4.55], [137.30, 137.50], samples=60
            )
            return frame["elevation_m"].to_numpy(dtype=float)

        got = memo.cached("terrain-profile", ["subprocess", 60], compute)
        json.dump({{"values": got.tolist(), "stats": memo.get_memo().stats().__dict__}}, sys.stdout)
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MARSGIS_REDIS_URL": REDIS_URL,
        "MARSGIS_MEMO_PREFIX": prefix,
    }
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(2)
    ]
    assert calls.read_text().splitlines() == ["computed"]
    assert runs[0]["stats"]["misses"] == 1 and runs[1]["stats"]["redis_hits"] == 1
    expected = _gale_profile()["elevation_m"]
    assert runs[0]["values"] == runs[1]["values"] == expected


# ------------------------------------------------------------------------------ Redis down


def test_refused_connection_computes_logs_once_and_rests(caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()  # nothing listens there: a real refused connection
    store = memo.Memo(redis_url=f"redis://127.0.0.1:{port}/0", prefix="t:", retry_after=3600)
    calls: list[int] = []

    def compute() -> list[float]:
        calls.append(1)
        return _gale_profile()["elevation_m"]

    with caplog.at_level("WARNING", logger="marsgis.memo"):
        values = [store.cached("terrain-profile", ["refused", k % 2], compute) for k in range(6)]
    expected = _gale_profile()["elevation_m"]
    assert all(v == expected for v in values)
    assert len(calls) == 2  # the memory tier still works
    stats = store.stats()
    assert stats.redis_errors == 1  # the breaker stops calling after the first failure
    assert stats.redis_up is False
    warnings = [r for r in caplog.records if r.name == "marsgis.memo"]
    assert len(warnings) == 1 and f"127.0.0.1:{port}" in warnings[0].getMessage()


def test_redis_killed_mid_test_then_back(private_redis: RedisServer) -> None:
    store = memo.Memo(redis_url=private_redis.url, prefix="t:", retry_after=0.0)
    reference = _gale_profile()
    calls: list[int] = []

    def compute() -> dict[str, list[float]]:
        calls.append(1)
        return _gale_profile()

    assert store.cached("terrain-profile", ["kill"], compute) == reference
    store.clear_memory()
    assert store.cached("terrain-profile", ["kill"], compute) == reference  # from Redis
    assert len(calls) == 1

    private_redis.kill()
    store.clear_memory()
    for _ in range(3):  # each a miss: memory emptied, Redis gone
        store.clear_memory()
        assert store.cached("terrain-profile", ["kill"], compute) == reference
    assert len(calls) == 4
    assert store.stats().redis_up is False and store.stats().redis_errors >= 1

    private_redis.start()  # same port, empty (no persistence): Redis flushed, in effect
    store.clear_memory()
    assert store.cached("terrain-profile", ["kill"], compute) == reference
    assert len(calls) == 5  # recomputed and stored again
    assert store.stats().redis_up is True
    store.clear_memory()
    assert store.cached("terrain-profile", ["kill"], compute) == reference
    assert len(calls) == 5


# ------------------------------------------------------------------------------ generations


def test_a_newer_generation_drops_the_older_ones_everywhere(prefix: str) -> None:
    store = memo.Memo(redis_url=REDIS_URL, prefix=prefix)
    assert store.cached("t-gen", ["m1"], lambda: "plan at 5", generation=5) == "plan at 5"
    assert store.cached("t-gen", ["m1"], lambda: "stale!", generation=5) == "plan at 5"
    assert _redis_keys(prefix) == [f"{prefix}t-gen:g5".encode()]
    assert store.cached("t-gen", ["m1"], lambda: "plan at 7", generation=7) == "plan at 7"
    assert store.stats().entries == 1  # generation 5 dropped from memory ...
    assert _redis_keys(prefix) == [f"{prefix}t-gen:g7".encode()]  # ... and from Redis
    # a read that began before the change (older position) is answered but not stored
    assert store.cached("t-gen", ["m1"], lambda: "plan at 5", generation=5) == "plan at 5"
    assert store.cached("t-gen", ["m1"], lambda: "stale!", generation=7) == "plan at 7"
    store.invalidate("t-gen")
    assert store.stats().entries == 0 and _redis_keys(prefix) == []


def test_peek_sees_only_memory_and_never_an_older_generation(prefix: str) -> None:
    """``peek`` (the event loop's look) answers what ``cached`` holds in memory, nothing more."""
    store = memo.Memo(redis_url=REDIS_URL, prefix=prefix)
    assert store.peek("t-peek", ["p1"], generation=3) is None  # nothing yet; nothing computed
    assert store.stats().misses == 0 and store.stats().memory_hits == 0
    body = b'{"items": [], "total": 0}'
    assert store.cached("t-peek", ["p1"], lambda: body, generation=3) == body
    assert store.peek("t-peek", ["p1"], generation=3) == body
    assert store.peek("t-peek", ["p2"], generation=3) is None  # another key
    assert store.stats().memory_hits == 1
    store.cached("t-peek", ["p1"], lambda: b"newer", generation=4)
    assert store.peek("t-peek", ["p1"], generation=3) is None  # an older position: not served
    assert store.peek("t-peek", ["p1"], generation=4) == b"newer"
    store.clear_memory()  # Redis still holds it; peek does not ask Redis
    assert store.peek("t-peek", ["p1"], generation=4) is None
    assert store.cached("t-peek", ["p1"], lambda: b"recomputed", generation=4) == b"newer"
    short = memo.Memo(prefix=prefix)
    short.cached("t-peek", ["p1"], lambda: body, ttl=0.05)
    time.sleep(0.1)
    assert short.peek("t-peek", ["p1"]) is None  # expired
