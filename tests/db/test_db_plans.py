"""Mission plans stored and reloaded (SpatiaLite and PostGIS): tasks, artefacts, lifecycle.

A plan is saved in one transaction: failures are injected with real database triggers at each
step of the save (the mission row, its history row, each task, each artefact) and the database
must be exactly as before. Saves onto a stored mission are guarded by its version.
"""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon

import marsgis
from marsgis import db
from marsgis.exceptions import NotFoundError, StateTransitionError, ValidationError
from marsgis.planning import plan_mission

BRADBURY = (-4.5895, 137.4417)


@pytest.fixture(scope="module")
def plan():
    gale = marsgis.open_dem("gale-mola")
    return plan_mission(
        "Gale landing", lat=BRADBURY[0], lon=BRADBURY[1], dem=gale, constraints="msl",
        when="2012-08-06T05:17:57Z", waypoints=[(-4.70, 137.40), (-4.82143, 137.385815)],
        targets=["Aeolis Mons"], objectives=["reach Mount Sharp"], description="MSL-like",
    )  # fmt: skip


def test_plan_saves_and_reloads(plan, db_url: str) -> None:
    stored = db.save_plan(plan, db=db_url)
    assert stored.mission.status == "planned"
    loaded = db.load_plan(stored.mission.id, db=db_url)
    m = loaded.mission
    assert (m.name, m.mission_type, m.description) == ("Gale landing", "landing", "MSL-like")
    assert m.objectives == ("reach Mount Sharp",)
    assert (m.lat, m.lon) == pytest.approx(BRADBURY)
    assert m.constraints["name"] == "msl"
    assert m.risk_assessment["score"] == pytest.approx(plan.risk.score)
    assert m.risk_assessment["details"]["ls_deg"] == pytest.approx(150.70, abs=0.01)
    assert m.safety_score == pytest.approx(plan.evaluation.safety)
    assert [t.title for t in loaded.tasks] == list(plan.tasks)
    assert [t.position for t in loaded.tasks] == list(range(len(plan.tasks)))
    # artefacts come back as geometries
    (ellipse,) = loaded.ellipses()
    assert ellipse == plan.ellipse
    stored_poly = next(a for a in loaded.artefacts if a.kind == "ellipse").geometry
    np.testing.assert_allclose(
        np.asarray(stored_poly.exterior.coords),
        np.asarray(plan.ellipse.polygon().exterior.coords),
        atol=1e-9,
    )
    (route,) = loaded.traverses()
    assert route["length_m"].tolist() == pytest.approx(plan.traverse["length_m"].tolist())
    for a, b in zip(route.geometry, plan.traverse.geometry, strict=True):
        np.testing.assert_allclose(np.asarray(a.coords), np.asarray(b.coords), atol=1e-9)
    assert route.attrs["method"] == "exact"


def test_lifecycle_refuses_disallowed_transitions(plan, db_url: str) -> None:
    m = db.save_plan(plan, db=db_url).mission
    with pytest.raises(StateTransitionError, match="cannot go from 'planned' to 'completed'"):
        db.set_status(m.id, "completed", expected_version=m.version, db=db_url)
    m = db.set_status(m.id, "active", expected_version=m.version, db=db_url)
    m = db.set_status(m.id, "completed", expected_version=m.version, db=db_url)
    with pytest.raises(StateTransitionError, match="'completed' is final"):
        db.set_status(m.id, "aborted", expected_version=m.version, db=db_url)
    assert [h.to_status for h in db.status_history(m.id, db=db_url)] == [
        "planned",
        "active",
        "completed",
    ]


def test_tasks_order_and_status(db_url: str) -> None:
    m = db.add_mission("tasks", lat=0.0, lon=0.0, db=db_url)
    land = db.add_task(m.id, "Land", db=db_url)
    drive = db.add_task(m.id, "Drive", db=db_url)
    check = db.add_task(m.id, "Check ellipse", position=0, db=db_url)
    assert [t.title for t in db.list_tasks(m.id, db=db_url)] == [
        "Check ellipse",
        "Land",
        "Drive",
    ]
    db.reorder_tasks(m.id, [drive.id, check.id, land.id], db=db_url)
    assert [t.title for t in db.list_tasks(m.id, db=db_url)] == [
        "Drive",
        "Check ellipse",
        "Land",
    ]
    assert db.set_task_status(land.id, "in_progress", db=db_url).status == "in_progress"
    assert db.set_task_status(land.id, "done", db=db_url).status == "done"
    with pytest.raises(StateTransitionError, match="'done' is final"):
        db.set_task_status(land.id, "todo", db=db_url)
    with pytest.raises(ValidationError, match="unknown task status"):
        db.set_task_status(drive.id, "finished", db=db_url)
    db.delete_task(drive.id, db=db_url)
    assert [(t.position, t.title) for t in db.list_tasks(m.id, db=db_url)] == [
        (0, "Check ellipse"),
        (1, "Land"),
    ]
    with pytest.raises(ValidationError, match="position 7 is outside"):
        db.add_task(m.id, "x", position=7, db=db_url)


def test_artefacts_any_geometry_and_cascade(db_url: str) -> None:
    m = db.add_mission("artefacts", lat=0.0, lon=179.9, db=db_url)
    across = Polygon([(179.0, 0.0), (181.0, 0.0), (181.0, 1.0), (179.0, 1.0)])
    a = db.add_artefact(m.id, "ellipse", "across 180", across, properties={"k": 1.5}, db=db_url)
    # centre at 180 °E → −180 °E, the store's convention; the ring stays continuous, not split
    assert a.geometry.equals(Polygon([(-181.0, 0.0), (-179.0, 0.0), (-179.0, 1.0), (-181.0, 1.0)]))
    line = LineString([(-137.5, -4.6), (-137.4, -4.7)])
    b = db.add_artefact(m.id, "traverse", "line", line, db=db_url)
    assert b.geometry.equals(line)
    shifted = db.add_artefact(
        m.id, "traverse", "0-360", LineString([(222.5, 1.0), (222.6, 1.1)]), db=db_url
    )
    assert shifted.geometry.equals(LineString([(-137.5, 1.0), (-137.4, 1.1)]))
    frame = db.artefacts_frame(m.id, kind="traverse", db=db_url)
    assert frame["name"].tolist() == ["line", "0-360"]
    assert frame.crs.to_string() == "IAU_2015:49900"
    with pytest.raises(ValidationError, match="unknown artefact kind"):
        db.add_artefact(m.id, "route", "x", line, db=db_url)
    db.delete_mission(m.id, db=db_url)
    with pytest.raises(NotFoundError):
        db.get_artefact(a.id, db=db_url)
    with pytest.raises(NotFoundError):
        db.list_tasks(m.id, db=db_url)


def test_migration_0003_upgrades_and_downgrades(db_url: str) -> None:
    assert db.upgrade(db_url, revision="0002") == "0002"
    assert db.upgrade(db_url, revision="0003") == "0003"
    m = db.add_mission("m", lat=0.0, lon=0.0, db=db_url)
    db.add_task(m.id, "t", db=db_url)
    assert db.downgrade(db_url, revision="0002") == "0002"
    assert db.upgrade(db_url) == db.head_revision()
    assert db.list_tasks(m.id, db=db_url) == []


# --------------------------------------------------------------------------- all or nothing


def _snapshot(db_url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every marsgis table, in primary-key order."""
    import sqlalchemy as sa

    from marsgis.db.schema import metadata

    out: dict[str, list[tuple[object, ...]]] = {}
    with db.get_engine(db_url).connect() as conn:
        for name in sorted(metadata.tables):
            rows = conn.execute(sa.text(f"SELECT * FROM {name} ORDER BY 1")).all()
            out[name] = [tuple(r) for r in rows]
    return out


def _inject_failure(db_url: str, table: str, when: str) -> None:
    """A real database trigger that makes matching INSERTs into ``table`` fail."""
    import sqlalchemy as sa

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
                    f"CREATE TRIGGER marsgis_test_fail BEFORE INSERT ON {table} FOR EACH ROW "
                    f"WHEN ({when}) EXECUTE FUNCTION marsgis_test_fail()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER marsgis_test_fail BEFORE INSERT ON {table} WHEN {when} "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            )


def _remove_failure(db_url: str, table: str) -> None:
    import sqlalchemy as sa

    with db.get_engine(db_url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"DROP TRIGGER marsgis_test_fail ON {table}"))
        else:
            conn.execute(sa.text("DROP TRIGGER marsgis_test_fail"))


# (table, condition): every INSERT a plan save makes, in order; the last is the last artefact
_STEPS = [
    ("missions", "NEW.name = 'atomic plan'"),
    ("mission_status_history", "NEW.note = 'created'"),
    ("mission_tasks", "NEW.position = 0"),
    ("mission_tasks", "NEW.position = 2"),
    ("mission_tasks", "NEW.position = 3"),
    ("mission_artefacts", "NEW.kind = 'ellipse'"),
    ("mission_artefacts", "NEW.kind = 'traverse'"),
]


@pytest.mark.parametrize(("table", "when"), _STEPS, ids=[f"{t}:{w}" for t, w in _STEPS])
def test_failed_save_at_any_step_leaves_the_database_as_before(
    plan, db_url: str, table: str, when: str
) -> None:
    import dataclasses

    from marsgis.exceptions import DatabaseError

    atomic = dataclasses.replace(plan, name="atomic plan")
    assert len(atomic.tasks) == 4 and [a.kind for a in atomic.artefacts()] == [
        "ellipse",
        "traverse",
    ]
    kept = db.save_plan(plan, db=db_url)  # something stored already, that must stay
    before = _snapshot(db_url)
    _inject_failure(db_url, table, when)
    try:
        with pytest.raises(DatabaseError, match="injected failure"):
            db.save_plan(atomic, db=db_url)
    finally:
        _remove_failure(db_url, table)
    assert _snapshot(db_url) == before
    # and the same plan saves whole once nothing refuses it
    stored = db.save_plan(atomic, db=db_url)
    assert [m.id for m in db.list_missions(db=db_url)] == [kept.mission.id, stored.mission.id]
    assert len(db.load_plan(stored.mission.id, db=db_url).artefacts) == 2


def test_invalid_task_stores_nothing(plan, db_url: str) -> None:
    import dataclasses

    before = _snapshot(db_url)
    bad = dataclasses.replace(plan, tasks=("Land", "x" * 300))
    with pytest.raises(ValidationError, match="task title 'xxxx.*has 300 characters"):
        db.save_plan(bad, db=db_url)
    assert _snapshot(db_url) == before


def test_stale_traverse_save_is_refused(plan, db_url: str) -> None:
    from marsgis.exceptions import ConcurrencyError

    m = db.add_mission("traverse target", lat=-4.6, lon=137.4, mission_type="traverse", db=db_url)
    first = db.save_traverse(m.id, plan.traverse, expected_version=m.version, db=db_url)
    assert db.get_mission(m.id, db=db_url).version == m.version + 1
    before = _snapshot(db_url)
    with pytest.raises(ConcurrencyError, match=rf"is at version {m.version + 1}, you edited"):
        db.save_traverse(m.id, plan.traverse, expected_version=m.version, db=db_url)
    assert _snapshot(db_url) == before
    # a status change based on the old version is refused too: the plan changed under it
    with pytest.raises(ConcurrencyError):
        db.set_status(m.id, "active", expected_version=m.version, db=db_url)
    assert [a.id for a in db.load_plan(m.id, db=db_url).artefacts] == [first.id]


def test_concurrent_saves_from_one_version_store_one(plan, db_url: str) -> None:
    import threading

    from marsgis.exceptions import ConcurrencyError

    m = db.add_mission("race", lat=-4.6, lon=137.4, mission_type="traverse", db=db_url)
    n = 6
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def save() -> None:
        barrier.wait()
        try:
            db.save_traverse(m.id, plan.traverse, expected_version=m.version, db=db_url)
            result = "saved"
        except ConcurrencyError:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=save) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * (n - 1) + ["saved"]
    assert len(db.load_plan(m.id, db=db_url).artefacts) == 1
    assert db.get_mission(m.id, db=db_url).version == m.version + 1


def test_transactions_compose(db_url: str) -> None:
    before = _snapshot(db_url)
    with pytest.raises(RuntimeError, match="after both"):
        with db.transaction(db_url, write=True) as conn:
            a = db.add_mission("A", lat=0.0, lon=10.0, db=conn)
            db.add_task(a.id, "first", db=conn)
            db.add_mission("B", lat=1.0, lon=11.0, db=conn)
            assert len(db.list_missions(db=conn)) == 2  # visible inside the transaction
            raise RuntimeError("after both")
    assert _snapshot(db_url) == before
    with db.transaction(db_url, write=True) as conn:
        a = db.add_mission("A", lat=0.0, lon=10.0, db=conn)
        db.add_mission("B", lat=1.0, lon=11.0, db=conn)
    assert sorted(m.name for m in db.list_missions(db=db_url)) == ["A", "B"]


def test_write_cannot_join_a_read_transaction_on_sqlite(spatialite_url: str) -> None:
    with db.transaction(spatialite_url) as conn:
        with pytest.raises(
            ValidationError, match=r"open the outer block with `transaction\(write=True\)`"
        ):
            db.add_mission("A", lat=0.0, lon=10.0, db=conn)
