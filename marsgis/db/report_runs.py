"""The record of report runs: thin functions over the ``report_runs`` table (migration 0005).

A run is inserted as ``running`` before its notebook starts and finished as ``succeeded``
or ``failed`` with its outputs (the executed notebook and its HTML) and error. Inserting a run
records ``report_run.started``, finishing it ``report_run.succeeded`` or ``report_run.failed``
(subject: the run id), in the same transaction (:mod:`marsgis.db.events`). Runs started
by a schedule carry the schedule's id and the due time they fulfil (``due_at``); one due time
of one schedule has at most one run (``UNIQUE(schedule_id, due_at)``).

:mod:`marsgis.reports` runs the notebooks and decides when a run is abandoned; this module only
reads and writes rows. Every function takes ``db``: a database URL, an engine, an open
connection (the call joins its transaction, see :func:`marsgis.db.transaction`), or None for
the configured default (``MARSGIS_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import DatabaseLike, inserted_id, transaction
from marsgis.db.events import append_event
from marsgis.db.schema import REPORT_RUN_STATUSES, report_runs, report_schedules
from marsgis.exceptions import NotFoundError, ValidationError

__all__ = [
    "ERROR_MAX",
    "REPORT_RUN_STATUSES",
    "ReportRun",
    "finish_run",
    "get_run",
    "insert_run",
    "list_runs",
    "running_runs",
]

#: Longest error text stored with a run (the notebook itself keeps the full traceback).
ERROR_MAX = 4000


@dataclass(frozen=True)
class ReportRun:
    """One run of a report (a snapshot; reload it with :func:`get_run`).

    Attributes
    ----------
    id
        Run id.
    report
        Report name (or notebook path) that was run.
    parameters
        The parameters given to the notebook.
    status
        ``running``, ``succeeded`` or ``failed``.
    started_at, finished_at
        Timezone-aware UTC; ``finished_at`` is None while running.
    outputs
        ``dir``, ``notebook`` and ``html`` (paths), ``runner`` (host and process), and for
        scheduled catch-up runs ``missed_due_times`` (see :mod:`marsgis.reports.scheduler`).
    error
        Why the run failed (None otherwise).
    schedule_id, due_at
        The schedule and due time this run fulfils; None for runs started by hand.
    schedule_name
        The name of that schedule (None for runs started by hand, or once it was removed).
    """

    id: int
    report: str
    parameters: dict[str, Any]
    status: str
    started_at: datetime
    finished_at: datetime | None
    outputs: dict[str, Any]
    error: str | None
    schedule_id: int | None
    due_at: datetime | None
    schedule_name: str | None = None

    @property
    def html(self) -> Path | None:
        """The HTML export of the executed notebook (no code cells), if it was written."""
        value = self.outputs.get("html")
        return None if value is None else Path(value)

    @property
    def notebook(self) -> Path | None:
        """The executed notebook, if it was written."""
        value = self.outputs.get("notebook")
        return None if value is None else Path(value)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (None while running)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 strings)."""
        return {
            "id": self.id,
            "report": self.report,
            "parameters": dict(self.parameters),
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "duration_s": self.duration_s,
            "outputs": dict(self.outputs),
            "error": self.error,
            "schedule_id": self.schedule_id,
            "schedule": self.schedule_name,
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
        }


def _select() -> sa.Select[Any]:
    return sa.select(report_runs, report_schedules.c.name.label("schedule_name")).select_from(
        report_runs.outerjoin(report_schedules, report_runs.c.schedule_id == report_schedules.c.id)
    )


def _to_run(row: RowMapping) -> ReportRun:
    return ReportRun(
        id=int(row["id"]),
        report=str(row["report"]),
        parameters=dict(row["parameters"] or {}),
        status=str(row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outputs=dict(row["outputs"] or {}),
        error=row["error"],
        schedule_id=None if row["schedule_id"] is None else int(row["schedule_id"]),
        due_at=row["due_at"],
        schedule_name=row["schedule_name"],
    )


def _load(conn: Connection, run_id: int) -> ReportRun:
    row = conn.execute(_select().where(report_runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"no report run with id {run_id!r}; list the runs with marsgis.reports.list_runs() "
            "or `marsgis report runs`"
        )
    return _to_run(row)


def insert_run(
    *,
    report: str,
    parameters: Mapping[str, Any],
    outputs: Mapping[str, Any],
    started_at: datetime,
    schedule_id: int | None = None,
    due_at: datetime | None = None,
    db: DatabaseLike = None,
) -> ReportRun:
    """Insert a ``running`` run and return it as stored.

    Parameters
    ----------
    report
        Report name (or notebook path).
    parameters
        The notebook's parameters (a JSON document).
    outputs
        What is known before the run (``runner``, ``missed_due_times``, ...).
    started_at
        Aware datetime.
    schedule_id, due_at
        The schedule and due time this run fulfils (None for a run started by hand).
    db
        Database URL, engine, open connection, or None for the configured default.

    Raises
    ------
    DatabaseError
        The database refused the row, e.g. a second run for one due time of one schedule.
    """
    with transaction(db, write=True) as conn:
        result = conn.execute(
            report_runs.insert().values(
                report=report,
                parameters=dict(parameters),
                outputs=dict(outputs),
                status="running",
                started_at=started_at,
                schedule_id=schedule_id,
                due_at=due_at,
            )
        )
        run = _load(conn, inserted_id(result))
        append_event(
            conn,
            "report_run.started",
            run.id,
            {"report": run.report, "schedule_id": run.schedule_id},
        )
        return run


def finish_run(
    run_id: int,
    *,
    status: str,
    outputs: Mapping[str, Any],
    error: str | None,
    finished_at: datetime | None = None,
    db: DatabaseLike = None,
) -> bool:
    """Mark a ``running`` run finished; False if it was no longer running.

    Parameters
    ----------
    run_id
        The run.
    status
        ``succeeded`` or ``failed``.
    outputs
        The run's outputs (they replace the stored ones).
    error
        Why it failed (stored cut to :data:`ERROR_MAX` characters), or None.
    finished_at
        Aware datetime (default now).
    db
        Database URL, engine, open connection, or None for the configured default.
    """
    if status not in REPORT_RUN_STATUSES or status == "running":
        raise ValidationError(f"a run finishes as 'succeeded' or 'failed', not {status!r}")
    text = None if error is None else error[:ERROR_MAX]
    with transaction(db, write=True) as conn:
        result = conn.execute(
            report_runs.update()
            .where(report_runs.c.id == run_id, report_runs.c.status == "running")
            .values(
                status=status,
                outputs=dict(outputs),
                error=text,
                finished_at=finished_at or datetime.now(UTC),
            )
            .returning(report_runs.c.report, report_runs.c.schedule_id)
        )
        finished = result.first()
        if finished is None:
            return False
        append_event(
            conn,
            f"report_run.{status}",
            run_id,
            {"report": str(finished[0]), "schedule_id": finished[1], "error": text},
        )
        return True


def get_run(run_id: int, db: DatabaseLike = None) -> ReportRun:
    """Load one run; :class:`~marsgis.exceptions.NotFoundError` if there is none."""
    if isinstance(run_id, bool) or not isinstance(run_id, int):
        raise ValidationError(f"run id {run_id!r} must be an integer (see `marsgis report runs`)")
    with transaction(db) as conn:
        return _load(conn, run_id)


def list_runs(
    *,
    report: str | None = None,
    schedule: str | int | None = None,
    status: str | None = None,
    limit: int | None = 100,
    db: DatabaseLike = None,
) -> list[ReportRun]:
    """Report runs, newest first.

    Parameters
    ----------
    report
        Only runs of this report (name as recorded).
    schedule
        Only runs of this schedule (name or id); an unknown one raises
        :class:`~marsgis.exceptions.NotFoundError`.
    status
        Only runs in this status (``running``, ``succeeded``, ``failed``).
    limit
        At most this many (None for all).
    db
        Database URL, engine, open connection, or None for the configured default.
    """
    query = _select()
    if report is not None:
        query = query.where(report_runs.c.report == str(report))
    if schedule is not None:
        if isinstance(schedule, int) and not isinstance(schedule, bool):
            query = query.where(report_runs.c.schedule_id == schedule)
        else:
            query = query.where(report_schedules.c.name == str(schedule))
    if status is not None:
        if status not in REPORT_RUN_STATUSES:
            raise ValidationError(
                f"run status {status!r} is not one of {', '.join(REPORT_RUN_STATUSES)}"
            )
        query = query.where(report_runs.c.status == status)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit {limit!r} must be a positive integer (or None for all)")
        query = query.limit(limit)
    query = query.order_by(report_runs.c.started_at.desc(), report_runs.c.id.desc())
    with transaction(db) as conn:
        if schedule is not None:
            s = report_schedules.c
            key = s.id if isinstance(schedule, int) and not isinstance(schedule, bool) else s.name
            if conn.execute(sa.select(s.id).where(key == schedule)).first() is None:
                raise NotFoundError(
                    f"no report schedule {schedule!r}; list them with "
                    "marsgis.reports.list_schedules() or `marsgis report schedule list`"
                )
        return [_to_run(row) for row in conn.execute(query).mappings()]


def running_runs(schedule_id: int | None, *, db: DatabaseLike = None) -> list[ReportRun]:
    """The runs still ``running`` of one schedule (None: the runs started by hand), by id.

    Parameters
    ----------
    schedule_id
        A schedule's id, or None for the runs that belong to no schedule.
    db
        Database URL, engine, open connection, or None for the configured default.
    """
    column = report_runs.c.schedule_id
    belongs = column.is_(None) if schedule_id is None else column == schedule_id
    query = _select().where(report_runs.c.status == "running", belongs).order_by(report_runs.c.id)
    with transaction(db) as conn:
        return [_to_run(row) for row in conn.execute(query).mappings()]
