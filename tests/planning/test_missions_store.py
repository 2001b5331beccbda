"""Mission plans stored and reloaded (SpatiaLite and PostGIS): tasks, artefacts, lifecycle."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon

import marsgis
from marsgis import db
from marsgis.db import plans
from marsgis.exceptions import NotFoundError, StateTransitionError, ValidationError
from marsgis.planning import plan_mission
from marsgis.planning.missions import load_mission_plan

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
    stored = plan.save(db=db_url)
    assert stored.mission.status == "planned"
    loaded = load_mission_plan(stored.mission.id, db=db_url)
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
    m = plan.save(db=db_url).mission
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
    land = plans.add_task(m.id, "Land", db=db_url)
    drive = plans.add_task(m.id, "Drive", db=db_url)
    check = plans.add_task(m.id, "Check ellipse", position=0, db=db_url)
    assert [t.title for t in plans.list_tasks(m.id, db=db_url)] == [
        "Check ellipse",
        "Land",
        "Drive",
    ]
    plans.reorder_tasks(m.id, [drive.id, check.id, land.id], db=db_url)
    assert [t.title for t in plans.list_tasks(m.id, db=db_url)] == [
        "Drive",
        "Check ellipse",
        "Land",
    ]
    assert plans.set_task_status(land.id, "in_progress", db=db_url).status == "in_progress"
    assert plans.set_task_status(land.id, "done", db=db_url).status == "done"
    with pytest.raises(StateTransitionError, match="'done' is final"):
        plans.set_task_status(land.id, "todo", db=db_url)
    with pytest.raises(ValidationError, match="unknown task status"):
        plans.set_task_status(drive.id, "finished", db=db_url)
    plans.delete_task(drive.id, db=db_url)
    assert [(t.position, t.title) for t in plans.list_tasks(m.id, db=db_url)] == [
        (0, "Check ellipse"),
        (1, "Land"),
    ]
    with pytest.raises(ValidationError, match="position 7 is outside"):
        plans.add_task(m.id, "x", position=7, db=db_url)


def test_artefacts_any_geometry_and_cascade(db_url: str) -> None:
    m = db.add_mission("artefacts", lat=0.0, lon=179.9, db=db_url)
    across = Polygon([(179.0, 0.0), (181.0, 0.0), (181.0, 1.0), (179.0, 1.0)])
    a = plans.add_artefact(m.id, "ellipse", "across 180", across, properties={"k": 1.5}, db=db_url)
    # centre at 180 °E → −180 °E, the store's convention; the ring stays continuous, not split
    assert a.geometry.equals(Polygon([(-181.0, 0.0), (-179.0, 0.0), (-179.0, 1.0), (-181.0, 1.0)]))
    line = LineString([(-137.5, -4.6), (-137.4, -4.7)])
    b = plans.add_artefact(m.id, "traverse", "line", line, db=db_url)
    assert b.geometry.equals(line)
    shifted = plans.add_artefact(
        m.id, "traverse", "0-360", LineString([(222.5, 1.0), (222.6, 1.1)]), db=db_url
    )
    assert shifted.geometry.equals(LineString([(-137.5, 1.0), (-137.4, 1.1)]))
    frame = plans.artefacts_frame(m.id, kind="traverse", db=db_url)
    assert frame["name"].tolist() == ["line", "0-360"]
    assert frame.crs.to_string() == "IAU_2015:49900"
    with pytest.raises(ValidationError, match="unknown artefact kind"):
        plans.add_artefact(m.id, "route", "x", line, db=db_url)
    db.delete_mission(m.id, db=db_url)
    with pytest.raises(NotFoundError):
        plans.get_artefact(a.id, db=db_url)
    with pytest.raises(NotFoundError):
        plans.list_tasks(m.id, db=db_url)


def test_migration_0003_upgrades_and_downgrades(db_url: str) -> None:
    assert db.upgrade(db_url, revision="0002") == "0002"
    assert db.upgrade(db_url, revision="0003") == "0003"
    m = db.add_mission("m", lat=0.0, lon=0.0, db=db_url)
    plans.add_task(m.id, "t", db=db_url)
    assert db.downgrade(db_url, revision="0002") == "0002"
    assert db.upgrade(db_url) == db.head_revision()
    assert plans.list_tasks(m.id, db=db_url) == []
