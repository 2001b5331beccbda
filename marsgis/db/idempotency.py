"""Stored responses of idempotent API requests: thin functions over ``api_idempotency_keys``.

A client that sends ``Idempotency-Key: K`` with a ``POST`` may retry it: the first response is
stored under (principal, K) in the same transaction as the change it reports, and a retry with
the same key and principal gets that response back instead of a second change. The stored
``request_hash`` (sha256 of method, route and body) tells a retry from a different request that
reuses the key, which is refused.

Every function takes ``db``: a database URL, an engine, an open connection (the call joins its
transaction), or None for the configured default (``MARSGIS_DATABASE_URL``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.schema import api_idempotency_keys
from marsgis.exceptions import ConcurrencyError, ValidationError

__all__ = ["KEY_MAX", "StoredResponse", "find_response", "request_hash", "save_response"]

#: Longest accepted ``Idempotency-Key``.
KEY_MAX = 200


@dataclass(frozen=True)
class StoredResponse:
    """The first response to an idempotent request."""

    principal: str
    key: str
    request_hash: str
    status_code: int
    headers: dict[str, str]
    body: Any
    created_at: datetime


def request_hash(method: str, route: str, body: bytes) -> str:
    """sha256 hex digest identifying a request (method, route and body bytes).

    >>> request_hash("POST", "/api/v1/missions", b"{}")[:12]
    '89d8a390535e'
    """
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", route.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > KEY_MAX:
        raise ValidationError(
            f"Idempotency-Key {key!r} must be 1 to {KEY_MAX} characters (a UUID is a good key)"
        )
    return key


def find_response(principal: str, key: str, db: DatabaseLike = None) -> StoredResponse | None:
    """The response stored for ``key`` sent by ``principal``, or None."""
    c = api_idempotency_keys.c
    query = sa.select(api_idempotency_keys).where(
        c.principal == principal, c.key == _check_key(key)
    )
    with transaction(db) as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return StoredResponse(
        principal=row["principal"],
        key=row["key"],
        request_hash=row["request_hash"],
        status_code=int(row["status_code"]),
        headers=dict(row["headers"] or {}),
        body=row["body"],
        created_at=row["created_at"],
    )


def save_response(
    principal: str,
    key: str,
    *,
    request_hash: str,
    status_code: int,
    headers: dict[str, str],
    body: Any,
    db: DatabaseLike = None,
) -> None:
    """Store the first response to ``key`` (in the caller's transaction, with its change).

    Raises
    ------
    ConcurrencyError
        A response for (principal, key) was stored meanwhile (two requests raced); the
        caller's transaction must roll back, so its change is not written twice.
    """
    with transaction(db, write=True) as conn:
        insert = api_idempotency_keys.insert().values(
            principal=principal,
            key=_check_key(key),
            request_hash=request_hash,
            status_code=int(status_code),
            headers=dict(headers),
            body=body,
            created_at=datetime.now(UTC),
        )
        try:
            conn.execute(insert)
        except sa.exc.IntegrityError as exc:
            raise ConcurrencyError(
                f"another request with Idempotency-Key {key!r} was handled at the same time; "
                "nothing was written by this one: retry it to get that request's response"
            ) from exc
