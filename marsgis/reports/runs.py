"""Report runs: who runs them, the run history as a table, and runs left behind.

The runs are recorded in the database by :mod:`marsgis.db.report_runs` (a run is inserted as
``running`` before its notebook starts and finished as ``succeeded`` or ``failed``);
:class:`ReportRun`, :func:`get_run` and :func:`list_runs` come from there.

A run left ``running`` by a process that died is not left so for ever: the scheduler marks
the runs of an expired schedule lease failed (:mod:`marsgis.reports.scheduler`), and
:func:`fail_abandoned_runs` marks failed the hand-started runs whose process on this host is
gone. Every function takes ``db``: a database URL, an engine, an open connection, or None for
the configured default (``MARSGIS_DATABASE_URL``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from marsgis.db import transaction
from marsgis.db.report_runs import (
    REPORT_RUN_STATUSES,
    ReportRun,
    finish_run,
    get_run,
    list_runs,
    running_runs,
)
from marsgis.exceptions import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from marsgis.db import DatabaseLike

__all__ = [
    "REPORT_RUN_STATUSES",
    "ReportRun",
    "fail_abandoned_runs",
    "get_run",
    "list_runs",
    "runner_identity",
    "runs_frame",
]


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


def runs_frame(
    runs: Iterable[ReportRun] | None = None,
    *,
    report: str | None = None,
    schedule: str | int | None = None,
    status: str | None = None,
    limit: int | None = 100,
    db: DatabaseLike = None,
) -> pd.DataFrame:
    """Report runs as a table, one row each (newest first when read from the database).

    Parameters
    ----------
    runs
        The runs to tabulate (e.g. those a dashboard already loaded); None (the default) to
        read them with :func:`list_runs` and the filters below.
    report, schedule, status, limit, db
        The filters of :func:`list_runs`; only without ``runs``.

    Returns
    -------
    pandas.DataFrame
        Columns: ``id``, ``report``, ``schedule``, ``due_at``, ``status``, ``started_at``,
        ``finished_at``, ``duration_s``, ``parameters`` (JSON text), ``html``, ``notebook``,
        ``missed`` (due times a catch-up run stood in for) and ``error``.
    """
    import json

    import pandas as pd

    if runs is None:
        runs = list_runs(report=report, schedule=schedule, status=status, limit=limit, db=db)
    elif (report, schedule, status, db) != (None, None, None, None) or limit != 100:
        raise ValidationError(
            "runs_frame takes either runs or the filters report/schedule/status/limit/db, "
            "not both; filter with list_runs(...) and pass its result"
        )
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


def fail_abandoned_runs(db: DatabaseLike = None, *, now: datetime | None = None) -> list[ReportRun]:
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
        for run in running_runs(None, db=conn):
            runner = dict(run.outputs.get("runner") or {})
            if _process_gone(runner):
                finish_run(
                    run.id,
                    status="failed",
                    outputs=run.outputs,
                    error=(
                        f"the process that ran this report (pid {runner.get('pid')} on "
                        f"{runner.get('host')}) stopped before the run finished; run the "
                        "report again"
                    ),
                    finished_at=when,
                    db=conn,
                )
                failed.append(run.id)
        return [get_run(run_id, db=conn) for run_id in failed]
