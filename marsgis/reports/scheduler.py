"""The report scheduler: run what is due, once, even across restarts and several schedulers.

How a due time becomes a run
----------------------------
Each schedule stores ``next_run_at``. When it has passed, a scheduler **claims** the schedule
in one transaction (:func:`marsgis.db.leases.claim_due_schedule`): it locks the row
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostGIS; SQLite serialises writers with
``BEGIN IMMEDIATE``), takes a lease (``locked_by`` = this scheduler, ``locked_until`` = now +
lease), advances ``next_run_at`` past now, and inserts the run row (``running``, ``due_at`` =
the due time) — all or nothing. ``UNIQUE(schedule_id, due_at)`` makes a second run of one due
time impossible even if two schedulers raced. The run then executes outside the transaction
while a heartbeat thread extends the lease; then the run is finished and the lease released.
This module decides what is due and what a lease's expiry means; :mod:`marsgis.db.leases`
reads and writes the rows.

Guarantees
----------
* **No duplicate**: a due time is claimed once (row lock + unique constraint).
* **One at a time**: a schedule with a live lease is not claimed, so one schedule never runs
  twice at once, whatever the number of schedulers.
* **Nothing lost silently**: a scheduler that dies mid-run leaves a lease that stops being
  renewed. Once it has expired, the next scheduler pass marks that run ``failed`` with an
  error saying the scheduler holding it stopped, and frees the schedule
  (:func:`recover_expired_leases`). Failures of the report itself are recorded as ``failed``
  and never stop the scheduler.
* **Catch-up policy: latest once.** If several due times passed while no scheduler ran (or
  while the previous run was still going), the schedule runs **once, for the latest of them**;
  the earlier ones are not run but listed in that run's ``outputs["missed_due_times"]``
  (at most :data:`MISSED_LIST_MAX`, with ``missed_more`` true beyond). Reports describe the
  current state, so ten stale copies of one report help nobody, yet every due time is
  accounted for in the run history.

Reports of one scheduler run one after another; run more schedulers (any host, same
database) for parallelism. :func:`run_scheduler` is the loop behind ``marsgis scheduler``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from marsgis.db import Engine, leases, report_runs, schedules, transaction
from marsgis.db.leases import DueRun, Lease
from marsgis.db.report_runs import ReportRun
from marsgis.db.schedules import Schedule
from marsgis.exceptions import MarsGISError, ValidationError
from marsgis.reports.execute import execute_run
from marsgis.reports.runs import fail_abandoned_runs, runner_identity
from marsgis.reports.schedules import next_due

__all__ = [
    "DEFAULT_LEASE_S",
    "MISSED_LIST_MAX",
    "Claim",
    "claim_due",
    "recover_expired_leases",
    "run_due",
    "run_scheduler",
    "scheduler_id",
    "seconds_until_due",
]

log = logging.getLogger("marsgis.reports.scheduler")

#: Default lease of a running schedule, seconds (renewed every lease/4 while it runs).
DEFAULT_LEASE_S = 120.0
#: Most missed due times listed in a catch-up run's outputs.
MISSED_LIST_MAX = 100


@dataclass(frozen=True)
class Claim:
    """A run this scheduler claimed: the run row and the schedule's lease it holds."""

    run: ReportRun
    schedule_id: int
    schedule_name: str
    worker: str
    missed: tuple[datetime, ...]


def scheduler_id() -> str:
    """A name for this scheduler process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now() -> datetime:
    return datetime.now(UTC)


def _check_lease(lease_s: float) -> float:
    if not (isinstance(lease_s, (int, float)) and lease_s > 0):
        raise ValidationError(f"lease {lease_s!r} must be a positive number of seconds")
    return float(lease_s)


def _expired_error(lease: Lease) -> str:
    return (
        f"interrupted: the scheduler {lease.worker!r} running this report stopped "
        f"(its lease on schedule {lease.schedule_name!r} expired at {lease.until.isoformat()}); "
        "the run was not retried, the schedule continues with its next due time"
    )


def recover_expired_leases(
    db: str | Engine | None = None, *, now: datetime | None = None
) -> list[ReportRun]:
    """Free the schedules whose scheduler stopped renewing its lease; fail their runs.

    For every schedule locked with ``locked_until`` in the past, its runs still ``running``
    are marked ``failed`` (the error names the scheduler and when its lease expired) and the
    lock is cleared, in one transaction. Also marks failed the hand-started runs of dead
    processes on this host (:func:`~marsgis.reports.runs.fail_abandoned_runs`).

    Returns
    -------
    list of ReportRun
        The runs marked failed.
    """
    when = now or _now()
    runs: list[ReportRun] = []
    for expired in leases.recover_expired_leases(when, run_error=_expired_error, db=db):
        log.warning(
            "schedule %r: lease of %r expired at %s; %d run(s) marked failed",
            expired.lease.schedule_name,
            expired.lease.worker,
            expired.lease.until.isoformat(),
            len(expired.failed),
        )
        runs.extend(expired.failed)
    return runs + fail_abandoned_runs(db, now=when)


def _due_times(cron: str, first: datetime, now: datetime) -> tuple[datetime, list[datetime], bool]:
    """``(latest due ≤ now, earlier due times (capped), whether the list was capped)``."""
    from croniter import croniter

    missed: list[datetime] = []
    latest = first
    it = croniter(cron, first)
    while True:
        candidate = it.get_next(datetime).astimezone(UTC)
        if candidate > now:
            return latest, missed, False
        missed.append(latest)
        latest = candidate
        if len(missed) >= MISSED_LIST_MAX:
            break
    # many more missed: jump straight to the latest due time ≤ now
    start = now.replace(microsecond=0) + timedelta(seconds=1)
    tail = croniter(cron, start).get_prev(datetime).astimezone(UTC)
    if tail > now:
        tail = latest
    more = tail > latest
    if more:
        latest = tail
    return latest, missed, more


def claim_due(
    db: str | Engine | None = None,
    *,
    worker: str,
    now: datetime | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    due_by: datetime | None = None,
) -> Claim | None:
    """Claim the most overdue schedule that is due and not running, or return None.

    In one transaction: lock the schedule, take the lease, advance ``next_run_at`` past
    ``now`` and insert the ``running`` run for the latest due time (see the module docs for
    the catch-up policy). With ``due_by``, only schedules due by then are claimed.
    """
    when = now or _now()
    cutoff = when if due_by is None else min(when, due_by)
    lease = _check_lease(lease_s)

    def plan(schedule: Schedule) -> DueRun:
        due, missed, more = _due_times(schedule.cron, schedule.next_run_at, when)
        outputs: dict[str, Any] = {"runner": {**runner_identity(), "scheduler": worker}}
        if missed:
            outputs["missed_due_times"] = [t.isoformat() for t in missed]
            if more:
                outputs["missed_more"] = True
        return DueRun(due_at=due, next_run_at=next_due(schedule.cron, due), outputs=outputs)

    claimed = leases.claim_due_schedule(
        worker=worker,
        due_by=cutoff,
        lease_until=when + timedelta(seconds=lease),
        started_at=when,
        plan=plan,
        db=db,
    )
    if claimed is None:
        return None
    schedule, run = claimed
    missed = tuple(datetime.fromisoformat(t) for t in run.outputs.get("missed_due_times", []))
    if missed:
        log.warning(
            "schedule %r: %d earlier due time(s) missed%s; running once for %s",
            schedule.name,
            len(missed),
            " (and more)" if run.outputs.get("missed_more") else "",
            None if run.due_at is None else run.due_at.isoformat(),
        )
    return Claim(
        run=run,
        schedule_id=schedule.id,
        schedule_name=schedule.name,
        worker=worker,
        missed=missed,
    )


class _Heartbeat(threading.Thread):
    """Extends a claim's lease every lease/4 seconds until stopped."""

    def __init__(self, claim: Claim, db: str | Engine | None, lease_s: float) -> None:
        super().__init__(name=f"marsgis-lease-{claim.schedule_id}", daemon=True)
        self.claim, self.db, self.lease_s = claim, db, lease_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.lease_s / 4):
            try:
                renewed = leases.renew_lease(
                    self.claim.schedule_id,
                    worker=self.claim.worker,
                    until=_now() + timedelta(seconds=self.lease_s),
                    db=self.db,
                )
                if not renewed:
                    log.error(
                        "schedule %r: lost the lease of run %d (expired and recovered, or the "
                        "schedule was removed)",
                        self.claim.schedule_name,
                        self.claim.run.id,
                    )
                    return
            except MarsGISError as exc:  # a database hiccup: try again at the next beat
                log.warning("schedule %r: lease renewal failed: %s", self.claim.schedule_name, exc)


def _execute_claim(
    claim: Claim,
    *,
    db: str | Engine | None,
    lease_s: float,
    out_dir: str | Path | None,
    timeout_s: float | None,
) -> ReportRun:
    beat = _Heartbeat(claim, db, lease_s)
    beat.start()
    try:
        run = execute_run(claim.run, db=db, out_dir=out_dir, timeout_s=timeout_s)
    except BaseException as exc:  # e.g. Ctrl-C: record why before going
        report_runs.finish_run(
            claim.run.id,
            status="failed",
            outputs=claim.run.outputs,
            error=f"interrupted: the scheduler stopped during the run ({type(exc).__name__})",
            db=db,
        )
        raise
    finally:
        beat.stopped.set()
        beat.join()
        leases.release_lease(claim.schedule_id, worker=claim.worker, db=db)
    log.info(
        "schedule %r: run %d for %s %s%s",
        claim.schedule_name,
        run.id,
        None if run.due_at is None else run.due_at.isoformat(),
        run.status,
        f" ({run.error})" if run.error else "",
    )
    return run


def run_due(
    db: str | Engine | None = None,
    *,
    worker: str | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    out_dir: str | Path | None = None,
    timeout_s: float | None = None,
    stop: threading.Event | None = None,
) -> list[ReportRun]:
    """One scheduler pass: recover expired leases, then run every schedule due when it began.

    A failing report is recorded as failed and the pass goes on with the next schedule. Due
    times that come while the pass runs are left to the next pass.

    Returns
    -------
    list of ReportRun
        Runs finished in this pass, and runs marked failed by the recovery.
    """
    me = worker or scheduler_id()
    lease = _check_lease(lease_s)
    began = _now()
    done = recover_expired_leases(db, now=began)
    while stop is None or not stop.is_set():
        claim = claim_due(db, worker=me, lease_s=lease, due_by=began)
        if claim is None:
            break
        done.append(
            _execute_claim(claim, db=db, lease_s=lease, out_dir=out_dir, timeout_s=timeout_s)
        )
    return done


def seconds_until_due(
    db: str | Engine | None = None, *, now: datetime | None = None
) -> float | None:
    """Seconds until the earliest enabled schedule is due or a lease expires (None: none)."""
    when = now or _now()
    with transaction(db) as conn:
        due = schedules.earliest_due(db=conn)
        lease = leases.earliest_lease_end(db=conn)
    times = [t for t in (due, lease) if t is not None]
    if not times:
        return None
    return max(0.0, (min(times) - when).total_seconds())


def run_scheduler(
    db: str | Engine | None = None,
    *,
    interval_s: float = 30.0,
    once: bool = False,
    lease_s: float = DEFAULT_LEASE_S,
    out_dir: str | Path | None = None,
    timeout_s: float | None = None,
    stop: threading.Event | None = None,
) -> list[ReportRun]:
    """Run due reports until ``stop`` is set (or one pass with ``once``).

    Between passes it sleeps until the next schedule is due, at most ``interval_s``. An error
    in a pass (the database restarting, say) is logged and the pass retried after
    ``interval_s``, so it does not end the scheduler; with ``once`` it is raised.

    Returns
    -------
    list of ReportRun
        Every run finished (or recovered as failed) while it ran.
    """
    if not (isinstance(interval_s, (int, float)) and interval_s > 0):
        raise ValidationError(f"interval {interval_s!r} must be a positive number of seconds")
    lease = _check_lease(lease_s)
    halt = stop or threading.Event()
    me = scheduler_id()
    log.info("scheduler %s started (interval %s s, lease %s s)", me, interval_s, lease)
    done: list[ReportRun] = []
    while not halt.is_set():
        try:
            done += run_due(
                db, worker=me, lease_s=lease, out_dir=out_dir, timeout_s=timeout_s, stop=halt
            )
            wait = seconds_until_due(db)
        except MarsGISError as exc:
            if once:
                raise
            log.error("scheduler pass failed, retrying in %s s: %s", interval_s, exc)
            wait = interval_s
        except Exception:  # anything else: keep the service up, log it with its traceback
            if once:
                raise
            log.exception("scheduler pass failed unexpectedly, retrying in %s s", interval_s)
            wait = interval_s
        if once:
            break
        pause = interval_s if wait is None else min(interval_s, wait + 0.05)
        halt.wait(max(pause, 0.05))
    log.info("scheduler %s stopped", me)
    return done
