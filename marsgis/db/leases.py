"""Schedule leases: which scheduler runs a schedule now, and until when (``report_schedules``).

A scheduler that runs a schedule holds its lease: ``locked_by`` (the scheduler's name) and
``locked_until`` (when the lease ends unless renewed). The functions here take, renew,
release and recover leases, each in one transaction:

* :func:`claim_due_schedule` locks the most overdue free schedule (``SELECT … FOR UPDATE SKIP
  LOCKED`` on PostGIS; SQLite serialises writers with ``BEGIN IMMEDIATE``), takes its lease,
  moves ``next_run_at`` on and inserts the ``running`` run — all or nothing;
* :func:`recover_expired_leases` fails the running runs of every lease that has expired and
  frees those schedules.

Events (:mod:`marsgis.db.events`): a claim records ``report_run.started`` and
``schedule.fired``; a recovery records ``report_run.failed`` for each run it fails. Taking
turns on a lease (:func:`renew_lease`, :func:`release_lease`) is the schedulers' bookkeeping,
not a change anyone subscribes to: it records no event.

What is due, which due time a run stands for and what an expired lease means are decided by
:mod:`marsgis.reports.scheduler` and come in as values and callbacks; this module only reads and
writes rows. Every function takes ``db``: a database URL, an engine, an open connection (the
call joins its transaction), or None for the configured default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from marsgis.db import report_runs
from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.events import append_event
from marsgis.db.report_runs import ReportRun
from marsgis.db.schedules import Schedule, to_schedule
from marsgis.db.schema import report_schedules

__all__ = [
    "DueRun",
    "ExpiredLease",
    "Lease",
    "claim_due_schedule",
    "earliest_lease_end",
    "recover_expired_leases",
    "release_lease",
    "renew_lease",
]


@dataclass(frozen=True)
class Lease:
    """A scheduler's hold on a schedule: ``worker`` runs it, until ``until`` unless renewed."""

    schedule_id: int
    schedule_name: str
    worker: str
    until: datetime


@dataclass(frozen=True)
class DueRun:
    """The run a claim starts, as the scheduler works it out from the claimed schedule.

    Attributes
    ----------
    due_at
        The due time the run stands for.
    next_run_at
        The schedule's next due time after this claim.
    outputs
        The run's first outputs (``runner``, ``missed_due_times``, ...).
    """

    due_at: datetime
    next_run_at: datetime
    outputs: Mapping[str, Any]


@dataclass(frozen=True)
class ExpiredLease:
    """A lease found expired and freed, with the runs it held that were marked failed."""

    lease: Lease
    failed: tuple[ReportRun, ...]


def claim_due_schedule(
    *,
    worker: str,
    due_by: datetime,
    lease_until: datetime,
    started_at: datetime,
    plan: Callable[[Schedule], DueRun],
    db: DatabaseLike = None,
) -> tuple[Schedule, ReportRun] | None:
    """Claim the most overdue enabled, free schedule due by ``due_by``; None when there is none.

    In one transaction: lock the schedule row, ask ``plan`` which run to start, take the lease
    (``worker`` until ``lease_until``), set ``next_run_at`` and insert the ``running`` run. If
    anything fails nothing is written; two schedulers racing claim a schedule once.

    Parameters
    ----------
    worker
        The claiming scheduler's name (stored in ``locked_by``).
    due_by
        Only schedules with ``next_run_at`` at or before this time are claimed.
    lease_until
        End of the lease taken.
    started_at
        Start time of the inserted run.
    plan
        Called with the locked schedule (as it was before the claim); returns the run to start.
    db
        Database URL, engine, open connection, or None for the configured default.

    Returns
    -------
    tuple of (Schedule, ReportRun) or None
        The schedule as it was before the claim and the inserted run.
    """
    s = report_schedules.c
    with transaction(db, write=True) as conn:
        query = (
            sa.select(report_schedules)
            .where(s.enabled.is_(sa.true()), s.next_run_at <= due_by, s.locked_by.is_(None))
            .order_by(s.next_run_at, s.id)
            .limit(1)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        schedule = to_schedule(row)
        due = plan(schedule)
        conn.execute(
            report_schedules.update()
            .where(s.id == schedule.id, s.locked_by.is_(None))
            .values(next_run_at=due.next_run_at, locked_by=worker, locked_until=lease_until)
        )
        run = report_runs.insert_run(
            report=schedule.report,
            parameters=schedule.parameters,
            outputs=due.outputs,
            started_at=started_at,
            schedule_id=schedule.id,
            due_at=due.due_at,
            db=conn,
        )
        append_event(
            conn,
            "schedule.fired",
            schedule.id,
            {
                "name": schedule.name,
                "due_at": due.due_at.isoformat(),
                "run_id": run.id,
                "worker": worker,
            },
        )
    return schedule, run


def renew_lease(schedule_id: int, *, worker: str, until: datetime, db: DatabaseLike = None) -> bool:
    """Move the end of ``worker``'s lease on a schedule to ``until``.

    Returns False when ``worker`` no longer holds it (it expired and was recovered, or the
    schedule was removed).
    """
    s = report_schedules.c
    with transaction(db, write=True) as conn:
        result = conn.execute(
            report_schedules.update()
            .where(s.id == schedule_id, s.locked_by == worker)
            .values(locked_until=until)
        )
    return result.rowcount == 1


def release_lease(schedule_id: int, *, worker: str, db: DatabaseLike = None) -> bool:
    """Free a schedule held by ``worker``; False when ``worker`` did not hold it."""
    s = report_schedules.c
    with transaction(db, write=True) as conn:
        result = conn.execute(
            report_schedules.update()
            .where(s.id == schedule_id, s.locked_by == worker)
            .values(locked_by=None, locked_until=None)
        )
    return result.rowcount == 1


def recover_expired_leases(
    now: datetime,
    *,
    run_error: Callable[[Lease], str],
    db: DatabaseLike = None,
) -> list[ExpiredLease]:
    """Free every schedule whose lease ended before ``now`` and fail the runs it held.

    In one transaction, for each expired lease (rows another scheduler is recovering are
    skipped on PostGIS): its schedule's ``running`` runs are finished ``failed`` at ``now``
    with the error ``run_error(lease)``, and the lease is cleared.

    Parameters
    ----------
    now
        Aware datetime: leases with ``locked_until`` before it have expired.
    run_error
        The error text recorded with the failed runs of a lease.
    db
        Database URL, engine, open connection, or None for the configured default.

    Returns
    -------
    list of ExpiredLease
        The leases freed, each with the runs marked failed (as stored now).
    """
    s = report_schedules.c
    recovered: list[ExpiredLease] = []
    with transaction(db, write=True) as conn:
        query = sa.select(s.id, s.name, s.locked_by, s.locked_until).where(
            s.locked_by.is_not(None), s.locked_until < now
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for schedule_id, name, holder, until in conn.execute(query).all():
            lease = Lease(int(schedule_id), str(name), str(holder), until)
            error = run_error(lease)
            failed: list[int] = []
            for run in report_runs.running_runs(lease.schedule_id, db=conn):
                report_runs.finish_run(
                    run.id,
                    status="failed",
                    outputs=run.outputs,
                    error=error,
                    finished_at=now,
                    db=conn,
                )
                failed.append(run.id)
            release_lease(lease.schedule_id, worker=lease.worker, db=conn)
            runs = tuple(report_runs.get_run(run_id, db=conn) for run_id in failed)
            recovered.append(ExpiredLease(lease, runs))
    return recovered


def earliest_lease_end(db: DatabaseLike = None) -> datetime | None:
    """The earliest ``locked_until`` of the held schedules (None: no schedule is held)."""
    s = report_schedules.c
    with transaction(db) as conn:
        value: datetime | None = conn.execute(
            sa.select(sa.func.min(s.locked_until)).where(s.locked_by.is_not(None))
        ).scalar()
    return value  # MIN() keeps the column's type: an aware UTC datetime
