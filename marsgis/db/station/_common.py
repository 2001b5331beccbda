"""What the station store modules share: time, ids, versions, and the audit + event pair."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from marsgis.db.engine import database_flavour
from marsgis.db.events import append_event
from marsgis.db.schema import MARS_SRID
from marsgis.db.station.audit import append_audit
from marsgis.exceptions import ConcurrencyError, NotFoundError, ValidationError

ACTOR_MAX = 200


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def geometry_srid(conn: Connection) -> int:
    """The SRID geometries are written in: the Mars SRID, or 0 in the CockroachDB flavour.

    There the ``<column>_crs`` column (``IAU_2015:49900`` by default) says what SRID 0 means
    (``docs/station.md``, "CockroachDB"; :func:`marsgis.db.engine.database_flavour`).
    """
    return 0 if database_flavour(conn) == "cockroachdb" else MARS_SRID


def record_id(value: Any, what: str) -> int:
    """A positive integer id."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{what} {value!r} must be a positive integer id")
    return value


def version(value: Any) -> int:
    """An expected record version (>= 1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"expected_version {value!r} must be the record's version (an integer >= 1), as "
            "loaded with its get_... function"
        )
    return value


def name(value: Any, what: str) -> str:
    """A non-empty name of at most 200 characters, trimmed."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > ACTOR_MAX:
        raise ValidationError(f"{what} {value!r} must be a non-empty string of at most 200 chars")
    return value.strip()


def moment(value: Any, what: str) -> datetime:
    """An aware datetime in UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{what} {value!r} must be a timezone-aware datetime, e.g. "
            "datetime(2031, 5, 1, 12, tzinfo=datetime.UTC)"
        )
    return value.astimezone(UTC)


def not_found(what: str, ident: object, hint: str) -> NotFoundError:
    """The error for a missing record."""
    return NotFoundError(f"no {what} with id {ident!r}; {hint}")


def stale(conn: Connection, table: sa.Table, ident: int, expected: int, what: str) -> Exception:
    """ConcurrencyError (or NotFoundError) for an update at a stale version."""
    current = conn.execute(sa.select(table.c.version).where(table.c.id == ident)).scalar()
    if current is None:
        return not_found(what, ident, f"list the {what}s to find its id")
    return ConcurrencyError(
        f"{what} {ident} is at version {current}, not {expected}: someone changed it since you "
        f"loaded it; load it again, check the change still applies, and retry with "
        f"expected_version={current}"
    )


def record(
    conn: Connection,
    event_type: str,
    *,
    actor: str,
    role: str,
    subject_type: str,
    subject_id: object,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append the audit record and the event of a decision, in ``conn``'s transaction."""
    payload = dict(details or {})
    action = event_type.removeprefix("station.")
    append_audit(
        conn,
        actor=actor,
        role=role,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason,
        details=payload,
    )
    append_event(
        conn,
        event_type,
        f"{subject_type}:{subject_id}",
        {**payload, "role": role, **({"reason": reason} if reason else {})},
        actor=actor,
    )
