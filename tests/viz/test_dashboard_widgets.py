"""The dashboards' Python side (what each control does), on a seeded SpatiaLite database.

The browser tests (tests/dashboards) drive the same classes through Voila and Chromium.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import pytest

import marsgis
from marsgis import db, planning
from marsgis.viz.dashboards import LandingExplorer, MissionBoard, TraversePlanner


@pytest.fixture
def seeded(spatialite_url: str, gale_landing_plan: Any) -> dict[str, str]:
    plan = db.save_plan(gale_landing_plan, db=spatialite_url)
    other = db.add_mission(
        "Jezero survey", lat=18.4447, lon=77.4508, mission_type="survey", db=spatialite_url
    )
    return {"url": spatialite_url, "gale": plan.mission.id, "jezero": other.id}


def test_mission_board_filters_selects_and_changes_status(seeded: dict[str, str]) -> None:
    url = seeded["url"]
    board = MissionBoard(db=url, operator="ada")
    assert {m.id for m in board.missions} == {seeded["gale"], seeded["jezero"]}
    board.type_filter.value = "survey"
    assert [m.id for m in board.missions] == [seeded["jezero"]]
    board.type_filter.value = "all"

    plan = board.select(seeded["gale"])
    assert [a.kind for a in plan.artefacts] == ["ellipse", "traverse"]
    layers = {layer.name for layer in board.map.layers}
    assert {"plan:ellipse 0", "plan:traverse 0"} <= layers
    assert list(board.new_status.options) == ["active", "aborted"]  # db.TRANSITIONS only
    assert "Review the msl landing ellipse" in board.details.value
    assert f"<b>{plan.mission.risk_assessment['level']}</b>" in board.details.value

    board.new_status.value = "active"
    board.note.value = "go for landing"
    board.apply.click()
    stored = db.get_mission(seeded["gale"], db=url)
    assert stored.status == "active" and stored.version == 2
    last = db.status_history(seeded["gale"], db=url)[-1]
    assert (last.from_status, last.to_status, last.changed_by, last.note) == (
        "planned",
        "active",
        "ada",
        "go for landing",
    )
    assert board.status.state == "ok" and "planned → active" in board.status.message
    assert list(board.new_status.options) == ["completed", "aborted"]
    assert board.new_status.value is None and board.apply.disabled  # no final pre-selected

    # a final status asks first: cancel leaves it, confirm writes it
    board.new_status.value = "completed"
    board.apply.click()
    assert board.status.state == "confirm" and board.confirm_box.layout.display == ""
    assert db.get_mission(seeded["gale"], db=url).status == "active"
    board.cancel.click()
    assert board.confirm_box.layout.display == "none" and board.pending is None
    assert db.get_mission(seeded["gale"], db=url).status == "active"
    board.new_status.value = "aborted"
    board.apply.click()
    board.confirm.click()
    assert db.get_mission(seeded["gale"], db=url).status == "aborted"
    assert list(board.new_status.options) == [] and board.apply.disabled

    board.status_filter.value = "planned"
    assert [m.id for m in board.missions] == [seeded["jezero"]]


def test_mission_board_shows_refused_changes_as_text(seeded: dict[str, str]) -> None:
    url = seeded["url"]
    board = MissionBoard(db=url, operator="ada")
    board.select(seeded["gale"])
    assert board.change_status("completed") is None  # planned → completed is not allowed
    assert board.status.state == "error"
    assert "cannot go from 'planned' to 'completed'" in board.status.message
    assert db.get_mission(seeded["gale"], db=url).status == "planned"

    # someone else changed it meanwhile: a concurrency error, nothing written
    m = db.get_mission(seeded["gale"], db=url)
    db.set_status(m.id, "aborted", expected_version=m.version, changed_by="bob", db=url)
    m2 = db.get_mission(seeded["gale"], db=url)
    assert board.selected.version == 1 and m2.version == 2
    assert board.change_status("active") is None
    assert db.get_mission(seeded["gale"], db=url).status == "aborted"
    # the board reloaded the record and says what changed, in words, without internals
    assert board.status.state == "error"
    assert "bob moved it planned → aborted" in board.status.message
    assert "version 2" in board.status.message
    assert (
        "get_mission" not in board.status.message and "marsgis mission" not in board.status.message
    )
    assert board.selected.status == "aborted" and board.selected.version == 2
    assert "data-status='aborted'" in board.details.value
    assert list(board.new_status.options) == [] and board.apply.disabled


def test_mission_board_empty_state(spatialite_url: str) -> None:
    board = MissionBoard(db=spatialite_url)
    assert board.missions == []
    assert "No missions stored yet" in board.empty.value
    assert board.apply.disabled


def test_landing_explorer_overlay_and_ellipse() -> None:
    explorer = LandingExplorer(preset="msl")
    assert explorer.latitude.value == (-30.0, 30.0)
    assert explorer.elevation.value == -1000.0
    mola = marsgis.open_dem("mola")
    ref = planning.eligible_area(planning.eligibility_map(mola, "msl"))
    assert f"data-fraction='{ref['eligible_fraction']!r}'" in explorer.summary.value

    explorer.latitude.value = (-10.0, 10.0)  # a slider: the overlay follows
    narrowed = dataclasses.replace(planning.get_preset("msl"), latitude=(-10.0, 10.0))
    ref = planning.eligible_area(planning.eligibility_map(mola, narrowed))
    assert f"data-fraction='{ref['eligible_fraction']!r}'" in explorer.summary.value

    ev = explorer.evaluate_at(-4.6, 137.4)
    ellipse = planning.LandingEllipse.from_constraints(narrowed, -4.6, 137.4)
    direct = planning.evaluate_ellipse(ellipse, marsgis.open_dem("gale-mola"), narrowed)
    assert ev.to_dict() == direct.to_dict()
    assert "gale-mola" in explorer.result.value

    explorer.preset.value = "phoenix"  # a northern preset: its band is on the sliders
    assert explorer.latitude.value == tuple(planning.get_preset("phoenix").latitude)

    assert explorer.evaluate_at(-89.99, 0.0) is None  # an ellipse reaching off the pole
    assert explorer.status.state == "error"
    assert "marsgis-error" in explorer.result.value


def test_traverse_planner_plans_and_saves(seeded: dict[str, str]) -> None:
    url = seeded["url"]
    planner = TraversePlanner(db=url)
    route = planner.plan((-4.5895, 137.4417), (-4.82, 137.39))
    direct = planning.plan_traverse(
        marsgis.open_dem("gale-mola"), (-4.5895, 137.4417), (-4.82, 137.39), max_slope=25.0
    )
    assert route.attrs["length_m"] == direct.attrs["length_m"]
    assert f"data-length='{direct.attrs['length_m']!r}'" in planner.stats.value
    assert planner.profile_image.value[:4] == b"\x89PNG"
    assert {layer.name for layer in planner.map.layers} >= {"route"}

    # a Gale route goes onto the Gale mission; the Jezero survey is not offered, nor taken
    assert [v for _, v in planner.mission.options] == [seeded["gale"]]
    assert planner.save_to_mission(seeded["jezero"]) is None
    west, south, east, north = marsgis.open_dem("gale-mola").rio.bounds()
    assert planner.status.message == (
        "'Jezero survey' targets 18.4447°, 77.4508°E, outside the terrain this route was "
        f"planned on ({west:.2f}–{east:.2f}°E, {south:.2f}–{north:.2f}°N); save it as a new mission"
    )
    assert db.load_plan(seeded["jezero"], db=url).artefacts == ()
    artefact = planner.save_to_mission(seeded["gale"])
    stored = db.load_plan(seeded["gale"], db=url)
    assert [a.id for a in stored.artefacts][-1] == artefact.id
    assert stored.traverses()[-1].attrs["length_m"] == pytest.approx(direct.attrs["length_m"])

    new = planner.save_as_new_mission("Drive to Mount Sharp")
    assert new.mission.mission_type == "traverse"
    assert (
        db.get_mission(new.mission.id, db=url).risk_assessment["level"]
        == planner.risk_assessment.level
    )

    assert planner.plan((-4.5895, 137.4417), (-4.82, 10.0)) is None  # goal outside gale-mola
    assert planner.status.state == "error" and "outside DEM 'gale-mola'" in planner.status.message
    assert planner.save_as_new_mission("  ") is None
    assert planner.status.message.startswith("Nothing to save")


def test_traverse_planner_failed_replan_leaves_nothing_savable(seeded: dict[str, str]) -> None:
    url = seeded["url"]
    db.set_status(seeded["gale"], "aborted", expected_version=1, db=url)
    drive = db.add_mission(
        "Bradbury drive", lat=-4.6, lon=137.42, mission_type="traverse", db=url
    ).id
    planner = TraversePlanner(db=url)
    # only missions that can take a route are offered: not the aborted Gale landing, not
    # the Jezero survey off this DEM
    assert [v for _, v in planner.mission.options] == [drive]
    assert planner.save.disabled and planner.save_new.disabled  # nothing planned yet

    start, goal = (-4.5895, 137.4417), (-4.82, 137.39)
    assert planner.plan(start, goal) is not None
    assert not planner.save.disabled and not planner.save_new.disabled
    planner.max_slope.value = 5  # the route on screen no longer matches the controls
    assert planner.save.disabled and "re-plan" in planner.save_note.value
    planner.replan.click()  # 5° is impossible here: the re-plan fails
    with pytest.raises(marsgis.exceptions.PlanningError) as direct:
        planning.plan_traverse(marsgis.open_dem("gale-mola"), start, goal, max_slope=5.0)
    assert planner.status.state == "error"
    assert planner.route is None and planner.risk_assessment is None
    assert "route" not in {layer.name for layer in planner.map.layers}
    assert planner.profile_image.layout.display == "none" and planner.risk.value == ""
    assert "data-failed='1'" in planner.stats.value
    assert planner.status.message == str(direct.value)
    assert html.escape(str(direct.value)) in planner.stats.value
    assert planner.save.disabled and planner.save_new.disabled
    assert planner.save_to_mission(drive) is None
    assert planner.save_as_new_mission("Stale route") is None
    assert db.load_plan(drive, db=url).artefacts == ()
    assert {m.id for m in db.list_missions(db=url)} == {seeded["gale"], seeded["jezero"], drive}

    # a completed/aborted mission refuses a route even when asked directly
    planner.max_slope.value = 25
    assert planner.plan(start, goal) is not None
    assert planner.save_to_mission(seeded["gale"]) is None
    assert "is aborted" in planner.status.message
    assert len(db.load_plan(seeded["gale"], db=url).traverses()) == 1  # the seeded one only


@pytest.mark.postgis
def test_dashboards_follow_the_database_role(postgis_url: str, gale_landing_plan: Any) -> None:
    import uuid

    from marsgis.db import roles

    prefix = f"mgd{uuid.uuid4().hex[:8]}"
    roles.ensure_roles(postgis_url, prefix=prefix)
    try:
        urls = {}
        for level in roles.LEVELS:
            password = roles.derive_password("test-secret", level)
            name = roles.grant_user(
                postgis_url, f"dash_{level}", level, password=password, prefix=prefix
            )
            urls[level] = roles.user_database_url(postgis_url, name, password)
        gale = db.save_plan(gale_landing_plan, db=urls["scientist"]).mission

        viewer = MissionBoard(db=urls["viewer"], operator="vera")
        assert (viewer.who.person, viewer.who.level) == ("vera", "viewer")
        header_html = viewer.widget.children[0].value
        assert "Signed in: vera · viewer (read-only)" in header_html
        viewer.select(gale.id)
        assert viewer.apply.disabled and viewer.apply.layout.display == "none"
        assert viewer.new_status.layout.display == "none"
        assert "needs the operator or scientist role" in viewer.readonly.value
        # even asked directly, the database refuses: one line, no URL, no role, nothing written
        assert viewer.change_status("active") is None
        message = viewer.status.message
        assert message == "Changing status: not allowed for your role; nothing was written"
        assert db.get_mission(gale.id, db=postgis_url).version == 1

        operator = MissionBoard(db=urls["operator"], operator="olga")
        assert "olga · operator" in operator.widget.children[0].value
        operator.select(gale.id)
        assert not operator.apply.disabled and operator.new_status.value == "active"
        operator.apply.click()
        stored = db.get_mission(gale.id, db=postgis_url)
        assert (stored.status, stored.version) == ("active", 2)
        assert db.status_history(gale.id, db=postgis_url)[-1].changed_by == "olga"

        planner = TraversePlanner(db=urls["operator"])
        assert planner.who.level == "operator"
        assert planner.plan((-4.5895, 137.4417), (-4.82, 137.39)) is not None
        assert planner.save.disabled and planner.save_new.disabled
        assert "Saving a route needs the scientist role" in planner.save_note.value
        assert planner.save_to_mission(gale.id) is None
        assert len(db.load_plan(gale.id, db=postgis_url).traverses()) == 1

        scientist = TraversePlanner(db=urls["scientist"])
        assert scientist.plan((-4.5895, 137.4417), (-4.82, 137.39)) is not None
        assert not scientist.save.disabled
        assert scientist.save_to_mission(gale.id) is not None
        assert len(db.load_plan(gale.id, db=postgis_url).traverses()) == 2
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)


def _wait_for(check: Any, what: str, limit_s: float = 10.0) -> None:
    """Poll ``check()`` until true; a generous bound, not a timing assertion."""
    import time

    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {limit_s} s: {what}")
        time.sleep(0.05)


def test_mission_board_follows_changes_made_elsewhere(db_url: str, gale_landing_plan: Any) -> None:
    import threading

    gale = db.save_plan(gale_landing_plan, db=db_url).mission
    board = MissionBoard(db=db_url, operator="ada")
    try:
        assert board.live.running
        board.select(gale.id)
        assert board.new_status.value == "active"

        # another person, another thread (its own connection), changes the shown mission
        def elsewhere() -> None:
            db.set_status(
                gale.id, "active", expected_version=1, changed_by="olga", note="API", db=db_url
            )

        writer = threading.Thread(target=elsewhere)
        writer.start()
        writer.join()
        _wait_for(lambda: "changed elsewhere" in board.status.message, "the change on the board")
        assert board.selected.status == "active"
        assert list(board.new_status.options) == ["completed", "aborted"]
        assert "data-status='active'" in board.details.value
        assert "planned → active (by olga)" in board.status.message
        label = dict((v, k) for k, v in board.missions_list.options)[gale.id]
        assert " · active · " in label

        # a mission created elsewhere joins the list without a reload
        other = db.add_mission(
            "Jezero survey", lat=18.44, lon=77.45, mission_type="survey", db=db_url
        )
        _wait_for(
            lambda: other.id in [v for _, v in board.missions_list.options], "the new mission"
        )
        # deleted elsewhere while shown: the board says so and shows nothing stale
        board.select(other.id)
        db.delete_mission(other.id, db=db_url)
        _wait_for(lambda: board.selected is None, "the deleted mission dropped")
        assert "'Jezero survey' was deleted elsewhere" in board.status.message
        assert other.id not in [v for _, v in board.missions_list.options]
    finally:
        board.close()
    assert not board.live.running
