"""Report schedules: a report, its parameters and a cron expression, stored in the database.

Cron expressions are evaluated in UTC with croniter: five fields (minute hour day month
weekday, e.g. ``0 6 * * *`` every day at 06:00 UTC), an optional sixth field for seconds
(``* * * * * */10`` every 10 seconds), or an alias (``@hourly``, ``@daily``, ``@weekly``,
``@monthly``, ``@yearly``). A schedule stores ``next_run_at``, the next due time the scheduler
will handle (:mod:`marsgis.reports.scheduler`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from marsgis.db.engine import inserted_id, transaction
from marsgis.db.schema import report_schedules
from marsgis.exceptions import NotFoundError, ValidationError
from marsgis.reports import catalog

__all__ = [
    "Schedule",
    "add_schedule",
    "get_schedule",
    "list_schedules",
    "next_due",
    "remove_schedule",
    "validate_cron",
]

_CRON_HELP = (
    "use five fields 'minute hour day month weekday' (e.g. '0 6 * * *', daily at 06:00 UTC), "
    "a sixth field for seconds ('* * * * * */10', every 10 s), or @hourly, @daily, @weekly, "
    "@monthly, @yearly"
)
_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")


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


def validate_cron(expression: str) -> str:
    """Check a cron expression and return it normalised (single spaces).

    Raises
    ------
    ValidationError
        Not a cron expression croniter accepts with 5 or 6 fields (or an alias); the message
        shows the accepted forms.
    """
    from croniter import croniter

    if not isinstance(expression, str):
        raise ValidationError(f"cron expression {expression!r} must be a string; {_CRON_HELP}")
    text = " ".join(expression.split())
    fields = text.split(" ")
    ok = text.lower() in _ALIASES or (len(fields) in (5, 6) and croniter.is_valid(text))
    if not ok:
        raise ValidationError(f"cron expression {expression!r} is not valid; {_CRON_HELP}")
    return text


def next_due(cron: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``cron`` names (UTC, aware)."""
    from croniter import croniter

    if after.tzinfo is None:
        raise ValidationError(f"time {after!r} has no time zone; give an aware UTC datetime")
    value = croniter(validate_cron(cron), after.astimezone(UTC)).get_next(datetime)
    if not isinstance(value, datetime):  # pragma: no cover - get_next returns the type asked
        raise ValidationError(f"croniter returned {value!r} for {cron!r}")
    return value.astimezone(UTC)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"schedule name {value!r} must be a non-empty string")
    text = value.strip()
    if len(text) > 200:
        raise ValidationError(f"schedule name {text[:40]!r}... is longer than 200 characters")
    if text.isdigit():
        raise ValidationError(
            f"schedule name {text!r} is all digits, which would read as a schedule id; add a letter"
        )
    return text


def _to_schedule(row: RowMapping) -> Schedule:
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
    return _to_schedule(row)


def add_schedule(
    name: str,
    report: str,
    cron: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    enabled: bool = True,
    start: datetime | None = None,
    db: str | Engine | None = None,
) -> Schedule:
    """Store a schedule; its first due time is the first cron time after ``start`` (now).

    Parameters
    ----------
    name
        Unique name (not all digits: numbers are schedule ids).
    report
        A shipped report's name or a notebook path (checked now, with the parameters).
    cron
        Cron expression, UTC (see :func:`validate_cron`).
    parameters
        The report's parameters for every run.
    enabled
        False to store it without running it.
    start
        Count due times from this aware datetime (default now).
    db
        Database URL, engine, or None for the configured default.

    Raises
    ------
    ValidationError
        A bad cron expression, unknown report parameters, or a name already taken.
    """
    label = _name(name)
    expression = validate_cron(cron)
    params = catalog.check_parameters(report, parameters)
    key = catalog.report_key(report)
    now = datetime.now(UTC)
    first = next_due(expression, start or now)
    with transaction(db, write=True) as conn:
        taken = conn.execute(
            sa.select(report_schedules.c.id).where(report_schedules.c.name == label)
        ).first()
        if taken is not None:
            raise ValidationError(
                f"a report schedule named {label!r} exists already; choose another name or "
                f"remove it first (`marsgis report schedule remove {label}`)"
            )
        result = conn.execute(
            report_schedules.insert().values(
                name=label,
                report=key,
                cron=expression,
                parameters=params,
                enabled=bool(enabled),
                next_run_at=first,
                created_at=now,
            )
        )
        return _load(conn, inserted_id(result))


def get_schedule(schedule: str | int, db: str | Engine | None = None) -> Schedule:
    """Load a schedule by name or id."""
    with transaction(db) as conn:
        return _load(conn, schedule)


def list_schedules(db: str | Engine | None = None) -> list[Schedule]:
    """Every schedule, by name."""
    with transaction(db) as conn:
        rows = conn.execute(sa.select(report_schedules).order_by(report_schedules.c.name))
        return [_to_schedule(row) for row in rows.mappings()]


def remove_schedule(schedule: str | int, db: str | Engine | None = None) -> Schedule:
    """Delete a schedule (by name or id) and return it; its past runs stay, unlinked.

    A run in progress finishes and is recorded; no new runs start.
    """
    with transaction(db, write=True) as conn:
        found = _load(conn, schedule)
        conn.execute(report_schedules.delete().where(report_schedules.c.id == found.id))
        return found
