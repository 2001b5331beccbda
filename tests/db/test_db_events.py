"""The event log, both backends: each change writes its one event in its own transaction.

The reference for each event is what the store function itself returned (the mission, the task,
the run) and the rows it left: an event is checked against the change it stands for. Rollbacks
are forced with real database triggers (the technique of test_db_plans.py): a change that fails
leaves no event, and an event that cannot be written takes its change with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from marsgis import db
from marsgis.db import leases, models, report_runs, schedules
from marsgis.db.events import (
    EVENT_TYPES,
    Event,
    acting_as,
    current_actor,
    last_event_id,
    parse_topics,
    read_events,
)
from marsgis.db.leases import DueRun
from marsgis.exceptions import (
    ConcurrencyError,
    DatabaseError,
    StateTransitionError,
    ValidationError,
)

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _new(db_url: str, change: Callable[[], Any]) -> tuple[Any, list[Event]]:
    """Run ``change`` and return its result and the events it recorded."""
    before = last_event_id(db=db_url)
    result = change()
    return result, read_events(before, db=db_url)


def _one(db_url: str, change: Callable[[], Any], type_: str, subject: object) -> tuple[Any, Event]:
    result, new = _new(db_url, change)
    assert [(e.type, e.topic, e.subject) for e in new] == [
        (type_, EVENT_TYPES[type_], str(subject(result) if callable(subject) else subject))
    ]
    return result, new[0]


def _trigger(db_url: str, table: str, when: str, *, on: str = "INSERT") -> None:
    """A real trigger that makes matching ``on`` statements on ``table`` fail."""
    with db.get_engine(db_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "CREATE OR REPLACE FUNCTION marsgis_test_fail() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER marsgis_test_fail BEFORE {on} ON {table} FOR EACH ROW "
                    f"WHEN ({when}) EXECUTE FUNCTION marsgis_test_fail()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER marsgis_test_fail BEFORE {on} ON {table} WHEN {when} "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )


def _untrigger(db_url: str, table: str) -> None:
    with db.get_engine(db_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"DROP TRIGGER marsgis_test_fail ON {table}"))
        else:
            conn.execute(sa.text("DROP TRIGGER marsgis_test_fail"))


def _count(db_url: str, table: str) -> int:
    with db.get_engine(db_url).connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


# --------------------------------------------------------------------------- one event each


def test_mission_and_task_changes_record_one_event_each(db_url: str) -> None:
    m, created = _one(
        db_url,
        lambda: db.add_mission("Jezero", lat=18.4447, lon=77.4508, db=db_url),
        "mission.created",
        lambda r: r.id,
    )
    assert created.payload == {"name": "Jezero", "status": "planned", "version": 1}
    assert created.at.tzinfo is UTC and created.actor is None

    m, updated = _one(
        db_url,
        lambda: db.update_mission(m.id, expected_version=1, name="Jezero delta", db=db_url),
        "mission.updated",
        m.id,
    )
    assert updated.payload == {"fields": ["name"], "version": m.version} and m.version == 2

    m, changed = _one(
        db_url,
        lambda: db.set_status(m.id, "active", expected_version=2, changed_by="ops", db=db_url),
        "mission.status_changed",
        m.id,
    )
    assert changed.actor == "ops" == db.status_history(m.id, db=db_url)[-1].changed_by
    assert changed.payload == {"from": "planned", "to": "active", "version": 3, "note": None}

    t1, added = _one(
        db_url, lambda: db.add_task(m.id, "drive", db=db_url), "task.added", lambda r: r.id
    )
    assert added.payload == {"mission_id": m.id, "title": "drive", "position": 0, "status": "todo"}
    t2 = db.add_task(m.id, "drill", db=db_url)
    _, status = _one(
        db_url,
        lambda: db.set_task_status(t1.id, "in_progress", db=db_url),
        "task.status_changed",
        t1.id,
    )
    assert status.payload == {"mission_id": m.id, "from": "todo", "to": "in_progress"}
    _, order = _one(
        db_url, lambda: db.reorder_tasks(m.id, [t2.id, t1.id], db=db_url), "task.reordered", m.id
    )
    assert order.payload == {"mission_id": m.id, "task_ids": [t2.id, t1.id]}
    _one(db_url, lambda: db.delete_task(t2.id, db=db_url), "task.deleted", t2.id)

    a, art = _one(
        db_url,
        lambda: db.add_artefact(m.id, "ellipse", "E1", Point(77.45, 18.44).buffer(0.1), db=db_url),
        "artefact.added",
        lambda r: r.id,
    )
    assert art.payload == {"mission_id": m.id, "kind": "ellipse", "name": "E1"}
    _one(db_url, lambda: db.delete_artefact(a.id, db=db_url), "artefact.deleted", a.id)

    _, gone = _one(
        db_url,
        lambda: db.delete_mission(m.id, expected_version=m.version, db=db_url),
        "mission.deleted",
        m.id,
    )
    assert gone.payload == {"name": "Jezero delta", "version": 3}
    # the whole log, in order, matches the sequence of changes
    assert [e.type for e in read_events(db=db_url)] == [
        "mission.created", "mission.updated", "mission.status_changed", "task.added",
        "task.added", "task.status_changed", "task.reordered", "task.deleted",
        "artefact.added", "artefact.deleted", "mission.deleted",
    ]  # fmt: skip


def test_refused_changes_record_nothing(db_url: str) -> None:
    m = db.add_mission("Gale", lat=-4.6, lon=137.4, db=db_url)
    t = db.add_task(m.id, "done already", status="done", db=db_url)
    last = last_event_id(db=db_url)
    with pytest.raises(ConcurrencyError):
        db.update_mission(m.id, expected_version=7, name="x", db=db_url)
    with pytest.raises(StateTransitionError):
        db.set_status(m.id, "completed", expected_version=1, db=db_url)
    with pytest.raises(StateTransitionError):
        db.set_task_status(t.id, "todo", db=db_url)
    with pytest.raises(ValidationError):
        db.add_task(m.id, "", db=db_url)
    with pytest.raises(ConcurrencyError):
        db.delete_mission(m.id, expected_version=9, db=db_url)
    assert last_event_id(db=db_url) == last


def test_plan_saves_record_their_parts_and_the_plan(gale_landing_plan: Any, db_url: str) -> None:
    stored, new = _new(db_url, lambda: db.save_plan(gale_landing_plan, db=db_url))
    mid = stored.mission.id
    assert [(e.type, e.subject) for e in new] == (
        [("mission.created", mid)]
        + [("task.added", str(t.id)) for t in stored.tasks]
        + [("artefact.added", str(a.id)) for a in stored.artefacts]
        + [("plan.saved", mid)]
    )
    assert new[-1].payload == {
        "name": stored.mission.name,
        "task_ids": [t.id for t in stored.tasks],
        "artefact_ids": [a.id for a in stored.artefacts],
    }
    traverse, new = _new(
        db_url,
        lambda: db.save_traverse(mid, gale_landing_plan.traverse, expected_version=1, db=db_url),
    )
    assert [(e.type, e.subject) for e in new] == [
        ("artefact.added", str(traverse.id)),
        ("traverse.saved", mid),
    ]
    assert new[-1].payload == {"artefact_id": traverse.id, "name": traverse.name, "version": 2}
    assert db.get_mission(mid, db=db_url).version == 2

    evaluation = gale_landing_plan.evaluation
    ellipse, new = _new(
        db_url,
        lambda: db.save_ellipse(mid, evaluation, name="E2", expected_version=2, db=db_url),
    )
    assert [(e.type, e.subject) for e in new] == [
        ("artefact.added", str(ellipse.id)),
        ("ellipse.saved", mid),
    ]
    assert new[-1].payload == {"artefact_id": ellipse.id, "name": "E2", "version": 3}
    # the stored polygon is the evaluated ellipse's, with its figures
    assert ellipse.kind == "ellipse"
    assert ellipse.geometry.equals_exact(evaluation.ellipse.polygon(), 1e-9)
    assert ellipse.properties["evaluation"]["safety"] == pytest.approx(evaluation.safety)
    with pytest.raises(ConcurrencyError):  # planned against version 2: the mission moved on
        db.save_ellipse(mid, evaluation.ellipse, expected_version=2, db=db_url)
    assert db.get_mission(mid, db=db_url).version == 3


def _plan(schedule: schedules.Schedule) -> DueRun:
    return DueRun(T0, T0 + timedelta(seconds=10), {"planned_for": schedule.name})


def test_report_schedule_and_model_changes(db_url: str) -> None:
    sched, created = _one(
        db_url,
        lambda: schedules.insert_schedule(
            name="hourly",
            report="mission-plan",
            cron="0 * * * *",
            parameters={},
            enabled=True,
            next_run_at=T0,
            created_at=T0,
            db=db_url,
        ),
        "schedule.created",
        lambda r: r.id,
    )
    assert created.payload == {"name": "hourly", "report": "mission-plan", "cron": "0 * * * *"}

    run, started = _one(
        db_url,
        lambda: report_runs.insert_run(
            report="mission-plan", parameters={}, outputs={}, started_at=T0, db=db_url
        ),
        "report_run.started",
        lambda r: r.id,
    )
    assert started.payload == {"report": "mission-plan", "schedule_id": None}
    _, done = _one(
        db_url,
        lambda: report_runs.finish_run(
            run.id, status="succeeded", outputs={}, error=None, db=db_url
        ),
        "report_run.succeeded",
        run.id,
    )
    # a run no longer running does not change, and records nothing
    assert _new(
        db_url,
        lambda: report_runs.finish_run(run.id, status="failed", outputs={}, error="x", db=db_url),
    ) == (False, [])

    claimed, fired = _new(
        db_url,
        lambda: leases.claim_due_schedule(
            worker="w1",
            due_by=T0,
            lease_until=T0 + timedelta(minutes=2),
            started_at=T0,
            plan=_plan,
            db=db_url,
        ),
    )
    assert claimed is not None
    _, scheduled_run = claimed
    assert [(e.type, e.subject) for e in fired] == [
        ("report_run.started", str(scheduled_run.id)),
        ("schedule.fired", str(sched.id)),
    ]
    assert fired[1].payload == {
        "name": "hourly", "due_at": T0.isoformat(), "run_id": scheduled_run.id, "worker": "w1",
    }  # fmt: skip
    # lease bookkeeping records nothing
    assert _new(
        db_url,
        lambda: leases.renew_lease(
            sched.id, worker="w1", until=T0 + timedelta(minutes=3), db=db_url
        ),
    ) == (True, [])
    recovered, failed = _new(
        db_url,
        lambda: leases.recover_expired_leases(
            T0 + timedelta(hours=1), run_error=lambda lease: "lost", db=db_url
        ),
    )
    assert [(e.type, e.subject, e.payload["error"]) for e in failed] == [
        ("report_run.failed", str(scheduled_run.id), "lost")
    ]
    assert recovered[0].failed[0].status == "failed"
    _one(
        db_url, lambda: schedules.delete_schedule("hourly", db=db_url), "schedule.deleted", sched.id
    )

    _, registered = _one(
        db_url,
        lambda: models.add_model(
            name="hazard-unet",
            version=3,
            path="/m/3",
            sha256="ab" * 32,
            metadata={},
            metrics={},
            created_at=T0,
            db=db_url,
        ),
        "model.registered",
        "hazard-unet",
    )
    assert registered.payload == {"version": 3, "sha256": "ab" * 32}
    assert done.payload == {"report": "mission-plan", "schedule_id": None, "error": None}


# --------------------------------------------------------------------------- all or nothing


def test_a_change_that_rolls_back_leaves_no_event(db_url: str) -> None:
    m = db.add_mission("Gale", lat=-4.6, lon=137.4, db=db_url)
    last = last_event_id(db=db_url)
    # the history row of a status change fails: the status update and its event go too
    _trigger(db_url, "mission_status_history", "NEW.to_status = 'active'")
    with pytest.raises(DatabaseError, match="injected failure"):
        db.set_status(m.id, "active", expected_version=1, db=db_url)
    _untrigger(db_url, "mission_status_history")
    _trigger(db_url, "missions", "NEW.name = 'never'", on="UPDATE")
    with pytest.raises(DatabaseError, match="injected failure"):
        db.update_mission(m.id, expected_version=1, name="never", db=db_url)
    _untrigger(db_url, "missions")
    assert last_event_id(db=db_url) == last
    assert db.get_mission(m.id, db=db_url) == m

    # a grouped change that fails after its parts recorded their events: nothing at all
    with pytest.raises(RuntimeError, match="operator changed their mind"):
        with db.transaction(db_url, write=True) as conn:
            db.set_status(m.id, "active", expected_version=1, db=conn)
            db.add_task(m.id, "drive", db=conn)
            raise RuntimeError("operator changed their mind")
    assert (last_event_id(db=db_url), _count(db_url, "mission_tasks")) == (last, 0)
    assert db.get_mission(m.id, db=db_url).status == "planned"


def test_an_event_that_cannot_be_written_takes_its_change_with_it(db_url: str) -> None:
    m = db.add_mission("Gale", lat=-4.6, lon=137.4, db=db_url)
    _trigger(db_url, "events", "NEW.type = 'mission.status_changed'")
    with pytest.raises(DatabaseError, match="injected failure"):
        db.set_status(m.id, "active", expected_version=1, db=db_url)
    assert db.get_mission(m.id, db=db_url) == m
    assert [h.to_status for h in db.status_history(m.id, db=db_url)] == ["planned"]
    _untrigger(db_url, "events")
    _trigger(db_url, "events", "NEW.type = 'mission.created'")
    with pytest.raises(DatabaseError, match="injected failure"):
        db.add_mission("never stored", lat=0, lon=0, db=db_url)
    _untrigger(db_url, "events")
    assert [x.name for x in db.list_missions(db=db_url)] == ["Gale"]
    # every event has its change, every change its event
    assert [(e.type, e.subject) for e in read_events(db=db_url)] == [("mission.created", m.id)]


@pytest.mark.postgis
def test_changes_in_a_plain_sqlalchemy_transaction_record_their_events(postgis_url: str) -> None:
    # (on SQLite the store refuses to write in a transaction it did not open for writing)
    db_url = postgis_url
    engine = db.get_engine(db_url)
    with engine.begin() as conn:
        m = db.add_mission("A", lat=0, lon=0, db=conn)
        # written at once (no marsgis transaction to write it at commit), visible inside
        assert [e.subject for e in read_events(db=conn)] == [m.id]
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            db.add_mission("B", lat=0, lon=0, db=conn)
            raise RuntimeError("rolled back")
    assert [(e.type, e.subject) for e in read_events(db=db_url)] == [("mission.created", m.id)]


# --------------------------------------------------------------------------- reading


def test_read_events_filters_and_pages(db_url: str) -> None:
    m = db.add_mission("A", lat=0, lon=0, db=db_url)
    db.add_task(m.id, "t1", db=db_url)
    db.set_status(m.id, "active", expected_version=1, db=db_url)
    db.add_task(m.id, "t2", db=db_url)
    every = read_events(db=db_url)
    assert [e.id for e in every] == sorted(e.id for e in every)
    assert last_event_id(db=db_url) == every[-1].id
    assert [e.type for e in read_events(topics="tasks", db=db_url)] == ["task.added"] * 2
    assert read_events(topics=["missions", "tasks"], db=db_url) == every
    assert read_events(every[1].id, limit=2, db=db_url) == every[2:4]
    assert read_events(every[-1].id, db=db_url) == []
    assert every[0].to_dict()["at"] == every[0].at.isoformat()
    assert parse_topics("*") == parse_topics(None) == db.events.EVENT_TOPICS
    with pytest.raises(ValidationError, match="unknown event topic"):
        read_events(topics="mission", db=db_url)
    with pytest.raises(ValidationError, match="must be an event id"):
        read_events(-1, db=db_url)
    with pytest.raises(ValidationError, match="limit"):
        read_events(limit=0, db=db_url)


def test_actor_comes_from_the_caller_then_the_context_then_the_configured_user(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARSGIS_USER", "station-ops")
    assert current_actor() == "station-ops"
    m = db.add_mission("A", lat=0, lon=0, db=db_url)
    with acting_as("alice"):
        db.update_mission(m.id, expected_version=1, name="B", db=db_url)
        db.set_status(m.id, "active", expected_version=2, changed_by="bob", db=db_url)
    assert [e.actor for e in read_events(db=db_url)] == ["station-ops", "alice", "bob"]


@pytest.mark.postgis
def test_postgis_event_ids_become_visible_in_order(postgis_url: str) -> None:
    """A transaction holding an event id makes every later append wait until it commits.

    Without this a subscriber resuming from the highest id it saw could skip a lower id that
    committed later. Here transaction A appends (and holds) an id; B, appending meanwhile, is
    seen waiting on the append lock in ``pg_locks``; once A commits, B's id is the higher one.
    """
    engine = db.get_engine(postgis_url)
    a = db.add_mission("A", lat=0, lon=0, db=postgis_url)
    b = db.add_mission("B", lat=1, lon=1, db=postgis_url)
    start = last_event_id(db=postgis_url)
    done: list[BaseException | None] = []

    def other_writer() -> None:
        try:
            db.update_mission(b.id, expected_version=1, name="B2", db=postgis_url)
            done.append(None)
        except BaseException as exc:  # pragma: no cover - reported below
            done.append(exc)

    with engine.begin() as conn:
        db.update_mission(a.id, expected_version=1, name="A2", db=conn)  # id taken, not committed
        writer = threading.Thread(target=other_writer)
        writer.start()
        with engine.connect() as probe:
            waiting = 0
            for _ in range(600):  # B reaches the lock (bounded wait; no time is asserted)
                waiting = probe.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
                if waiting:
                    break
                threading.Event().wait(0.05)
            assert waiting == 1
            assert read_events(start, db=postgis_url) == []  # nothing visible yet
    writer.join(timeout=60)
    assert done == [None]
    after = read_events(start, db=postgis_url)
    assert [(e.type, e.subject) for e in after] == [
        ("mission.updated", a.id),
        ("mission.updated", b.id),
    ]
    assert after[0].id < after[1].id


@pytest.mark.postgis
def test_role_grants_let_every_writer_record_events_and_no_one_rewrite_them(
    postgis_url: str,
) -> None:
    import uuid

    from marsgis.db import roles
    from marsgis.exceptions import PermissionDeniedError

    prefix = f"mgt{uuid.uuid4().hex[:8]}"
    roles.ensure_roles(postgis_url, prefix=prefix)
    try:
        urls = {}
        for level in roles.LEVELS:
            password = roles.derive_password("test-secret", level)
            name = roles.grant_user(
                postgis_url, f"ev_{level}", level, password=password, prefix=prefix
            )
            urls[level] = roles.user_database_url(postgis_url, name, password)
        m = db.add_mission("Gale", lat=-4.6, lon=137.4, db=urls["scientist"])
        db.set_status(m.id, "active", expected_version=1, changed_by="op", db=urls["operator"])
        assert [(e.type, e.actor) for e in read_events(db=urls["viewer"])] == [
            ("mission.created", None),
            ("mission.status_changed", "op"),
        ]
        for level in roles.LEVELS:  # the log is append-only for every role
            for statement in ("UPDATE events SET actor = 'forged'", "DELETE FROM events"):
                with pytest.raises(PermissionDeniedError, match="permission denied"):
                    with db.transaction(urls[level], write=True) as conn:
                        conn.execute(sa.text(statement))
        with pytest.raises(PermissionDeniedError):  # a viewer writes neither change nor event
            db.set_status(m.id, "completed", expected_version=2, db=urls["viewer"])
        assert [e.actor for e in read_events(db=postgis_url)] == [None, "op"]
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)


def test_log_position_matches_sql_on_both_paths(db_url: str) -> None:
    """The position before a cached read: the pooled-cursor path, the joined path, plain SQL."""
    from marsgis.db.events import log_position

    assert log_position("missions,plans", db=db_url).event_id == 0
    m = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=db_url)
    db.set_status(m.id, "active", expected_version=1, db=db_url)
    schedules.insert_schedule(
        name="daily",
        report="mission-plan",
        cron="0 6 * * *",
        parameters={},
        enabled=True,
        next_run_at=T0,
        created_at=T0,
        db=db_url,
    )
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            for topics in (
                ("missions",),
                ("missions", "plans", "tasks"),
                ("schedules",),
                ("reports",),
            ):
                newest = conn.execute(
                    sa.text("SELECT max(id) FROM events WHERE topic IN :t").bindparams(
                        sa.bindparam("t", expanding=True)
                    ),
                    {"t": list(topics)},
                ).scalar()
                fast = log_position(topics, db=db_url)
                with db.transaction(db_url) as joined:
                    slow = log_position(topics, db=joined)
                assert fast == slow and fast.event_id == (newest or 0), (topics, fast, newest)
    finally:
        engine.dispose()
