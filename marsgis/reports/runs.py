"""The record of report runs (table ``report_runs``, migration 0005).

A run is inserted as ``running`` before its notebook starts and finished as ``succeeded``
or ``failed`` with its outputs (the executed notebook and its HTML) and error. Runs started
by a schedule carry the schedule's id and the due time they fulfil (``due_at``); one due time
of one schedule has at most one run (``UNIQUE(schedule_id, due_at)``).

A run left ``running`` by a process that died is not left so for ever: the scheduler marks
the runs of an expired schedule lease failed (:mod:`marsgis.reports.scheduler`), and
:func:`fail_abandoned_runs` marks failed the hand-started runs whose process on this host is
gone. Every function takes ``db``: a database URL, an engine, or None for the configured
default (``MARSGIS_DATABASE_URL``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from marsgis.db.engine import inserted_id, transaction
from marsgis.db.schema import REPORT_RUN_STATUSES, report_runs, report_schedules
from marsgis.exceptions import NotFoundError, ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "REPORT_RUN_STATUSES",
    "ReportRun",
    "fail_abandoned_runs",
    "frame_of_runs",
    "get_run",
    "list_runs",
    "runner_identity",
    "runs_frame",
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


def _now() -> datetime:
    return datetime.now(UTC)


def runner_identity() -> dict[str, Any]:
    """Who executes a run: host name, process id and that process's start time."""
    import psutil

    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_started": psutil.Process().create_time(),
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
    conn: Connection,
    *,
    report: str,
    parameters: Mapping[str, Any],
    outputs: Mapping[str, Any],
    started_at: datetime,
    schedule_id: int | None = None,
    due_at: datetime | None = None,
) -> ReportRun:
    """Insert a ``running`` run on ``conn`` (inside the caller's transaction) and return it."""
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
    return _load(conn, inserted_id(result))


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: str,
    outputs: Mapping[str, Any],
    error: str | None,
    finished_at: datetime | None = None,
) -> bool:
    """Mark a ``running`` run finished on ``conn``; False if it was no longer running."""
    if status not in REPORT_RUN_STATUSES or status == "running":
        raise ValidationError(f"a run finishes as 'succeeded' or 'failed', not {status!r}")
    text = None if error is None else error[:ERROR_MAX]
    result = conn.execute(
        report_runs.update()
        .where(report_runs.c.id == run_id, report_runs.c.status == "running")
        .values(
            status=status,
            outputs=dict(outputs),
            error=text,
            finished_at=finished_at or _now(),
        )
    )
    return result.rowcount == 1


def get_run(run_id: int, db: str | Engine | None = None) -> ReportRun:
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
    db: str | Engine | None = None,
) -> list[ReportRun]:
    """Report runs, newest first.

    Parameters
    ----------
    report
        Only runs of this report (name as recorded).
    schedule
        Only runs of this schedule (name or id).
    status
        Only runs in this status (``running``, ``succeeded``, ``failed``).
    limit
        At most this many (None for all).
    db
        Database URL, engine, or None for the configured default.
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
        return [_to_run(row) for row in conn.execute(query).mappings()]


def runs_frame(
    *,
    report: str | None = None,
    schedule: str | int | None = None,
    status: str | None = None,
    limit: int | None = 100,
    db: str | Engine | None = None,
) -> pd.DataFrame:
    """The runs of :func:`list_runs` as a table, newest first (see :func:`frame_of_runs`)."""
    runs = list_runs(report=report, schedule=schedule, status=status, limit=limit, db=db)
    return frame_of_runs(runs)


def frame_of_runs(runs: Iterable[ReportRun]) -> pd.DataFrame:
    """Runs as a table, one row each.

    Columns: ``id``, ``report``, ``schedule``, ``due_at``, ``status``, ``started_at``,
    ``finished_at``, ``duration_s``, ``parameters`` (JSON text), ``html``, ``notebook``,
    ``missed`` (due times a catch-up run stood in for) and ``error``.
    """
    import json

    import pandas as pd

    columns = [
        "id", "report", "schedule", "due_at", "status", "started_at", "finished_at",
        "duration_s", "parameters", "html", "notebook", "missed", "error",
    ]  # fmt: skip
    rows = [
        {
            "id": r.id,
            "report": r.report,
            "schedule": r.schedule_name,
            "due_at": r.due_at,
            "status": r.status,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "duration_s": r.duration_s,
            "parameters": json.dumps(r.parameters, sort_keys=True),
            "html": None if r.html is None else str(r.html),
            "notebook": None if r.notebook is None else str(r.notebook),
            "missed": len(r.outputs.get("missed_due_times", [])),
            "error": r.error,
        }
        for r in runs
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("due_at", "started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _process_gone(runner: Mapping[str, Any]) -> bool:
    """True if ``runner`` names a process on this host that no longer runs."""
    import psutil

    if runner.get("host") != socket.gethostname() or "pid" not in runner:
        return False
    try:
        proc = psutil.Process(int(runner["pid"]))
        started = float(runner.get("pid_started", proc.create_time()))
        return abs(proc.create_time() - started) > 1e-3
    except psutil.NoSuchProcess:
        return True


def fail_abandoned_runs(
    db: str | Engine | None = None, *, now: datetime | None = None
) -> list[ReportRun]:
    """Mark failed the hand-started runs left ``running`` by a process of this host that died.

    Scheduled runs are handled by their schedule's lease instead
    (:func:`marsgis.reports.scheduler.recover_expired_leases`). Runs of other hosts are left
    alone: this host cannot tell whether their process lives.

    Returns
    -------
    list of ReportRun
        The runs marked failed.
    """
    when = now or _now()
    failed: list[int] = []
    with transaction(db, write=True) as conn:
        rows = conn.execute(
            sa.select(report_runs.c.id, report_runs.c.outputs).where(
                report_runs.c.status == "running", report_runs.c.schedule_id.is_(None)
            )
        ).all()
        for run_id, outputs in rows:
            runner = dict((outputs or {}).get("runner") or {})
            if _process_gone(runner):
                finish_run(
                    conn,
                    int(run_id),
                    status="failed",
                    outputs=dict(outputs or {}),
                    error=(
                        f"the process that ran this report (pid {runner.get('pid')} on "
                        f"{runner.get('host')}) stopped before the run finished; run the "
                        "report again"
                    ),
                    finished_at=when,
                )
                failed.append(int(run_id))
        return [_load(conn, run_id) for run_id in failed]
