"""The mission store on SpatiaLite and PostGIS: round trips, validation, optimistic
concurrency, the status lifecycle and its history, and rollback on failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pyproj import CRS

from marsgis import db
from marsgis.exceptions import (
    ConcurrencyError,
    CoordinateError,
    DatabaseError,
    NotFoundError,
    StateTransitionError,
    ValidationError,
)

GALE = {"lat": -4.5895, "lon": 137.4417}


def _count(db_url: str, table: str) -> int:
    with db.get_engine(db_url).connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_add_and_get_round_trip(db_url: str) -> None:
    before = datetime.now(UTC)
    constraints = {"max_slope_deg": 15.5, "avoid": ["dunes", "Ω ridges"], "night_ops": False}
    risk = {"dust": {"p": 0.125, "notes": None}}
    mission = db.add_mission(
        "  Gale crater landing  ",
        lat=-4.5895,
        lon=137.4417,
        mission_type="landing",
        description="MSL-like ellipse",
        objectives=["image Mount Sharp", {"sample": "Sheepbed mudstone"}],
        safety_score=0.82,
        scientific_priority=1,
        constraints=constraints,
        risk_assessment=risk,
        db=db_url,
    )
    after = datetime.now(UTC)
    assert mission.name == "Gale crater landing"
    assert (mission.lat, mission.lon) == (-4.5895, 137.4417)
    assert mission.status == "planned"
    assert mission.mission_type == "landing"
    assert mission.description == "MSL-like ellipse"
    assert mission.objectives == ("image Mount Sharp", {"sample": "Sheepbed mudstone"})
    assert mission.safety_score == 0.82
    assert mission.scientific_priority == 1.0
    assert mission.constraints == constraints
    assert mission.risk_assessment == risk
    assert mission.version == 1
    assert mission.created_at.tzinfo is not None
    assert mission.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert before <= mission.created_at <= after
    assert mission.updated_at == mission.created_at
    assert len(mission.id) == 36
    # a fresh load gives the same value, and to_dict is JSON-ready
    loaded = db.get_mission(mission.id, db=db_url)
    assert loaded == mission
    as_dict = mission.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["objectives"] == ["image Mount Sharp", {"sample": "Sheepbed mudstone"}]
    assert datetime.fromisoformat(as_dict["created_at"]) == mission.created_at
    assert as_dict["lat"] == -4.5895


@pytest.mark.parametrize(
    ("lon_in", "lon_stored"),
    [(222.5, -137.5), (180.0, -180.0), (360.0, 0.0), (-179.25, -179.25), (0.0, 0.0)],
)
def test_longitudes_stored_in_minus180_180(
    spatialite_url: str, lon_in: float, lon_stored: float
) -> None:
    mission = db.add_mission("m", lat=10.0, lon=lon_in, db=spatialite_url)
    assert mission.lon == lon_stored
    assert db.get_mission(mission.id, db=spatialite_url).lon == lon_stored


def test_creation_is_the_first_history_row(db_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=db_url)
    (change,) = db.status_history(mission.id, db=db_url)
    assert (change.mission_id, change.from_status, change.to_status) == (
        mission.id,
        None,
        "planned",
    )
    assert change.changed_at == mission.created_at
    assert change.to_dict()["from_status"] is None


def test_list_missions_filters_and_order(db_url: str) -> None:
    a = db.add_mission("a", lat=0, lon=0, mission_type="landing", db=db_url)
    b = db.add_mission("b", lat=1, lon=1, mission_type="traverse", db=db_url)
    c = db.add_mission("c", lat=2, lon=2, mission_type="traverse", status="active", db=db_url)
    assert [m.id for m in db.list_missions(db=db_url)] == [a.id, b.id, c.id]
    assert [m.id for m in db.list_missions(mission_type="traverse", db=db_url)] == [b.id, c.id]
    assert [m.id for m in db.list_missions(status="planned", db=db_url)] == [a.id, b.id]
    assert [
        m.id for m in db.list_missions(status="active", mission_type="traverse", db=db_url)
    ] == [c.id]
    assert db.list_missions(status="aborted", db=db_url) == []
    with pytest.raises(ValidationError, match="unknown status 'done'"):
        db.list_missions(status="done", db=db_url)


def test_missions_frame(db_url: str) -> None:
    empty = db.missions_frame(db=db_url)
    assert len(empty) == 0
    assert empty.crs == CRS.from_user_input("IAU_2015:49900")
    a = db.add_mission("a", lat=-4.5895, lon=137.4417, safety_score=0.5, db=db_url)
    b = db.add_mission("b", lat=18.4447, lon=77.4508, mission_type="survey", db=db_url)
    frame = db.missions_frame(db=db_url)
    assert frame.crs == CRS.from_user_input("IAU_2015:49900")
    assert list(frame["id"]) == [a.id, b.id]
    assert list(frame.geometry.x) == [137.4417, 77.4508]
    assert list(frame.geometry.y) == [-4.5895, 18.4447]
    assert frame["safety_score"].iloc[0] == 0.5
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert frame["created_at"].iloc[0] == a.created_at
    only_survey = db.missions_frame(mission_type="survey", db=db_url)
    assert list(only_survey["name"]) == ["b"]


def test_update_changes_fields_and_bumps_version(db_url: str) -> None:
    mission = db.add_mission("old", **GALE, db=db_url)
    updated = db.update_mission(
        mission.id,
        expected_version=1,
        name="new",
        description="d",
        safety_score=0.25,
        scientific_priority=None,
        constraints={"k": [1, 2]},
        objectives=["x"],
        lat=18.4447,
        lon=77.4508,
        db=db_url,
    )
    assert updated.version == 2
    assert (updated.name, updated.description, updated.safety_score) == ("new", "d", 0.25)
    assert updated.constraints == {"k": [1, 2]}
    assert updated.objectives == ("x",)
    assert (updated.lat, updated.lon) == (18.4447, 77.4508)
    assert updated.created_at == mission.created_at
    assert updated.updated_at >= mission.updated_at
    assert updated.status == "planned"
    assert db.get_mission(mission.id, db=db_url) == updated


def test_stale_update_is_refused_and_writes_nothing(db_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=db_url)
    current = db.update_mission(mission.id, expected_version=1, name="first edit", db=db_url)
    with pytest.raises(ConcurrencyError) as info:
        db.update_mission(mission.id, expected_version=1, name="lost edit", db=db_url)
    message = str(info.value)
    assert f"mission {mission.id!r} is at version 2, you edited version 1" in message
    assert "get_mission" in message
    assert db.get_mission(mission.id, db=db_url) == current


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"status": "active"}, "set_status"),
        ({"colour": "red"}, "cannot update 'colour'"),
        ({}, "nothing to update"),
        ({"lat": 1.0}, "lat and lon together"),
        ({"safety_score": 1.5}, r"outside \[0, 1\]"),
        ({"name": "   "}, "non-empty"),
        ({"constraints": {"when": datetime(2030, 1, 1)}}, "not JSON-serialisable"),
        ({"mission_type": "flyby"}, "unknown mission type 'flyby'"),
    ],
)
def test_invalid_update_is_refused(
    spatialite_url: str, changes: dict[str, object], match: str
) -> None:
    mission = db.add_mission("m", **GALE, db=spatialite_url)
    with pytest.raises(ValidationError, match=match):
        db.update_mission(mission.id, expected_version=1, db=spatialite_url, **changes)
    assert db.get_mission(mission.id, db=spatialite_url) == mission


def test_status_lifecycle_records_history(db_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=db_url)
    active = db.set_status(
        mission.id, "active", expected_version=1, note="go", changed_by="flight", db=db_url
    )
    assert (active.status, active.version) == ("active", 2)
    done = db.set_status(mission.id, "completed", expected_version=2, db=db_url)
    assert (done.status, done.version) == ("completed", 3)
    history = db.status_history(mission.id, db=db_url)
    assert [(h.from_status, h.to_status, h.note, h.changed_by) for h in history] == [
        (None, "planned", "created", None),
        ("planned", "active", "go", "flight"),
        ("active", "completed", None, None),
    ]
    assert history[1].changed_at == active.updated_at
    assert history[2].changed_at == done.updated_at


@pytest.mark.parametrize(
    ("path", "refused", "allowed"),
    [
        ([], "completed", "'active', 'aborted'"),
        ([], "planned", "'active', 'aborted'"),
        (["active"], "planned", "'completed', 'aborted'"),
        (["aborted"], "active", "nothing ('aborted' is final)"),
        (["active", "completed"], "aborted", "nothing ('completed' is final)"),
    ],
)
def test_refused_transitions(
    spatialite_url: str, path: list[str], refused: str, allowed: str
) -> None:
    mission = db.add_mission("m", **GALE, db=spatialite_url)
    for step in path:
        mission = db.set_status(
            mission.id, step, expected_version=mission.version, db=spatialite_url
        )
    history = db.status_history(mission.id, db=spatialite_url)
    with pytest.raises(StateTransitionError) as info:
        db.set_status(mission.id, refused, expected_version=mission.version, db=spatialite_url)
    assert f"cannot go from {mission.status!r} to {refused!r}" in str(info.value)
    assert str(info.value).endswith(f"it may go to: {allowed}")
    assert db.get_mission(mission.id, db=spatialite_url) == mission
    assert db.status_history(mission.id, db=spatialite_url) == history


@pytest.mark.postgis
def test_refused_transition_on_postgis_writes_nothing(postgis_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=postgis_url)
    with pytest.raises(StateTransitionError, match="'active', 'aborted'"):
        db.set_status(mission.id, "completed", expected_version=1, db=postgis_url)
    assert db.get_mission(mission.id, db=postgis_url) == mission
    assert len(db.status_history(mission.id, db=postgis_url)) == 1


def test_stale_status_change_is_refused(db_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=db_url)
    renamed = db.update_mission(mission.id, expected_version=1, name="renamed", db=db_url)
    with pytest.raises(ConcurrencyError, match="is at version 2, you edited version 1"):
        db.set_status(mission.id, "active", expected_version=1, db=db_url)
    assert db.get_mission(mission.id, db=db_url) == renamed
    assert len(db.status_history(mission.id, db=db_url)) == 1


def _make_history_inserts_fail(db_url: str) -> None:
    """Install a trigger that makes every INSERT into the status history fail."""
    engine = db.get_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "CREATE FUNCTION refuse_history() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'history refused by test trigger'; END $$"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_history BEFORE INSERT ON mission_status_history "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_history()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_history BEFORE INSERT ON mission_status_history "
                    "BEGIN SELECT RAISE(ABORT, 'history refused by test trigger'); END"
                )
            )


def test_failure_midway_rolls_back_everything(db_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=db_url)
    _make_history_inserts_fail(db_url)
    # set_status updates the mission, then fails on the history row: the update is undone
    with pytest.raises(DatabaseError, match="history refused by test trigger") as info:
        db.set_status(mission.id, "active", expected_version=1, db=db_url)
    assert "nothing was written" in str(info.value)
    assert db.get_mission(mission.id, db=db_url) == mission
    assert _count(db_url, "mission_status_history") == 1
    # add_mission inserts the mission, then fails on its first history row: no mission stays
    with pytest.raises(DatabaseError, match="history refused by test trigger"):
        db.add_mission("half-written?", **GALE, db=db_url)
    assert [m.id for m in db.list_missions(db=db_url)] == [mission.id]
    assert _count(db_url, "missions") == 1


def test_delete_cascades_to_history(db_url: str) -> None:
    keep = db.add_mission("keep", **GALE, db=db_url)
    gone = db.add_mission("gone", **GALE, db=db_url)
    db.set_status(gone.id, "active", expected_version=1, db=db_url)
    assert _count(db_url, "mission_status_history") == 3
    db.delete_mission(gone.id, db=db_url)
    assert _count(db_url, "mission_status_history") == 1
    assert [m.id for m in db.list_missions(db=db_url)] == [keep.id]
    with pytest.raises(NotFoundError, match=f"no mission with id {gone.id!r}"):
        db.get_mission(gone.id, db=db_url)
    with pytest.raises(NotFoundError):
        db.delete_mission(gone.id, db=db_url)
    with pytest.raises(NotFoundError):
        db.status_history(gone.id, db=db_url)
    with pytest.raises(NotFoundError):
        db.update_mission(gone.id, expected_version=1, name="x", db=db_url)
    with pytest.raises(NotFoundError):
        db.set_status(gone.id, "aborted", expected_version=2, db=db_url)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": ""}, ValidationError, "non-empty"),
        ({"name": "x" * 201}, ValidationError, "keep it to 200"),
        ({"safety_score": 1.01}, ValidationError, r"safety_score 1.01 is outside \[0, 1\]"),
        ({"scientific_priority": -0.1}, ValidationError, "scientific_priority"),
        ({"safety_score": float("nan")}, ValidationError, "outside"),
        ({"safety_score": True}, ValidationError, "must be a number"),
        ({"mission_type": "rover"}, ValidationError, "landing, traverse, orbital"),
        ({"status": "done"}, ValidationError, "planned, active, completed, aborted"),
        ({"constraints": {"f": float("inf")}}, ValidationError, "not JSON-serialisable"),
        ({"constraints": {"s": {1, 2}}}, ValidationError, "not JSON-serialisable"),
        ({"constraints": ["not", "a", "dict"]}, ValidationError, "must be a dict"),
        ({"risk_assessment": "high"}, ValidationError, "must be a dict"),
        ({"objectives": "one string"}, ValidationError, "must be a list"),
        ({"lat": 91.0}, CoordinateError, r"latitude 91.0 is outside \[-90, 90\]"),
        ({"lon": 361.0}, CoordinateError, "longitude 361.0"),
        ({"lat": float("nan")}, CoordinateError, "not finite"),
    ],
)
def test_invalid_mission_is_refused(
    spatialite_url: str, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"name": "ok", **GALE, **kwargs}
    name = args.pop("name")
    with pytest.raises(error, match=match):
        db.add_mission(name, db=spatialite_url, **args)  # type: ignore[arg-type]
    assert db.list_missions(db=spatialite_url) == []


def test_bad_ids_and_versions(spatialite_url: str) -> None:
    mission = db.add_mission("m", **GALE, db=spatialite_url)
    with pytest.raises(ValidationError, match="'not-a-uuid' is not a mission id"):
        db.get_mission("not-a-uuid", db=spatialite_url)
    with pytest.raises(ValidationError, match="expected_version 0"):
        db.update_mission(mission.id, expected_version=0, name="x", db=spatialite_url)
    with pytest.raises(NotFoundError):
        db.get_mission("00000000-0000-4000-8000-000000000000", db=spatialite_url)
    # ids are accepted in any UUID spelling
    assert db.get_mission(mission.id.upper(), db=spatialite_url) == mission


def test_text_with_a_nul_character_is_a_validation_error_on_postgis(postgis_url: str) -> None:
    """PostgreSQL text cannot hold NUL: refused as bad input (422 in the API), not a 500/503."""
    from marsgis import db
    from marsgis.exceptions import ValidationError

    db.upgrade(postgis_url)
    with pytest.raises(ValidationError, match=r"NUL \(0x00\)"):
        db.add_mission("Gale\x00", lat=-4.6, lon=137.4, db=postgis_url)
    assert db.list_missions(db=postgis_url) == []
