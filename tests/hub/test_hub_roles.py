"""The database is the one place roles are enforced: real GRANTs on a real PostGIS database.

Each privilege level gets a login role made by marsgis.db.roles (as the hub does on spawn);
the viewer's writes are refused by PostgreSQL whichever path they take (marsgis.db, raw SQL,
the ``marsgis`` CLI), and the refused mission is unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from marsgis import db
from marsgis.db import roles
from marsgis.exceptions import DatabaseError, PermissionDeniedError, ValidationError

pytestmark = pytest.mark.postgis

GALE = {"lat": -4.5895, "lon": 137.4417}


@pytest.fixture
def grants(postgis_url: str) -> Iterator[dict[str, str]]:
    """Group roles with a throw-away prefix and one login role per level: level -> URL."""
    prefix = f"mgt{uuid.uuid4().hex[:8]}"
    roles.ensure_roles(postgis_url, prefix=prefix)
    urls = {"owner": postgis_url, "prefix": prefix}
    try:
        for level in roles.LEVELS:
            password = roles.derive_password("test-secret", level)
            name = roles.grant_user(
                postgis_url, f"ada_{level}", level, password=password, prefix=prefix
            )
            urls[level] = roles.user_database_url(postgis_url, name, password)
        yield urls
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)


def _status(owner: str, mission_id: str) -> tuple[str, int, str]:
    m = db.get_mission(mission_id, db=owner)
    return m.status, m.version, m.name


def test_viewer_cannot_change_a_mission_through_marsgis_db(grants: dict[str, str]) -> None:
    m = db.add_mission("Gale landing", **GALE, db=grants["scientist"])
    viewer = grants["viewer"]
    assert db.get_mission(m.id, db=viewer).name == "Gale landing"  # reading is allowed
    with pytest.raises(PermissionDeniedError, match=r"permission denied for table missions"):
        db.set_status(m.id, "active", expected_version=1, db=viewer)
    with pytest.raises(PermissionDeniedError, match="operators change mission status"):
        db.update_mission(m.id, expected_version=1, name="renamed", db=viewer)
    with pytest.raises(PermissionDeniedError):
        db.add_mission("Jezero", lat=18.4447, lon=77.4508, db=viewer)
    with pytest.raises(PermissionDeniedError):
        db.delete_mission(m.id, db=viewer)
    assert _status(grants["owner"], m.id) == ("planned", 1, "Gale landing")
    assert [h.to_status for h in db.status_history(m.id, db=grants["owner"])] == ["planned"]


def test_viewer_is_refused_by_postgresql_itself(grants: dict[str, str]) -> None:
    """Code that bypasses marsgis (raw SQL in a kernel) meets the same refusal."""
    m = db.add_mission("Gale landing", **GALE, db=grants["scientist"])
    from sqlalchemy.engine import make_url

    url = make_url(grants["viewer"])
    conn = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database
    )
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("UPDATE missions SET status = 'aborted' WHERE id = %s", (m.id,))
        conn.rollback()
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(f"SET ROLE {grants['prefix']}_scientist")
    finally:
        conn.close()
    assert _status(grants["owner"], m.id) == ("planned", 1, "Gale landing")


def test_viewer_is_refused_through_the_cli(grants: dict[str, str]) -> None:
    m = db.add_mission("Gale landing", **GALE, db=grants["scientist"])
    marsgis_cli = Path(sys.executable).with_name("marsgis")
    env = {**os.environ, "MARSGIS_DATABASE_URL": grants["viewer"]}
    done = subprocess.run(
        [str(marsgis_cli), "mission", "status", m.id, "active", "--expected-version", "1"],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "permission denied" in done.stderr
    assert "Traceback" not in done.stderr
    assert _status(grants["owner"], m.id) == ("planned", 1, "Gale landing")
    shown = subprocess.run(
        [str(marsgis_cli), "mission", "show", m.id, "--json"],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "planned", shown.stdout


def test_operator_changes_status_but_not_the_mission(grants: dict[str, str]) -> None:
    m = db.add_mission("Gale landing", **GALE, db=grants["scientist"])
    operator = grants["operator"]
    changed = db.set_status(
        m.id, "active", expected_version=1, changed_by="ada_operator", db=operator
    )
    assert (changed.status, changed.version) == ("active", 2)
    history = db.status_history(m.id, db=grants["owner"])
    assert [(h.from_status, h.to_status, h.changed_by) for h in history] == [
        (None, "planned", None),
        ("planned", "active", "ada_operator"),
    ]
    with pytest.raises(PermissionDeniedError, match="permission denied"):
        db.update_mission(m.id, expected_version=2, name="renamed", db=operator)
    with pytest.raises(PermissionDeniedError):
        db.add_mission("Jezero", lat=18.4447, lon=77.4508, db=operator)
    with pytest.raises(PermissionDeniedError):
        db.delete_mission(m.id, db=operator)
    assert _status(grants["owner"], m.id) == ("active", 2, "Gale landing")


def test_scientist_creates_edits_and_deletes(grants: dict[str, str]) -> None:
    scientist = grants["scientist"]
    m = db.add_mission("Gale landing", **GALE, db=scientist)
    m = db.update_mission(m.id, expected_version=1, name="Gale (Bradbury)", db=scientist)
    m = db.set_status(m.id, "active", expected_version=m.version, db=scientist)
    assert _status(grants["owner"], m.id) == ("active", 3, "Gale (Bradbury)")
    db.delete_mission(m.id, db=scientist)
    assert db.list_missions(db=grants["owner"]) == []


def test_current_access_matches_the_grants(grants: dict[str, str]) -> None:
    got = {level: roles.current_access(grants[level]) for level in ("owner", *roles.LEVELS)}
    assert {level: a.level for level, a in got.items()} == {
        "owner": "owner",
        "scientist": "scientist",
        "operator": "operator",
        "viewer": "viewer",
    }
    assert [(a.read, a.change_status, a.edit_missions, a.run_reports) for a in got.values()] == [
        (True, True, True, True),
        (True, True, True, True),
        (True, True, False, True),
        (True, False, False, False),
    ]
    assert got["viewer"].role == roles.user_role("ada_viewer", prefix=grants["prefix"])


def test_moving_a_user_between_groups_moves_the_grants(grants: dict[str, str]) -> None:
    m = db.add_mission("Gale landing", **GALE, db=grants["scientist"])
    owner, prefix = grants["owner"], grants["prefix"]
    password = roles.derive_password("test-secret", "viewer")
    roles.grant_user(owner, "ada_viewer", ["operator"], password=password, prefix=prefix)
    assert roles.current_access(grants["viewer"]).level == "operator"
    db.set_status(m.id, "active", expected_version=1, db=grants["viewer"])
    roles.grant_user(owner, "ada_viewer", "viewer", password=password, prefix=prefix)
    db.dispose_engines()  # a new connection sees the revoked membership
    with pytest.raises(PermissionDeniedError):
        db.set_status(m.id, "completed", expected_version=2, db=grants["viewer"])
    assert _status(owner, m.id) == ("active", 2, "Gale landing")


def test_roles_need_postgresql(spatialite_url: str) -> None:
    with pytest.raises(DatabaseError, match="database roles need PostgreSQL, not 'sqlite'"):
        roles.ensure_roles(spatialite_url)
    assert roles.current_access(spatialite_url).level == "owner"


def test_role_names_and_passwords() -> None:
    assert roles.group_role("viewer") == "marsgis_viewer"
    assert roles.user_role("ada") == "marsgis_u_ada"
    odd = roles.user_role("Ada.Lovelace@esa.int")
    assert odd.startswith("marsgis_u_ada_lovelace_esa_int_") and len(odd) <= 63
    assert odd != roles.user_role("ada.lovelace@esa.int")
    assert roles.derive_password("k", "ada") == roles.derive_password("k", "ada")
    assert roles.derive_password("k", "ada") != roles.derive_password("k", "bob")
    with pytest.raises(ValidationError, match="unknown privilege level 'pilot'"):
        roles.group_role("pilot")
    with pytest.raises(ValidationError, match="role prefix 'Bad-Prefix'"):
        roles.user_role("ada", prefix="Bad-Prefix")
    assert roles.service_role("scheduler") == "marsgis_s_scheduler"
    assert roles.user_role("s_scheduler") != roles.service_role("scheduler")  # no way in
    with pytest.raises(ValidationError, match="service name 'Bad Name'"):
        roles.service_role("Bad Name")
    url = roles.user_database_url("postgresql+psycopg2://postgres@127.0.0.1:5432/m", "r_u", "p@w")
    assert url == "postgresql+psycopg2://r_u:p%40w@127.0.0.1:5432/m"
