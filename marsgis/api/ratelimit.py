"""Per-principal rate limit of the service API: a token bucket per caller.

Each caller has a bucket of ``rate.requests`` tokens that refills continuously at
``rate.requests / rate.period_s`` tokens a second; a request takes one token, and a request
that finds less than one is refused with ``429 Too Many Requests`` and ``Retry-After`` (whole
seconds until a token is back). So ``600/minute`` allows a burst of 600 requests and then 10 a
second, and a caller idle for a minute has its full burst again.

Callers are keyed by who they are, not by how they came in:

* an authenticated request by its principal's user name (``user:NAME``; all tokens of a user
  share one bucket, and a hub user is the same principal whichever of its tokens it sends);
* a request without a valid token by the client address (``addr:HOST``), charged before its
  ``401`` (so guessing tokens is limited too). Behind a proxy that address is the proxy's.

``GET /api/v1/health`` takes no token and is never limited (liveness and readiness probes).

Two stores of buckets:

* :class:`MemoryRateLimiter` (default): in this process. With several replicas (the
  Kubernetes Deployment and its HPA) each replica has its own buckets, so a caller spread
  over ``k`` replicas may get up to ``k`` times the rate.
* :class:`RedisRateLimiter`, chosen when ``MARSGIS_REDIS_URL`` is set: one bucket per caller in
  Redis, shared by every replica, updated atomically by a Lua script on Redis's own clock.

Both take a ``clock`` (seconds, monotonic), so tests move time instead of sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import FastAPI, HTTPException
from starlette.requests import HTTPConnection

from marsgis.config import Rate, parse_rate, settings

__all__ = [
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "charge",
    "document_rate_limit",
    "rate_limiter",
]

Clock = Callable[[], float]


class RateLimiter(Protocol):
    """A store of token buckets: ``acquire(key)`` takes a token of ``key``'s bucket."""

    rate: Rate

    def acquire(self, key: str) -> float:
        """0.0 if ``key`` had a token (now taken), else the seconds until it has one."""
        ...


class MemoryRateLimiter:
    """Token buckets in this process (see the module docstring).

    Parameters
    ----------
    rate
        Requests per period per key.
    clock
        Seconds on a monotonic clock (default :func:`time.monotonic`).
    max_keys
        When more keys than this are held, buckets that have refilled are dropped.

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = MemoryRateLimiter(Rate(2, 60.0), clock=lambda: now[0])
    >>> [limiter.acquire("user:ada") for _ in range(3)]
    [0.0, 0.0, 30.0]
    >>> limiter.acquire("user:bob")
    0.0
    >>> now[0] = 30.0
    >>> limiter.acquire("user:ada")
    0.0
    """

    def __init__(self, rate: Rate, *, clock: Clock = time.monotonic, max_keys: int = 100_000):
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._refill = rate.requests / rate.period_s
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """0.0 if ``key`` had a token (now taken), else the seconds until it has one."""
        capacity = float(self.rate.requests)
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - then) * self._refill)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self._refill
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self._max_keys:
                self._drop_full(now, capacity)
            return wait

    def _drop_full(self, now: float, capacity: float) -> None:
        full = [
            k
            for k, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self._refill >= capacity
        ]
        for k in full:
            del self._buckets[k]


# KEYS[1]: the bucket; ARGV: capacity, refill per second, now (seconds; "" = Redis TIME), ttl ms
_TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * refill)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / refill
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""


class RedisRateLimiter:
    """Token buckets in Redis, shared by every API replica (see the module docstring).

    Parameters
    ----------
    rate
        Requests per period per key.
    url
        ``redis://HOST:PORT/DB`` (``MARSGIS_REDIS_URL``).
    prefix
        Prefix of the bucket keys (a hash ``PREFIX + key`` each, expiring once refilled).
    clock
        Seconds to use instead of the Redis server's ``TIME`` (tests); by default every
        replica uses the server's clock, so their clocks need not agree.
    """

    def __init__(
        self,
        rate: Rate,
        url: str,
        *,
        prefix: str = "marsgis:ratelimit:",
        clock: Clock | None = None,
    ) -> None:
        import redis

        self.rate = rate
        self.prefix = prefix
        self._clock = clock
        self._client: Any = redis.Redis.from_url(url)
        self._script: Any = self._client.register_script(_TOKEN_BUCKET_LUA)
        self._refill = rate.requests / rate.period_s
        self._ttl_ms = max(1, math.ceil(rate.period_s * 1000.0))

    def acquire(self, key: str) -> float:
        """0.0 if ``key`` had a token (now taken), else the seconds until it has one."""
        now = "" if self._clock is None else repr(float(self._clock()))
        answer = self._script(
            keys=[self.prefix + key],
            args=[self.rate.requests, repr(self._refill), now, self._ttl_ms],
        )
        return float(answer)


def rate_limiter(rate: str | Rate | RateLimiter | None = None) -> RateLimiter | None:
    """The limiter for ``create_app(rate_limit=...)``.

    ``None`` reads ``MARSGIS_API_RATE_LIMIT`` (default ``600/minute``) and, when
    ``MARSGIS_REDIS_URL`` is set, keeps the buckets in that Redis; a string such as
    ``"100/minute"`` or a :class:`~marsgis.config.Rate` is that rate in the same store;
    ``"off"`` is no limit; a limiter object is used as it is.
    """
    if rate is not None and not isinstance(rate, (str, Rate)):
        return rate
    configured = settings()
    if rate is None:
        chosen = configured.api_rate_limit
    elif isinstance(rate, str):
        chosen = parse_rate(rate, name="rate_limit")
    else:
        chosen = rate
    if chosen is None:
        return None
    if configured.redis_url:
        return RedisRateLimiter(chosen, configured.redis_url)
    return MemoryRateLimiter(chosen)


def _client_key(request: HTTPConnection) -> str:
    host = request.client.host if request.client is not None else "unknown"
    return f"addr:{host}"


def charge(request: HTTPConnection, user: str | None) -> None:
    """Take a token of the caller's bucket, or refuse the request with ``429``.

    ``user`` is the authenticated principal's user name, None for a request without a valid
    token (keyed by client address instead).
    """
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    key = f"user:{user}" if user is not None else _client_key(request)
    wait = limiter.acquire(key)
    if wait > 0.0:
        seconds = max(1, math.ceil(wait))
        rate = limiter.rate
        raise HTTPException(
            429,
            detail=(
                f"rate limit of {rate.requests} requests per {rate.period_s:g} s exceeded for "
                f"{key!r}; retry after {seconds} s"
            ),
            headers={"Retry-After": str(seconds)},
        )


def document_rate_limit(app: FastAPI) -> None:
    """Document ``429`` on every operation that takes a bearer token (the limited ones)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and operation.get("security"):
                    operation.setdefault("responses", {}).setdefault("429", _TOO_MANY)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


_TOO_MANY: dict[str, Any] = {
    "description": "Too many requests from this caller; retry after `Retry-After` seconds.",
    "headers": {
        "Retry-After": {
            "description": "whole seconds until a request is allowed again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
