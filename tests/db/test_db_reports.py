"""Report runs, schedules and schedule leases: the row access of marsgis.db, both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marsgis.db import DatabaseLike, leases, report_runs, schedules, transaction
from marsgis.db.leases import DueRun, Lease
from marsgis.db.schedules import Schedule
from marsgis.exceptions import NotFoundError, ValidationError

T0 = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC)


def _schedule(
    db: DatabaseLike, name: str, next_run_at: datetime, *, enabled: bool = True
) -> Schedule:
    return schedules.insert_schedule(
        name=name,
        report="mission-plan",
        cron="* * * * * */10",
        parameters={"mission_id": name},
        enabled=enabled,
        next_run_at=next_run_at,
        created_at=T0,
        db=db,
    )


def test_run_rows_round_trip(db_url: str) -> None:
    sched = _schedule(db_url, "every 10 s", T0)
    by_hand = report_runs.insert_run(
        report="mission-plan",
        parameters={"mission_id": "m", "date": "2026-03-01"},
        outputs={"runner": {"host": "h", "pid": 1}},
        started_at=T0,
        db=db_url,
    )
    scheduled = report_runs.insert_run(
        report="mission-plan",
        parameters={},
        outputs={},
        started_at=T0 + timedelta(seconds=1),
        schedule_id=sched.id,
        due_at=T0,
        db=db_url,
    )
    assert (by_hand.status, by_hand.schedule_id, by_hand.schedule_name) == ("running", None, None)
    assert by_hand.parameters == {"mission_id": "m", "date": "2026-03-01"}
    assert by_hand.started_at == T0 and by_hand.finished_at is None
    assert (scheduled.schedule_id, scheduled.schedule_name) == (sched.id, "every 10 s")
    assert scheduled.due_at == T0
    assert report_runs.get_run(by_hand.id, db=db_url) == by_hand
    assert report_runs.running_runs(None, db=db_url) == [by_hand]
    assert report_runs.running_runs(sched.id, db=db_url) == [scheduled]

    done = T0 + timedelta(seconds=90)
    assert report_runs.finish_run(
        by_hand.id, status="failed", outputs={"html": "/r.html"}, error="x" * 5000,
        finished_at=done, db=db_url,
    )  # fmt: skip
    # only a running run finishes: the second call changes nothing
    assert not report_runs.finish_run(
        by_hand.id, status="succeeded", outputs={}, error=None, db=db_url
    )
    failed = report_runs.get_run(by_hand.id, db=db_url)
    assert failed.status == "failed" and failed.finished_at == done
    assert failed.duration_s == 90.0
    assert failed.error == "x" * report_runs.ERROR_MAX
    assert str(failed.html) == "/r.html"
    assert report_runs.running_runs(None, db=db_url) == []
    assert [r.id for r in report_runs.list_runs(db=db_url)] == [scheduled.id, by_hand.id]
    assert report_runs.list_runs(status="failed", db=db_url) == [failed]
    assert report_runs.list_runs(schedule="every 10 s", db=db_url) == [scheduled]
    assert report_runs.list_runs(schedule=sched.id, limit=1, db=db_url) == [scheduled]
    with pytest.raises(NotFoundError, match="no report schedule 'every 10 min'"):
        report_runs.list_runs(schedule="every 10 min", db=db_url)
    with pytest.raises(NotFoundError, match=rf"no report schedule {sched.id + 1}"):
        report_runs.list_runs(schedule=sched.id + 1, db=db_url)
    with pytest.raises(ValidationError, match="not 'running'"):
        report_runs.finish_run(scheduled.id, status="running", outputs={}, error=None, db=db_url)
    with pytest.raises(ValidationError, match="run status 'done' is not one of"):
        report_runs.list_runs(status="done", db=db_url)
    with pytest.raises(NotFoundError, match="no report run with id 999"):
        report_runs.get_run(999, db=db_url)


def test_grouped_writes_are_all_or_nothing(db_url: str) -> None:
    with pytest.raises(RuntimeError, match="stop"), transaction(db_url, write=True) as conn:
        sched = _schedule(conn, "grouped", T0)
        report_runs.insert_run(
            report="mission-plan", parameters={}, outputs={}, started_at=T0,
            schedule_id=sched.id, due_at=T0, db=conn,
        )  # fmt: skip
        assert len(report_runs.list_runs(db=conn)) == 1  # visible inside the transaction
        raise RuntimeError("stop")
    assert schedules.list_schedules(db=db_url) == []
    assert report_runs.list_runs(db=db_url) == []


def test_schedule_rows(db_url: str) -> None:
    assert schedules.earliest_due(db=db_url) is None
    late = _schedule(db_url, "late", T0 + timedelta(hours=1))
    _schedule(db_url, "off", T0 - timedelta(hours=1), enabled=False)
    assert schedules.get_schedule("late", db=db_url) == late
    assert schedules.get_schedule(str(late.id), db=db_url) == late
    assert late.parameters == {"mission_id": "late"} and late.locked_by is None
    assert schedules.earliest_due(db=db_url) == T0 + timedelta(hours=1)  # "off" is disabled
    with pytest.raises(ValidationError, match="named 'late' exists already"):
        _schedule(db_url, "late", T0)
    assert [s.name for s in schedules.list_schedules(db=db_url)] == ["late", "off"]
    assert schedules.delete_schedule(late.id, db=db_url) == late
    with pytest.raises(NotFoundError, match="no report schedule 'late'"):
        schedules.get_schedule("late", db=db_url)


def _plan(schedule: Schedule) -> DueRun:
    return DueRun(
        due_at=schedule.next_run_at,
        next_run_at=schedule.next_run_at + timedelta(seconds=10),
        outputs={"planned_for": schedule.name},
    )


def test_a_failed_claim_leaves_the_schedule_as_it_was(db_url: str) -> None:
    sched = _schedule(db_url, "s", T0)

    def broken(schedule: Schedule) -> DueRun:
        raise ValueError(f"cannot plan {schedule.name}")

    with pytest.raises(ValueError, match="cannot plan s"):
        leases.claim_due_schedule(
            worker="w", due_by=T0, lease_until=T0 + timedelta(minutes=2), started_at=T0,
            plan=broken, db=db_url,
        )  # fmt: skip
    assert schedules.get_schedule(sched.id, db=db_url) == sched
    assert report_runs.list_runs(db=db_url) == []


def test_lease_lifecycle(db_url: str) -> None:
    first = _schedule(db_url, "first", T0)
    _schedule(db_url, "second", T0 + timedelta(seconds=5))
    until = T0 + timedelta(minutes=2)
    nothing = leases.claim_due_schedule(
        worker="w1", due_by=T0 - timedelta(seconds=1), lease_until=until, started_at=T0,
        plan=_plan, db=db_url,
    )  # fmt: skip
    assert nothing is None  # nothing due yet
    claimed = leases.claim_due_schedule(
        worker="w1", due_by=T0 + timedelta(seconds=5), lease_until=until, started_at=T0,
        plan=_plan, db=db_url,
    )  # fmt: skip
    assert claimed is not None
    schedule, run = claimed
    assert schedule == first  # the most overdue, as it was before the claim
    assert (run.schedule_id, run.due_at, run.status) == (first.id, T0, "running")
    assert run.outputs == {"planned_for": "first"} and run.parameters == first.parameters
    held = schedules.get_schedule(first.id, db=db_url)
    assert (held.locked_by, held.locked_until) == ("w1", until)
    assert held.next_run_at == T0 + timedelta(seconds=10)
    assert leases.earliest_lease_end(db=db_url) == until
    assert schedules.earliest_due(db=db_url) == T0 + timedelta(seconds=5)  # held ones aside

    # renewing: only the holder can
    longer = until + timedelta(minutes=1)
    assert not leases.renew_lease(first.id, worker="w2", until=longer, db=db_url)
    assert leases.renew_lease(first.id, worker="w1", until=longer, db=db_url)
    assert schedules.get_schedule(first.id, db=db_url).locked_until == longer

    # recovery: nothing before the lease ends, then the run fails and the schedule is free
    def why(lease: Lease) -> str:
        return f"{lease.worker} stopped holding {lease.schedule_name} at {lease.until:%H:%M}"

    assert leases.recover_expired_leases(longer, run_error=why, db=db_url) == []
    later = longer + timedelta(seconds=1)
    [expired] = leases.recover_expired_leases(later, run_error=why, db=db_url)
    assert expired.lease == Lease(first.id, "first", "w1", longer)
    [failed] = expired.failed
    assert (failed.id, failed.status, failed.finished_at) == (run.id, "failed", later)
    assert failed.error == "w1 stopped holding first at 06:03"
    freed = schedules.get_schedule(first.id, db=db_url)
    assert (freed.locked_by, freed.locked_until) == (None, None)
    assert leases.earliest_lease_end(db=db_url) is None
    assert not leases.release_lease(first.id, worker="w1", db=db_url)  # already freed

    # a released lease frees the schedule for the next claim
    again = leases.claim_due_schedule(
        worker="w2", due_by=later, lease_until=later + timedelta(minutes=2), started_at=later,
        plan=_plan, db=db_url,
    )  # fmt: skip
    assert again is not None and again[0].name == "second"
    assert leases.release_lease(again[0].id, worker="w2", db=db_url)
    assert schedules.get_schedule("second", db=db_url).locked_by is None
