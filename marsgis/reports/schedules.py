"""Report schedules: a report, its parameters and a cron expression, stored in the database.

Cron expressions are evaluated in UTC with croniter: five fields (minute hour day month
weekday, e.g. ``0 6 * * *`` every day at 06:00 UTC), an optional sixth field for seconds
(``* * * * * */10`` every 10 seconds), or an alias (``@hourly``, ``@daily``, ``@weekly``,
``@monthly``, ``@yearly``). A schedule stores ``next_run_at``, the next due time the scheduler
will handle (:mod:`marsgis.reports.scheduler`); the rows are read and written by
:mod:`marsgis.db.schedules` (:class:`Schedule`, :func:`get_schedule` and :func:`list_schedules`
come from there).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from marsgis.db import get_mission, schedules
from marsgis.db.schedules import Schedule, get_schedule, list_schedules
from marsgis.exceptions import NotFoundError, ValidationError
from marsgis.reports import catalog

if TYPE_CHECKING:
    from marsgis.db import DatabaseLike

__all__ = [
    "NEVER_FIRES_YEARS",
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
#: A cron expression with no time in this many years from now is refused as one that never
#: fires (``0 0 29 2 *``, February 29, fires every 4 years and is accepted).
NEVER_FIRES_YEARS = 5

_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")


def validate_cron(expression: str) -> str:
    """Check a cron expression and return it normalised (single spaces).

    Raises
    ------
    ValidationError
        Not a cron expression croniter accepts with 5 or 6 fields (or an alias), or one that
        never fires (no time in the next :data:`NEVER_FIRES_YEARS` years, e.g. ``0 0 31 2 *``,
        February 31); the message names the expression and shows the accepted forms.
    """
    from croniter import CroniterError, croniter

    if not isinstance(expression, str):
        raise ValidationError(f"cron expression {expression!r} must be a string; {_CRON_HELP}")
    text = " ".join(expression.split())
    fields = text.split(" ")
    ok = text.lower() in _ALIASES or (len(fields) in (5, 6) and croniter.is_valid(text))
    if not ok:
        raise ValidationError(f"cron expression {expression!r} is not valid; {_CRON_HELP}")
    try:
        croniter(text, datetime.now(UTC), max_years_between_matches=NEVER_FIRES_YEARS).get_next(
            datetime
        )
    except (CroniterError, ValueError, KeyError, OverflowError) as exc:
        raise ValidationError(
            f"cron expression {expression!r} never fires: it names no time in the next "
            f"{NEVER_FIRES_YEARS} years (a day its month does not have, such as February 30 or "
            "April 31); give a day the month has, e.g. '0 0 28 2 *' for February 28"
        ) from exc
    return text


def next_due(cron: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``cron`` names (UTC, aware)."""
    from croniter import CroniterError, croniter

    if after.tzinfo is None:
        raise ValidationError(f"time {after!r} has no time zone; give an aware UTC datetime")
    expression = validate_cron(cron)
    try:
        value = croniter(expression, after.astimezone(UTC)).get_next(datetime)
    except (CroniterError, ValueError, KeyError, OverflowError) as exc:
        raise ValidationError(
            f"cron expression {cron!r} names no time after {after.isoformat()} ({exc}); "
            f"{_CRON_HELP}"
        ) from exc
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


def _check_mission(report: str, params: Mapping[str, Any], label: str, db: DatabaseLike) -> None:
    """Refuse a schedule whose ``mission_id`` parameter names no stored mission."""
    mission_id = params.get("mission_id")
    if mission_id is None:
        return
    try:
        get_mission(mission_id, db=db)
    except NotFoundError as exc:
        raise NotFoundError(
            f"schedule {label!r}: report {report!r} is for mission_id={mission_id!r}, but the "
            "database has no mission with that id; give the id of a stored mission (`marsgis "
            "mission list`) or add the mission first"
        ) from exc


def add_schedule(
    name: str,
    report: str,
    cron: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    enabled: bool = True,
    start: datetime | None = None,
    db: DatabaseLike = None,
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
        Database URL, engine, open connection, or None for the configured default.

    Raises
    ------
    ValidationError
        A bad cron expression or one that never fires, unknown report parameters, or a name
        already taken.
    NotFoundError
        The ``mission_id`` parameter names no mission in ``db`` (checked for every report that
        declares a ``mission_id`` parameter, such as ``mission-plan``).
    """
    label = _name(name)
    expression = validate_cron(cron)
    params = catalog.check_parameters(report, parameters)
    key = catalog.report_key(report)
    _check_mission(key, params, label, db)
    now = datetime.now(UTC)
    first = next_due(expression, start or now)
    return schedules.insert_schedule(
        name=label,
        report=key,
        cron=expression,
        parameters=params,
        enabled=bool(enabled),
        next_run_at=first,
        created_at=now,
        db=db,
    )


def remove_schedule(schedule: str | int, db: DatabaseLike = None) -> Schedule:
    """Delete a schedule (by name or id) and return it; its past runs stay, unlinked.

    A run in progress finishes and is recorded; no new runs start.
    """
    return schedules.delete_schedule(schedule, db=db)
