"""Bearer tokens of the standalone service API: thin functions over ``api_tokens`` (0006).

A token is a random secret shown once, when it is created; the table keeps only its sha256
digest, the user it names and the role it carries (one of :data:`TOKEN_ROLES`; what each role
may do is :mod:`marsgis.api.scopes`). A revoked token stays listed with its ``revoked_at`` and
no longer authenticates.

The API checks tokens through :class:`TokenCache` (:data:`TOKEN_CACHE`): a valid token is
remembered in the process for :data:`TOKEN_CACHE_SECONDS` (5 s), so a token revoked by
*another* process (``marsgis token revoke``, another API worker) is still accepted by this one
for at most that long. :func:`revoke_token` clears every cache of its own process at once.

Every function takes ``db``: a database URL, an engine, an open connection (the call joins its
transaction), or None for the configured default (``MARSGIS_DATABASE_URL``).

Examples
--------
>>> from marsgis.db import tokens  # doctest: +SKIP
>>> token, secret = tokens.create_token("ada", "scientist")  # doctest: +SKIP
>>> tokens.authenticate(secret).user  # doctest: +SKIP
'ada'
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from marsgis.db import _validation as check
from marsgis.db.engine import DatabaseLike, Engine, transaction
from marsgis.db.schema import TOKEN_ROLES, api_tokens
from marsgis.exceptions import NotFoundError, ValidationError

__all__ = [
    "TOKEN_CACHE",
    "TOKEN_CACHE_SECONDS",
    "TOKEN_PREFIX",
    "TOKEN_ROLES",
    "ApiToken",
    "TokenCache",
    "authenticate",
    "create_token",
    "hash_secret",
    "list_tokens",
    "revoke_token",
]

#: Every secret starts with this, so that a leaked one is easy to recognise and search for.
TOKEN_PREFIX = "mgs_"


@dataclass(frozen=True)
class ApiToken:
    """A stored token (never its secret).

    Attributes
    ----------
    id
        Public id (16 hex digits): name it to revoke the token.
    user
        Who the token speaks for.
    role
        One of :data:`TOKEN_ROLES`.
    created_at, revoked_at
        Timezone-aware UTC; ``revoked_at`` is None while the token is valid.
    """

    id: str
    user: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        """Whether the token was revoked."""
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 strings)."""
        return {
            "id": self.id,
            "user": self.user,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


def hash_secret(secret: str) -> str:
    """The sha256 hex digest stored for a token secret.

    >>> hash_secret("mgs_example")[:16]
    'd391ba691b28327f'
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _to_token(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user=row["user_name"],
        role=row["role"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def create_token(user: str, role: str, db: DatabaseLike = None) -> tuple[ApiToken, str]:
    """Create a token for ``user`` with ``role``; return it with its secret (shown only now).

    Raises
    ------
    ValidationError
        An empty or too long user name, or a role not in :data:`TOKEN_ROLES`.
    """
    name = check.name(user, "user name")
    chosen = check.choice(role, "role", TOKEN_ROLES)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(8)
    now = datetime.now(UTC)
    with transaction(db, write=True) as conn:
        conn.execute(
            api_tokens.insert().values(
                id=token_id,
                user_name=name,
                role=chosen,
                token_hash=hash_secret(secret),
                created_at=now,
                revoked_at=None,
            )
        )
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).mappings()
        return _to_token(row.one()), secret


def authenticate(secret: str, db: DatabaseLike = None) -> ApiToken | None:
    """The valid (not revoked) token whose secret is ``secret``, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    query = sa.select(api_tokens).where(
        api_tokens.c.token_hash == hash_secret(secret), api_tokens.c.revoked_at.is_(None)
    )
    with transaction(db) as conn:
        row = conn.execute(query).mappings().first()
        return None if row is None else _to_token(row)


def list_tokens(db: DatabaseLike = None) -> list[ApiToken]:
    """Every stored token, revoked ones included, oldest first."""
    query = sa.select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
    with transaction(db) as conn:
        return [_to_token(row) for row in conn.execute(query).mappings()]


def revoke_token(token_id: str, db: DatabaseLike = None) -> ApiToken:
    """Revoke a token by its id (revoking a revoked token keeps its first ``revoked_at``).

    Raises
    ------
    NotFoundError
        No token has this id.
    """
    if not isinstance(token_id, str) or not token_id.strip():
        raise ValidationError(f"token id {token_id!r} must be a non-empty string")
    with transaction(db, write=True) as conn:
        conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id))
        found = row.mappings().first()
    _clear_caches()  # after the commit: a request in between cannot cache the token again
    if found is None:
        raise NotFoundError(
            f"no API token with id {token_id!r}; list them with `marsgis token list`"
        )
    return _to_token(found)


#: How long a valid token is remembered in a process (seconds): the longest a token revoked by
#: another process can still be accepted here.
TOKEN_CACHE_SECONDS = 5.0
_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()
_CACHES_LOCK = threading.Lock()
#: Steps at every revocation: a lookup that began before one does not store its answer.
_generation = [0]


def _clear_caches() -> None:
    with _CACHES_LOCK:
        _generation[0] += 1
        caches = list(_CACHES)
    for cache in caches:
        cache.clear()


def _database_key(db: DatabaseLike) -> object | None:
    """What a cached answer is keyed by besides the token; None: do not cache (a connection)."""
    if db is None or isinstance(db, str):
        return db
    if isinstance(db, Engine):
        return ("engine", id(db))
    return None


class TokenCache:
    """:func:`authenticate` with its valid answers remembered briefly (bounded LRU).

    Keys are the database and the token's sha256 digest (never the secret). Only valid tokens
    are kept, each ``seconds`` after it was read from the database; unknown or revoked tokens
    are looked up every time. :func:`revoke_token` clears every cache of the process.

    Parameters
    ----------
    seconds
        How long an answer is used: the bound on how late a revocation made by another
        process takes effect here.
    size
        How many tokens are remembered (least recently used dropped first).
    clock
        Monotonic seconds (injectable for tests).

    Examples
    --------
    >>> now = [0.0]
    >>> cache = TokenCache(seconds=5.0, clock=lambda: now[0])
    >>> cache.cached("mgs_unknown", "sqlite:///nowhere.sqlite")
    (False, None)
    """

    def __init__(
        self,
        seconds: float = TOKEN_CACHE_SECONDS,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = float(seconds)
        self.size = int(size)
        self.clock = clock
        self._entries: OrderedDict[tuple[object, str], tuple[float, ApiToken]] = OrderedDict()
        self._lock = threading.Lock()
        with _CACHES_LOCK:
            _CACHES.add(self)

    def cached(self, secret: str, db: DatabaseLike = None) -> tuple[bool, ApiToken | None]:
        """``(True, token)`` when a fresh answer is remembered, else ``(False, None)``.

        Never touches the database: the API calls it on its event loop.
        """
        place = _database_key(db)
        if place is None or not secret.startswith(TOKEN_PREFIX):
            return False, None
        key = (place, hash_secret(secret))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self.clock():
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, entry[1]

    def authenticate(self, secret: str, db: DatabaseLike = None) -> ApiToken | None:
        """As :func:`authenticate`, answered from the cache while fresh."""
        hit, token = self.cached(secret, db)
        if hit:
            return token
        with _CACHES_LOCK:
            generation = _generation[0]
        found = authenticate(secret, db=db)
        place = _database_key(db)
        if found is not None and place is not None:
            expires = self.clock() + self.seconds
            with _CACHES_LOCK, self._lock:
                if generation != _generation[0]:  # revoked meanwhile: the answer may be stale
                    return found
                self._entries[(place, hash_secret(secret))] = (expires, found)
                self._entries.move_to_end((place, hash_secret(secret)))
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._entries.clear()


#: The process's token cache, used by the API.
TOKEN_CACHE = TokenCache()
