"""Schedules and the scheduler's claims on both backends (no notebooks run here)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marsgis import db, reports
from marsgis.db import leases, report_runs, transaction
from marsgis.db.report_runs import insert_run
from marsgis.db.schema import report_runs as report_runs_table
from marsgis.exceptions import DatabaseError, NotFoundError, ValidationError
from marsgis.reports.scheduler import (
    MISSED_LIST_MAX,
    claim_due,
    recover_expired_leases,
    seconds_until_due,
)
from marsgis.reports.schedules import next_due, validate_cron

T0 = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC)


def test_cron_validation_names_the_value_and_the_forms() -> None:
    assert validate_cron(" 0  6 * * * ") == "0 6 * * *"
    assert validate_cron("* * * * * */10") == "* * * * * */10"  # seconds as a 6th field
    assert validate_cron("@daily") == "@daily"
    for bad in ("", "every day", "61 * * * *", "* * * *", "* * * * * * *", "0 25 * * *"):
        with pytest.raises(
            ValidationError,
            match=re.escape(f"cron expression {bad!r} is not valid") + r".*'0 6 \* \* \*'",
        ):
            validate_cron(bad)
    with pytest.raises(ValidationError, match="must be a string"):
        validate_cron(6)  # type: ignore[arg-type]


def test_next_due_in_utc() -> None:
    assert next_due("0 6 * * *", T0) == datetime(2026, 3, 2, 6, tzinfo=UTC)  # strictly after
    assert next_due("0 6 * * *", T0 - timedelta(seconds=1)) == T0
    assert next_due("* * * * * */10", T0 + timedelta(seconds=3)) == T0 + timedelta(seconds=10)
    assert next_due("@hourly", T0 + timedelta(minutes=1)) == T0 + timedelta(hours=1)
    assert next_due("0 0 1 * *", datetime(2026, 12, 31, 23, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="no time zone"):
        next_due("0 6 * * *", datetime(2026, 3, 1))


def test_a_cron_that_never_fires_is_refused() -> None:
    for never in ("0 0 31 2 *", "0 0 30 2 *", "0 12 31 4 *", "0 0 31 6 * 0"):
        with pytest.raises(
            ValidationError, match=re.escape(f"cron expression {never!r} never fires")
        ) as info:
            validate_cron(never)
        assert "next 5 years" in str(info.value)
    # rare but real: February 29 fires in leap years; day 31 in the months that have one
    assert next_due("0 0 29 2 *", T0) == datetime(2028, 2, 29, tzinfo=UTC)
    assert next_due("0 0 31 * *", T0) == datetime(2026, 3, 31, tzinfo=UTC)


def test_a_schedule_for_a_mission_not_in_the_store_is_refused(db_url: str) -> None:
    stored = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=db_url)
    ghost = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    with pytest.raises(
        NotFoundError,
        match=re.escape(f"schedule 'ghost': report 'mission-plan' is for mission_id={ghost!r}")
        + ".*no mission with that id.*marsgis mission list",
    ):
        reports.add_schedule("ghost", "mission-plan", "@daily", {"mission_id": ghost}, db=db_url)
    with pytest.raises(ValidationError, match="'m' is not a mission id"):
        reports.add_schedule("bad id", "mission-plan", "@daily", {"mission_id": "m"}, db=db_url)
    with pytest.raises(ValidationError, match=re.escape("'0 0 31 2 *' never fires")):
        reports.add_schedule(
            "feb 31", "mission-plan", "0 0 31 2 *", {"mission_id": stored.id}, db=db_url
        )
    assert reports.list_schedules(db=db_url) == []  # nothing was stored
    added = reports.add_schedule(
        "real", "mission-plan", "0 6 * * *", {"mission_id": stored.id}, start=T0, db=db_url
    )
    assert added.parameters == {"mission_id": stored.id}
    assert added.next_run_at == datetime(2026, 3, 2, 6, tzinfo=UTC)


def test_add_list_remove(db_url: str, tiny_report: Path) -> None:
    m = db.add_mission("Scheduled", lat=-4.5895, lon=137.4417, db=db_url).id
    added = reports.add_schedule(
        "tiny every 10 s", tiny_report, "* * * * * */10", {"label": "a"}, start=T0, db=db_url
    )
    assert added.next_run_at == T0 + timedelta(seconds=10)
    assert added.report == str(tiny_report)
    assert added.parameters == {"label": "a"}
    assert added.enabled and added.locked_by is None
    other = reports.add_schedule(
        "a daily", "mission-plan", "0 6 * * *", {"mission_id": m}, start=T0, db=db_url
    )
    assert other.report == "mission-plan"
    assert [s.name for s in reports.list_schedules(db=db_url)] == ["a daily", "tiny every 10 s"]
    assert reports.get_schedule(added.id, db=db_url) == added
    assert reports.get_schedule(str(added.id), db=db_url) == added
    with pytest.raises(ValidationError, match="named 'a daily' exists already.*remove"):
        reports.add_schedule("a daily", "mission-plan", "@daily", {"mission_id": m}, db=db_url)
    with pytest.raises(ValidationError, match=r"needs parameter\(s\) 'mission_id'"):
        reports.add_schedule("no id", "mission-plan", "@daily", db=db_url)
    with pytest.raises(ValidationError, match="cron expression 'daily' is not valid"):
        reports.add_schedule("bad", "mission-plan", "daily", {"mission_id": m}, db=db_url)
    with pytest.raises(ValidationError, match="all digits"):
        reports.add_schedule("42", "mission-plan", "@daily", {"mission_id": m}, db=db_url)
    assert reports.remove_schedule("a daily", db=db_url).id == other.id
    with pytest.raises(NotFoundError, match="no report schedule 'a daily'.*schedule list"):
        reports.remove_schedule("a daily", db=db_url)
    assert [s.name for s in reports.list_schedules(db=db_url)] == ["tiny every 10 s"]


def test_claim_runs_the_latest_missed_time_once(db_url: str, tiny_report: Path) -> None:
    sched = reports.add_schedule(
        "every 10 s", tiny_report, "* * * * * */10", {"label": "a"}, start=T0, db=db_url
    )
    assert claim_due(db_url, worker="w1", now=T0 + timedelta(seconds=9)) is None  # not due
    now = T0 + timedelta(seconds=35)
    claim = claim_due(db_url, worker="w1", now=now, lease_s=60)
    assert claim is not None
    run = claim.run
    assert (run.status, run.schedule_id, run.schedule_name) == ("running", sched.id, sched.name)
    assert run.due_at == T0 + timedelta(seconds=30)  # latest due time ≤ now
    assert run.outputs["missed_due_times"] == [
        (T0 + timedelta(seconds=s)).isoformat() for s in (10, 20)
    ]
    assert run.outputs["runner"]["scheduler"] == "w1"
    after = reports.get_schedule(sched.id, db=db_url)
    assert after.next_run_at == T0 + timedelta(seconds=40)
    assert after.locked_by == "w1" and after.locked_until == now + timedelta(seconds=60)
    # locked: nobody claims it again, even once the next time is due
    later = T0 + timedelta(seconds=45)
    assert claim_due(db_url, worker="w2", now=later) is None
    assert seconds_until_due(db_url, now=later) == pytest.approx(50.0)  # the lease end
    # the lease holder finishes; the next due time is claimed once, with nothing missed
    with transaction(db_url, write=True) as conn:
        assert report_runs.finish_run(run.id, status="succeeded", outputs={}, error=None, db=conn)
    assert leases.release_lease(claim.schedule_id, worker=claim.worker, db=db_url)
    assert seconds_until_due(db_url, now=later) == 0.0
    second = claim_due(db_url, worker="w2", now=later)
    assert second is not None and second.run.due_at == T0 + timedelta(seconds=40)
    assert "missed_due_times" not in second.run.outputs


def test_many_missed_times_are_capped(spatialite_url: str, tiny_report: Path) -> None:
    reports.add_schedule(
        "every s", tiny_report, "* * * * * *", {"label": "a"}, start=T0, db=spatialite_url
    )
    now = T0 + timedelta(hours=1, microseconds=500)
    claim = claim_due(spatialite_url, worker="w", now=now)
    assert claim is not None
    assert claim.run.due_at == T0 + timedelta(hours=1)
    assert len(claim.run.outputs["missed_due_times"]) == MISSED_LIST_MAX
    assert claim.run.outputs["missed_more"] is True
    assert reports.get_schedule("every s", db=spatialite_url).next_run_at == now.replace(
        microsecond=0
    ) + timedelta(seconds=1)


def test_expired_lease_fails_the_run_and_frees_the_schedule(db_url: str, tiny_report: Path) -> None:
    reports.add_schedule("a", tiny_report, "* * * * * */10", {"label": "a"}, start=T0, db=db_url)
    reports.add_schedule("b", tiny_report, "* * * * * */10", {"label": "b"}, start=T0, db=db_url)
    now = T0 + timedelta(seconds=10)
    dead = claim_due(db_url, worker="dead", now=now, lease_s=5)
    alive = claim_due(db_url, worker="alive", now=now, lease_s=3600)
    assert dead is not None and alive is not None
    assert recover_expired_leases(db_url, now=now + timedelta(seconds=4)) == []  # not expired yet
    failed = recover_expired_leases(db_url, now=now + timedelta(seconds=6))
    assert [r.id for r in failed] == [dead.run.id]
    assert failed[0].status == "failed"
    assert failed[0].error is not None
    assert failed[0].error.startswith(
        "interrupted: the scheduler 'dead' running this report stopped"
    )
    assert failed[0].finished_at == now + timedelta(seconds=6)
    assert reports.get_schedule(dead.schedule_id, db=db_url).locked_by is None
    assert reports.get_schedule(alive.schedule_id, db=db_url).locked_by == "alive"
    assert reports.get_run(alive.run.id, db=db_url).status == "running"
    # the freed schedule runs its next due time; the interrupted one is not repeated
    again = claim_due(db_url, worker="new", now=now + timedelta(seconds=21))
    assert again is not None and again.schedule_id == dead.schedule_id
    assert again.run.due_at == T0 + timedelta(seconds=30)
    assert again.run.outputs["missed_due_times"] == [(T0 + timedelta(seconds=20)).isoformat()]


def test_one_due_time_has_one_run(db_url: str, tiny_report: Path) -> None:
    sched = reports.add_schedule("u", tiny_report, "@daily", {"label": "a"}, start=T0, db=db_url)
    with transaction(db_url, write=True) as conn:
        insert_run(
            report="x",
            parameters={},
            outputs={},
            started_at=T0,
            schedule_id=sched.id,
            due_at=T0,
            db=conn,
        )
    with pytest.raises(DatabaseError, match="refused"), transaction(db_url, write=True) as conn:
        insert_run(
            report="x",
            parameters={},
            outputs={},
            started_at=T0,
            schedule_id=sched.id,
            due_at=T0,
            db=conn,
        )
    with transaction(db_url) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(report_runs_table)).scalar() == 1


def test_racing_schedulers_claim_once(db_url: str, tiny_report: Path) -> None:
    reports.add_schedule("race", tiny_report, "* * * * * */10", {"label": "a"}, start=T0, db=db_url)
    now = T0 + timedelta(seconds=10)
    barrier = threading.Barrier(4)
    claims: list[object] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        barrier.wait()
        try:
            claims.append(claim_due(db_url, worker=name, now=now))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    assert len(reports.list_runs(db=db_url)) == 1
