"""Stored report schedules: thin functions over the ``report_schedules`` table (migration 0005).

A schedule is a report, its parameters and a cron expression, with ``next_run_at``, the next
due time the scheduler will handle. :mod:`marsgis.reports` checks the cron expression and the
parameters and computes the due times; this module only reads and writes rows. Creating and deleting a
schedule record ``schedule.created`` / ``schedule.deleted`` (subject: the schedule id) in the
same transaction (:mod:`marsgis.db.events`). The lease a
scheduler holds on a schedule while it runs it is in :mod:`marsgis.db.leases`.

Every function takes ``db``: a database URL, an engine, an open connection (the call joins its
transaction, see :func:`marsgis.db.transaction`), or None for the configured default
(``MARSGIS_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import DatabaseLike, inserted_id, transaction
from marsgis.db.events import append_event
from marsgis.db.schema import report_schedules
from marsgis.exceptions import NotFoundError, ValidationError

__all__ = [
    "Schedule",
    "delete_schedule",
    "earliest_due",
    "get_schedule",
    "insert_schedule",
    "list_schedules",
    "to_schedule",
]


@dataclass(frozen=True)
class Schedule:
    """A stored schedule (a snapshot; reload it with :func:`get_schedule`).

    ``next_run_at`` is the next due time; ``locked_by``/``locked_until`` name the scheduler
    running it now and the end of its lease (both None when idle).
    """

    id: int
    name: str
    report: str
    cron: str
    parameters: dict[str, Any]
    enabled: bool
    next_run_at: datetime
    locked_by: str | None
    locked_until: datetime | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 strings)."""
        return {
            "id": self.id,
            "name": self.name,
            "report": self.report,
            "cron": self.cron,
            "parameters": dict(self.parameters),
            "enabled": self.enabled,
            "next_run_at": self.next_run_at.isoformat(),
            "locked_by": self.locked_by,
            "locked_until": None if self.locked_until is None else self.locked_until.isoformat(),
            "created_at": self.created_at.isoformat(),
        }


def to_schedule(row: RowMapping) -> Schedule:
    """A ``report_schedules`` row as a :class:`Schedule` (for the other store modules)."""
    return Schedule(
        id=int(row["id"]),
        name=str(row["name"]),
        report=str(row["report"]),
        cron=str(row["cron"]),
        parameters=dict(row["parameters"] or {}),
        enabled=bool(row["enabled"]),
        next_run_at=row["next_run_at"],
        locked_by=row["locked_by"],
        locked_until=row["locked_until"],
        created_at=row["created_at"],
    )


def _where(schedule: str | int) -> sa.ColumnElement[bool]:
    if isinstance(schedule, int) and not isinstance(schedule, bool):
        return report_schedules.c.id == schedule
    text = str(schedule).strip()
    if text.isdigit():
        return report_schedules.c.id == int(text)
    return report_schedules.c.name == text


def _load(conn: Connection, schedule: str | int) -> Schedule:
    row = conn.execute(sa.select(report_schedules).where(_where(schedule))).mappings().first()
    if row is None:
        raise NotFoundError(
            f"no report schedule {schedule!r}; list them with `marsgis report schedule list` "
            "or marsgis.reports.list_schedules()"
        )
    return to_schedule(row)


def insert_schedule(
    *,
    name: str,
    report: str,
    cron: str,
    parameters: Mapping[str, Any],
    enabled: bool,
    next_run_at: datetime,
    created_at: datetime,
    db: DatabaseLike = None,
) -> Schedule:
    """Store a new schedule and return it as stored.

    Parameters
    ----------
    name
        Unique name.
    report
        Report name or notebook path.
    cron
        Cron expression (checked by the caller).
    parameters
        The report's parameters for every run (a JSON document).
    enabled
        False to store it without running it.
    next_run_at, created_at
        Aware datetimes: the first due time, and now.
    db
        Database URL, engine, open connection, or None for the configured default.

    Raises
    ------
    ValidationError
        A schedule of this name exists already (nothing is written).
    """
    with transaction(db, write=True) as conn:
        taken = conn.execute(
            sa.select(report_schedules.c.id).where(report_schedules.c.name == name)
        ).first()
        if taken is not None:
            raise ValidationError(
                f"a report schedule named {name!r} exists already; choose another name or "
                f"remove it first (`marsgis report schedule remove {name}`)"
            )
        result = conn.execute(
            report_schedules.insert().values(
                name=name,
                report=report,
                cron=cron,
                parameters=dict(parameters),
                enabled=bool(enabled),
                next_run_at=next_run_at,
                created_at=created_at,
            )
        )
        stored = _load(conn, inserted_id(result))
        append_event(
            conn,
            "schedule.created",
            stored.id,
            {"name": stored.name, "report": stored.report, "cron": stored.cron},
        )
        return stored


def get_schedule(schedule: str | int, db: DatabaseLike = None) -> Schedule:
    """Load a schedule by name or id (digits are an id)."""
    with transaction(db) as conn:
        return _load(conn, schedule)


def list_schedules(db: DatabaseLike = None) -> list[Schedule]:
    """Every schedule, by name."""
    with transaction(db) as conn:
        rows = conn.execute(sa.select(report_schedules).order_by(report_schedules.c.name))
        return [to_schedule(row) for row in rows.mappings()]


def delete_schedule(schedule: str | int, db: DatabaseLike = None) -> Schedule:
    """Delete a schedule (by name or id) and return it; its past runs stay, unlinked."""
    with transaction(db, write=True) as conn:
        found = _load(conn, schedule)
        conn.execute(report_schedules.delete().where(report_schedules.c.id == found.id))
        append_event(conn, "schedule.deleted", found.id, {"name": found.name})
        return found


def earliest_due(db: DatabaseLike = None) -> datetime | None:
    """The earliest ``next_run_at`` of the enabled schedules no scheduler holds (None: none)."""
    s = report_schedules.c
    with transaction(db) as conn:
        value: datetime | None = conn.execute(
            sa.select(sa.func.min(s.next_run_at)).where(
                s.enabled.is_(sa.true()), s.locked_by.is_(None)
            )
        ).scalar()
    return value  # MIN() keeps the column's type: an aware UTC datetime
