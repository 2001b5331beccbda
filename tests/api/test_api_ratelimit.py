"""The per-principal rate limit: ``429`` + ``Retry-After`` from a token bucket per caller.

Time is a controllable clock injected into the limiter (no sleeps). The expected waits are the
token-bucket arithmetic written out: after ``N`` requests of an ``N/period`` bucket it is empty
and refills at ``N/period`` tokens a second, so the next token is ``period/N`` seconds away.
The Redis store runs against the real Redis on 127.0.0.1:6379 under a key prefix of its own,
deleted afterwards.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from api_service import Service

from marsgis.api import create_app
from marsgis.api.problems import PROBLEM_JSON
from marsgis.api.ratelimit import MemoryRateLimiter, RedisRateLimiter, rate_limiter
from marsgis.config import Rate
from marsgis.exceptions import ConfigurationError

REDIS_URL = "redis://127.0.0.1:6379/0"
DATASETS = "/api/v1/mars-data/datasets"
N = 3
PERIOD_S = 60.0


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"marsgis-test-ratelimit-{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def _limited(service: Service, limiter: object) -> Service:
    return Service(
        url=service.url, app=create_app(service.url, rate_limit=limiter), tokens=service.tokens
    )


def _check_429(response: httpx.Response, wait_s: float) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == str(math.ceil(wait_s))
    body = response.json()
    assert body["status"] == 429 and body["title"] == "Too Many Requests"
    assert body["trace_id"] == response.headers["x-request-id"]


def _exercise(api: Service, clock: Clock) -> None:
    """N requests pass, the next is 429; others unaffected; after the window it passes."""
    for _ in range(N):
        assert api.call("GET", DATASETS, role="viewer").status_code == 200
    _check_429(api.call("GET", DATASETS, role="viewer"), PERIOD_S / N)
    # another principal has its own bucket
    for _ in range(N):
        assert api.call("GET", DATASETS, role="scientist").status_code == 200
    # unauthenticated requests: their own bucket per client address, charged before the 401
    for _ in range(N):
        assert api.call("GET", DATASETS).status_code == 401
    _check_429(api.call("GET", DATASETS), PERIOD_S / N)
    # health is never limited
    assert api.call("GET", "/api/v1/health").status_code == 200
    # a third of the window later one token is back, and only one
    clock.now += PERIOD_S / N
    assert api.call("GET", DATASETS, role="viewer").status_code == 200
    _check_429(api.call("GET", DATASETS, role="viewer"), PERIOD_S / N)
    # after a whole window the full burst is back
    clock.now += PERIOD_S
    for _ in range(N):
        assert api.call("GET", DATASETS, role="viewer").status_code == 200
    _check_429(api.call("GET", DATASETS, role="viewer"), PERIOD_S / N)


def test_rate_limit_in_memory(service: Service) -> None:
    clock = Clock()
    api = _limited(service, MemoryRateLimiter(Rate(N, PERIOD_S), clock=clock))
    _exercise(api, clock)


def test_rate_limit_in_redis_is_shared_by_replicas(service: Service, redis_prefix: str) -> None:
    clock = Clock()
    rate = Rate(N, PERIOD_S)
    api = _limited(service, RedisRateLimiter(rate, REDIS_URL, prefix=redis_prefix, clock=clock))
    _exercise(api, clock)
    # two replicas (two apps, two limiters) share the buckets: the viewer is still out of tokens
    other = _limited(service, RedisRateLimiter(rate, REDIS_URL, prefix=redis_prefix, clock=clock))
    _check_429(other.call("GET", DATASETS, role="viewer"), PERIOD_S / N)
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}*")
    assert sorted(k.decode() for k in keys) == sorted(
        f"{redis_prefix}{k}" for k in ("user:viewer-user", "user:scientist-user", "addr:127.0.0.1")
    )


def test_redis_limiter_on_the_server_clock(redis_prefix: str) -> None:
    limiter = RedisRateLimiter(Rate(2, 3600.0), REDIS_URL, prefix=redis_prefix)
    assert [limiter.acquire("user:ada"), limiter.acquire("user:ada")] == [0.0, 0.0]
    wait = limiter.acquire("user:ada")
    assert 0.0 < wait <= 1800.0  # 3600 s / 2 tokens, less the time the three calls took
    assert limiter.acquire("user:bob") == 0.0


def test_rate_limit_from_the_environment(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_API_RATE_LIMIT", "2/hour")
    api = Service(url=service.url, app=create_app(service.url), tokens=service.tokens)
    assert [api.call("GET", DATASETS, role="operator").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    monkeypatch.setenv("MARSGIS_API_RATE_LIMIT", "off")
    assert rate_limiter() is None
    monkeypatch.setenv("MARSGIS_API_RATE_LIMIT", "many/minute")
    with pytest.raises(ConfigurationError, match="MARSGIS_API_RATE_LIMIT='many/minute'"):
        create_app(service.url)
    monkeypatch.setenv("MARSGIS_API_RATE_LIMIT", "5/minute")
    monkeypatch.setenv("MARSGIS_REDIS_URL", REDIS_URL)
    chosen = rate_limiter()
    assert isinstance(chosen, RedisRateLimiter) and chosen.rate == Rate(5, 60.0)


def test_openapi_documents_429_on_every_authenticated_operation(service: Service) -> None:
    document = service.call("GET", "/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            has_429 = "429" in operation["responses"]
            assert has_429 == bool(operation.get("security")), (method, path)
    assert "429" not in document["paths"]["/api/v1/health"]["get"]["responses"]
