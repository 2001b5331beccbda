"""Results remembered by content: an in-process LRU, then Redis (``MARSGIS_REDIS_URL``), then compute.

:func:`cached` returns ``compute()``'s value for a key made of what the value depends on — a
dataset's content hash, the parameters, the code version — looking first in a byte-bounded
in-process LRU, then (when a Redis URL is configured) in Redis, and only then computing it and
storing it in both. See ``docs/cache.md``.

* **Keys.** ``PREFIX + namespace + ":" + sha256(canonical JSON of [marsgis version, key
  parts])``. Two calls with equal key parts share one entry, in this process and in every
  process using the same Redis and prefix. Put everything the value depends on in the key:
  a key that names the content (a dataset's sha256, a log position) is never stale.
* **Generations.** ``generation=N`` (an event-log position, say) files the entry under that
  generation: once a call names a newer generation of a namespace, the entries of older ones
  are dropped from memory and their Redis hash is deleted (they could no longer be asked for).
* **Values**: JSON data (dict, list, str, int, float, bool, None), ``bytes`` or a numpy array,
  stored as bytes — JSON text, raw bytes, or ``.npy`` read with ``allow_pickle=False``. Nothing
  read from Redis is ever unpickled. Every hit returns a fresh copy.
* **Redis down** (refused, timeout, any Redis error) is slower, never wrong: the call goes on
  to compute, one warning is logged, and Redis is left alone for ``retry_after`` seconds (a
  circuit breaker) before it is tried again. Entries Redis loses (flush, eviction) are
  recomputed.

Examples
--------
>>> store = Memo(max_bytes=1 << 20)
>>> calls = []
>>> def area():
...     calls.append(1)
...     return {"km2": 154.0}
>>> store.cached("doc-example", ["gale", 1], area)
{'km2': 154.0}
>>> store.cached("doc-example", ["gale", 1], area)
{'km2': 154.0}
>>> len(calls), store.stats().memory_hits
(1, 1)
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from marsgis.exceptions import ValidationError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_PREFIX",
    "DEFAULT_TTL_S",
    "Memo",
    "MemoStats",
    "cached",
    "decode",
    "encode",
    "get_memo",
    "invalidate",
    "key_digest",
    "peek",
    "set_memo",
]

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Bytes the in-process tier keeps by default (``MARSGIS_MEMO_MB``).
DEFAULT_MAX_BYTES = 64 << 20
#: Prefix of every Redis key by default (``MARSGIS_MEMO_PREFIX``).
DEFAULT_PREFIX = "marsgis:memo:"
#: How long an entry lives by default, seconds (in both tiers).
DEFAULT_TTL_S = 24 * 3600.0
_NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_JSON, _BYTES, _NPY = b"J", b"B", b"N"


def _code_version() -> str:
    import marsgis

    return str(marsgis.__version__)


def key_digest(key_parts: Sequence[Any]) -> str:
    """The hex sha256 naming ``key_parts`` (JSON-able values) with the marsgis version.

    >>> key_digest(["gale-1m", 200]) == key_digest(("gale-1m", 200))
    True
    >>> key_digest(["gale-1m", 200]) == key_digest(["gale-1m", 201])
    False
    """
    try:
        text = json.dumps(
            [_code_version(), list(key_parts)],
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"cache key parts {key_parts!r} are not JSON data ({exc}); give strings, numbers, "
            "booleans, None and lists/dicts of them (a dataset's sha256, not the array)"
        ) from None
    return hashlib.sha256(text.encode()).hexdigest()


def encode(value: Any) -> bytes:
    """``value`` as stored bytes: a one-byte tag, then JSON text, raw bytes or ``.npy``.

    >>> decode(encode({"a": [1, 2.5, None]}))
    {'a': [1, 2.5, None]}
    >>> decode(encode(np.arange(3))).tolist()
    [0, 1, 2]
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _BYTES + bytes(value)
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ValidationError(
                f"an array of dtype {value.dtype} cannot be cached; give a numeric array"
            )
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return _NPY + buf.getvalue()
    try:
        return _JSON + json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"a {type(value).__name__} cannot be cached ({exc}); return JSON data (with None "
            "for missing numbers), bytes or a numpy array"
        ) from None


def decode(blob: bytes) -> Any:
    """The value :func:`encode` stored (never unpickles)."""
    tag, body = blob[:1], blob[1:]
    if tag == _JSON:
        return json.loads(body)
    if tag == _BYTES:
        return body
    if tag == _NPY:
        return np.load(io.BytesIO(body), allow_pickle=False)
    raise ValueError(f"not a cached value (tag {tag!r})")


@dataclass(frozen=True)
class MemoStats:
    """Counts since the store was made (or :meth:`Memo.reset_stats`)."""

    memory_hits: int
    redis_hits: int
    misses: int
    redis_errors: int
    entries: int
    memory_bytes: int
    redis_up: bool | None  # None: no Redis configured

    @property
    def hit_ratio(self) -> float:
        """Hits (either tier) over lookups; 0.0 before any."""
        total = self.memory_hits + self.redis_hits + self.misses
        return (self.memory_hits + self.redis_hits) / total if total else 0.0


@dataclass
class _Entry:
    blob: bytes
    expires: float
    namespace: str
    generation: int | None


class Memo:
    """A two-tier store: a byte-bounded LRU in this process, then Redis (optional).

    Parameters
    ----------
    max_bytes
        Most bytes of encoded values the in-process tier holds (0: no in-process tier).
    redis_url
        ``redis://HOST:PORT/DB``; None for no Redis tier.
    prefix
        Prefix of this store's Redis keys (tests use their own and delete them).
    ttl
        Default lifetime of an entry, seconds.
    redis_timeout
        Connect and read timeout of each Redis call, seconds.
    retry_after
        Seconds Redis is left alone after a failure before it is tried again.
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        redis_url: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = DEFAULT_TTL_S,
        redis_timeout: float = 0.25,
        retry_after: float = 5.0,
    ) -> None:
        if max_bytes < 0 or ttl <= 0 or redis_timeout <= 0 or retry_after < 0:
            raise ValidationError(
                f"Memo(max_bytes={max_bytes!r}, ttl={ttl!r}, redis_timeout={redis_timeout!r}, "
                f"retry_after={retry_after!r}): give max_bytes >= 0, ttl > 0, "
                "redis_timeout > 0 and retry_after >= 0"
            )
        self.max_bytes = int(max_bytes)
        self.prefix = prefix
        self.ttl = float(ttl)
        self.retry_after = float(retry_after)
        self.redis_url = redis_url
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._generations: dict[str, int] = {}
        self._counts = {"memory": 0, "redis": 0, "miss": 0, "error": 0}
        self._down_until = 0.0
        self._down = False
        self._client: Any = None
        if redis_url:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._client = redis.Redis.from_url(
                redis_url,
                socket_timeout=redis_timeout,
                socket_connect_timeout=redis_timeout,
                retry=Retry(NoBackoff(), 0),
            )

    # ------------------------------------------------------------------ the one entry point

    def cached(
        self,
        namespace: str,
        key_parts: Sequence[Any],
        compute: Callable[[], T],
        *,
        ttl: float | None = None,
        generation: int | None = None,
    ) -> T:
        """``compute()``'s value for ``key_parts``, from memory, Redis, or computed and stored.

        Parameters
        ----------
        namespace
            What is cached (``terrain-profile``): lower-case letters, digits, ``-_.``.
        key_parts
            Everything the value depends on, as JSON data.
        compute
            Makes the value (JSON data, bytes or a numpy array) on a miss; what it raises
            propagates and nothing is stored.
        ttl
            Lifetime of a new entry, seconds (default the store's).
        generation
            Files the entry under this generation of the namespace (see the module notes).
        """
        digest, key = self._memory_key(namespace, key_parts, generation)
        if generation is not None:
            current = self._advance(namespace, generation)
            if generation < current:  # an old read: answer it, store nothing
                with self._lock:
                    self._counts["miss"] += 1
                return compute()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires > now:
                self._entries.move_to_end(key)
                self._counts["memory"] += 1
                return decode(entry.blob)  # type: ignore[no-any-return]
        blob = self._redis_get(namespace, digest, generation)
        if blob is not None:
            try:
                value = decode(blob)
            except ValueError:
                log.warning("ignored an unreadable cache entry %s in Redis", key)
            else:
                with self._lock:
                    self._counts["redis"] += 1
                self._remember(key, blob, now + (ttl or self.ttl), namespace, generation)
                return value  # type: ignore[no-any-return]
        with self._lock:
            self._counts["miss"] += 1
        value = compute()
        blob = encode(value)
        lifetime = float(ttl or self.ttl)
        self._remember(key, blob, now + lifetime, namespace, generation)
        self._redis_set(namespace, digest, generation, blob, lifetime)
        return value

    def peek(
        self, namespace: str, key_parts: Sequence[Any], *, generation: int | None = None
    ) -> Any | None:
        """The value :meth:`cached` holds in memory for ``key_parts``; None when it has none.

        Looks at the in-process tier only (no Redis, nothing computed), so it is cheap enough
        for an event loop: serve a hit there and call :meth:`cached` in a thread otherwise.
        A hit counts as a memory hit; an entry of an older ``generation`` is never returned.
        """
        _, key = self._memory_key(namespace, key_parts, generation)
        now = time.monotonic()
        with self._lock:
            if generation is not None and generation < self._generations.get(namespace, 0):
                return None
            entry = self._entries.get(key)
            if entry is None or entry.expires <= now:
                return None
            self._entries.move_to_end(key)
            self._counts["memory"] += 1
            blob = entry.blob
        return decode(blob)

    def _memory_key(
        self, namespace: str, key_parts: Sequence[Any], generation: int | None
    ) -> tuple[str, str]:
        """``(digest, in-process key)`` of an entry: the one place keys are built."""
        self._check_namespace(namespace)
        digest = key_digest(key_parts)
        if generation is None:
            return digest, f"{namespace}:{digest}"
        return digest, f"{namespace}:g{generation}:{digest}"

    # ------------------------------------------------------------------ management

    def invalidate(self, namespace: str) -> None:
        """Drop every entry of ``namespace``, here and in Redis."""
        self._check_namespace(namespace)
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.namespace == namespace]:
                self._drop(key)
        self._redis_call(lambda r: _delete_matching(r, f"{self.prefix}{namespace}:*"))

    def purge_redis(self) -> None:
        """Delete every Redis key under this store's prefix (tests, and a manual reset)."""
        self._redis_call(lambda r: _delete_matching(r, f"{self.prefix}*"))

    def clear_memory(self) -> None:
        """Empty the in-process tier (Redis keeps its entries)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def reset_stats(self) -> None:
        """Zero the hit, miss and error counts."""
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)

    def stats(self) -> MemoStats:
        """Hits per tier, misses, Redis errors, and the in-process tier's size."""
        with self._lock:
            return MemoStats(
                memory_hits=self._counts["memory"],
                redis_hits=self._counts["redis"],
                misses=self._counts["miss"],
                redis_errors=self._counts["error"],
                entries=len(self._entries),
                memory_bytes=self._bytes,
                redis_up=None if self._client is None else not self._down,
            )

    def close(self) -> None:
        """Close the Redis connections (the store stays usable, reconnecting on demand)."""
        if self._client is not None:
            self._client.close()

    def __repr__(self) -> str:
        redis = "no Redis" if self._client is None else f"Redis prefix {self.prefix!r}"
        return f"Memo({self.max_bytes} bytes in process, {redis})"

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _check_namespace(namespace: str) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise ValidationError(
                f"cache namespace {namespace!r} is not valid: use 1 to 64 lower-case letters, "
                "digits, '-', '_' or '.', e.g. terrain-profile"
            )

    def _advance(self, namespace: str, generation: int) -> int:
        """Record ``generation``; on a newer one, drop the older generations' entries."""
        with self._lock:
            old = self._generations.get(namespace)
            if old is not None and generation <= old:
                return old
            self._generations[namespace] = generation
            if old is not None:
                for key in [
                    k
                    for k, e in self._entries.items()
                    if e.namespace == namespace and e.generation is not None
                ]:
                    if (self._entries[key].generation or 0) < generation:
                        self._drop(key)
        if old is not None:
            self._redis_call(lambda r: r.delete(self._redis_key(namespace, old)))
        return generation

    def _remember(
        self, key: str, blob: bytes, expires: float, namespace: str, generation: int | None
    ) -> None:
        if len(blob) > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(blob, expires, namespace, generation)
            self._bytes += len(blob)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.blob)

    def _redis_key(self, namespace: str, generation: int | None, digest: str = "") -> str:
        if generation is None:
            return f"{self.prefix}{namespace}:{digest}"
        return f"{self.prefix}{namespace}:g{generation}"  # a hash, one field per digest

    def _redis_get(self, namespace: str, digest: str, generation: int | None) -> bytes | None:
        key = self._redis_key(namespace, generation, digest)
        if generation is None:
            found = self._redis_call(lambda r: r.get(key))
        else:
            found = self._redis_call(lambda r: r.hget(key, digest))
        return found if isinstance(found, bytes) else None

    def _redis_set(
        self, namespace: str, digest: str, generation: int | None, blob: bytes, ttl: float
    ) -> None:
        key = self._redis_key(namespace, generation, digest)
        ms = max(1, int(ttl * 1000))
        if generation is None:
            self._redis_call(lambda r: r.set(key, blob, px=ms))
        else:
            self._redis_call(
                lambda r: r.pipeline().hset(key, digest, blob).pexpire(key, ms).execute()
            )

    def _redis_call(self, call: Callable[[Any], Any]) -> Any:
        """``call(client)``, or None when there is no Redis, it is resting, or it fails."""
        if self._client is None or time.monotonic() < self._down_until:
            return None
        import redis

        try:
            answer = call(self._client)
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self._counts["error"] += 1
                self._down_until = time.monotonic() + self.retry_after
                first = not self._down
                self._down = True
            if first:
                log.warning(
                    "cache: Redis at %s failed (%s); computing instead, retrying in %.0f s",
                    _safe_url(self.redis_url),
                    exc,
                    self.retry_after,
                )
            return None
        if self._down:
            self._down = False
            log.warning("cache: Redis at %s is back", _safe_url(self.redis_url))
        return answer


def _delete_matching(client: Any, pattern: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=500):
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def _safe_url(url: str | None) -> str:
    """``url`` without a password."""
    return re.sub(r"//[^@/]*@", "//***@", url or "")


# ---------------------------------------------------------------------- the process's store

_DEFAULT: dict[str, Memo] = {}
_default_lock = threading.Lock()


def get_memo() -> Memo:
    """The process's store, made on first use from the settings.

    ``MARSGIS_REDIS_URL`` (the Redis tier, none when unset), ``MARSGIS_MEMO_PREFIX`` and
    ``MARSGIS_MEMO_MB`` (see :mod:`marsgis.config`).
    """
    with _default_lock:
        if "memo" not in _DEFAULT:
            from marsgis.config import settings

            configured = settings()
            _DEFAULT["memo"] = Memo(
                max_bytes=configured.memo_max_bytes,
                redis_url=configured.redis_url,
                prefix=configured.memo_prefix,
            )
        return _DEFAULT["memo"]


def set_memo(memo: Memo | None) -> Memo | None:
    """Use ``memo`` as the process's store; returns the one it replaces.

    None makes the next :func:`get_memo` build one from the settings again.
    """
    with _default_lock:
        previous = _DEFAULT.pop("memo", None)
        if memo is not None:
            _DEFAULT["memo"] = memo
    return previous


def cached(
    namespace: str,
    key_parts: Sequence[Any],
    compute: Callable[[], T],
    *,
    ttl: float | None = None,
    generation: int | None = None,
) -> T:
    """:meth:`Memo.cached` on this process's store (:func:`get_memo`)."""
    return get_memo().cached(namespace, key_parts, compute, ttl=ttl, generation=generation)


def peek(namespace: str, key_parts: Sequence[Any], *, generation: int | None = None) -> Any | None:
    """:meth:`Memo.peek` on this process's store (:func:`get_memo`)."""
    return get_memo().peek(namespace, key_parts, generation=generation)


def invalidate(namespace: str) -> None:
    """:meth:`Memo.invalidate` on this process's store."""
    get_memo().invalidate(namespace)
