"""Per-caller database roles: the API runs each request as the caller's PostgreSQL group role.

The app here connects as a login role of its own (not the database owner), member of the
group roles of a fresh role prefix (:func:`marsgis.db.roles.ensure_roles`), with
``create_app(db_roles=True)``. The role matrices of the other API modules run again against
this app (imported below: pytest runs them here with this module's ``service`` fixture), so
every role's allowed routes must still pass the database's grants; the tests written here
show that the database itself refuses what a role may not do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from api_service import ROLES, Service
from sqlalchemy.engine import make_url

# the role matrices and end-to-end flows of the other modules, run here with DB roles on
from test_api_inference import (  # noqa: F401
    classifier,
    test_batch_window_equals_classify_raster,
)
from test_api_mars_data import test_every_terrain_route_is_open_to_every_role  # noqa: F401
from test_api_missions import (  # noqa: F401
    test_every_route_for_every_role,
    test_idempotency_key_replays_the_first_response,
    test_stale_if_match_is_412_and_writes_nothing,
)
from test_api_planning import test_every_planning_route_for_every_role  # noqa: F401
from test_api_reports import (  # noqa: F401
    _reports_dir,
    test_every_report_route_for_every_role,
    test_trigger_poll_and_fetch_the_html,
)
from test_api_station import (  # noqa: F401
    station,
    test_application_to_admission_through_the_api,
    test_role_matrix_refusals_change_nothing,
)

from marsgis import db
from marsgis.api import create_app
from marsgis.config import settings
from marsgis.db import roles, tokens
from marsgis.db.schema import TOKEN_ROLES
from marsgis.events import last_event_id
from marsgis.exceptions import DatabaseError, PermissionDeniedError, ValidationError

pytestmark = pytest.mark.postgis

MISSIONS = "/api/v1/missions"


@pytest.fixture
def prefix() -> str:
    """A role prefix of this test alone (PostgreSQL roles are shared by the whole server)."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def login_url(postgis_url: str, prefix: str) -> Iterator[str]:
    """The URL of a login role member of every group role (what the hub gives the API)."""
    db.upgrade(postgis_url)
    roles.ensure_roles(postgis_url, prefix=prefix)
    login = roles.grant_role(
        postgis_url,
        roles.service_role("api", prefix=prefix),
        roles.ALL_LEVELS,
        password=None,
        prefix=prefix,
    )
    yield roles.user_database_url(postgis_url, login, None)
    db.dispose_engines()  # the login's pooled connections, before its role goes
    roles.drop_roles(postgis_url, prefix=prefix)
    db.dispose_engines()


@pytest.fixture
def service(postgis_url: str, login_url: str, prefix: str) -> Service:
    """The app over ``login_url`` with DB roles on; ``url`` is the owner's (seeds, snapshots)."""
    made = {role: tokens.create_token(f"{role}-user", role, db=postgis_url)[1] for role in ROLES}
    app = create_app(login_url, rate_limit="off", db_roles=True, db_role_prefix=prefix)
    return Service(url=postgis_url, app=app, tokens=made)


def _owner_sql(url: str, statement: str) -> None:
    """Run ``statement`` as the database owner (outside marsgis: a deployment's own change)."""
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, dbname=u.database, connect_timeout=10
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def _mission(url: str) -> db.Mission:
    return db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=url)


def test_every_token_role_has_a_database_level() -> None:
    assert set(roles.ROLE_LEVELS) == set(TOKEN_ROLES)
    assert {level for level in roles.ROLE_LEVELS.values() if level is not None} == set(
        roles.ALL_LEVELS
    )
    # the four API roles run as the group of the same name; admin as the scientists
    assert [roles.ROLE_LEVELS[r] for r in ROLES] == ["scientist", "scientist", "operator", "viewer"]
    # and every station role as a group of its own
    assert all(roles.ROLE_LEVELS[r] == r for r in roles.STATION_LEVELS)


def test_a_viewer_insert_is_refused_by_the_database_and_writes_nothing(
    postgis_url: str, login_url: str, prefix: str
) -> None:
    seeded = _mission(postgis_url)
    events_before = last_event_id(db=postgis_url)
    with db.as_role("viewer", prefix=prefix) as name:
        assert name == f"{prefix}_viewer"
        # no scope check on this path: the library is called directly, the database decides
        with pytest.raises(PermissionDeniedError) as refused:
            db.add_mission("Jezero", lat=18.4447, lon=77.4508, db=login_url)
        # a viewer reads
        assert [m.id for m in db.list_missions(db=login_url)] == [seeded.id]
    assert f"role '{prefix}_viewer'" in str(refused.value)
    assert "permission denied for table missions" in str(refused.value)
    assert [m.name for m in db.list_missions(db=postgis_url)] == ["Gale"]
    assert last_event_id(db=postgis_url) == events_before
    # outside the block the login's own grants (all three groups) apply again, on the same pool
    db.add_mission("Jezero", lat=18.4447, lon=77.4508, db=login_url)
    assert sorted(m.name for m in db.list_missions(db=postgis_url)) == ["Gale", "Jezero"]


def test_an_operator_changes_status_but_may_not_delete(
    postgis_url: str, login_url: str, prefix: str
) -> None:
    mission = _mission(postgis_url)
    assert mission.status == "planned"
    history = [h.to_status for h in db.status_history(mission.id, db=postgis_url)]
    events = last_event_id(db=postgis_url)
    with db.as_role("operator", prefix=prefix):
        # a status change writes the mission, its history and an event
        changed = db.set_status(mission.id, "active", expected_version=1, db=login_url)
        with pytest.raises(PermissionDeniedError):
            db.delete_mission(mission.id, db=login_url)
        with pytest.raises(PermissionDeniedError):
            db.update_mission(mission.id, expected_version=2, description="edited", db=login_url)
    assert changed.status == "active"
    stored = db.get_mission(mission.id, db=postgis_url)
    assert (stored.status, stored.description, stored.version) == ("active", mission.description, 2)
    assert [h.to_status for h in db.status_history(mission.id, db=postgis_url)] == [
        *history,
        "active",
    ]
    assert last_event_id(db=postgis_url) > events


def test_a_request_runs_as_the_callers_role(service: Service, prefix: str) -> None:
    """Take SELECT on missions from the viewers' group: a viewer's read is refused by the
    database (403, though the scope check passed), a scientist's still succeeds."""
    mission = _mission(service.url)
    assert service.call("GET", MISSIONS, role="viewer").json()["total"] == 1
    _owner_sql(service.url, f'REVOKE SELECT ON missions FROM "{prefix}_viewer"')
    refused = service.call("GET", f"{MISSIONS}/{mission.id}", role="viewer")
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "permission denied for table missions" in refused.json()["detail"]
    allowed = service.call("GET", f"{MISSIONS}/{mission.id}", role="scientist")
    assert allowed.status_code == 200 and allowed.json()["id"] == mission.id


def test_without_db_roles_the_login_does_everything(
    postgis_url: str, login_url: str, prefix: str
) -> None:
    made = tokens.create_token("viewer-user", "viewer", db=postgis_url)[1]
    app = create_app(login_url, rate_limit="off", db_roles=False)
    plain = Service(url=postgis_url, app=app, tokens={"viewer": made})
    mission = _mission(postgis_url)
    _owner_sql(postgis_url, f'REVOKE SELECT ON missions FROM "{prefix}_viewer"')
    response = plain.call("GET", f"{MISSIONS}/{mission.id}", role="viewer")
    assert response.status_code == 200 and response.json()["id"] == mission.id


def test_db_roles_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings({}).api_db_roles is False
    assert settings({"MARSGIS_API_DB_ROLES": "1"}).api_db_roles is True
    assert settings({"MARSGIS_DB_ROLE_PREFIX": "colony"}).db_role_prefix == "colony"
    monkeypatch.setenv("MARSGIS_API_DB_ROLES", "1")
    monkeypatch.setenv("MARSGIS_DB_ROLE_PREFIX", "Not A Prefix")
    with pytest.raises(ValidationError, match="role prefix 'Not A Prefix' must be"):
        create_app(rate_limit="off")
    monkeypatch.setenv("MARSGIS_API_DB_ROLES", "0")
    create_app(rate_limit="off")  # off: the prefix is not used


@pytest.mark.parametrize("role", ["root", "postgres", "marsgis_viewer", 'viewer"; DROP', ""])
def test_as_role_refuses_an_unknown_role(role: str) -> None:
    with pytest.raises(ValidationError) as refused, db.as_role(role):
        pass
    assert str(refused.value) == (
        f"unknown marsgis role {role!r} for database work; use one of admin, scientist, "
        "operator, viewer, passenger, immigration_officer, station_manager, "
        "spaceline_dispatcher, colony_official, auditor"
    )


def test_a_login_that_is_not_a_member_is_a_deployment_error(
    postgis_url: str, login_url: str, prefix: str
) -> None:
    narrow = roles.grant_role(
        postgis_url,
        roles.service_role("narrow", prefix=prefix),
        "viewer",
        password=None,
        prefix=prefix,
    )
    url = roles.user_database_url(postgis_url, narrow, None)
    with db.as_role("scientist", prefix=prefix), pytest.raises(DatabaseError) as refused:
        db.list_missions(db=url)
    assert not isinstance(refused.value, PermissionDeniedError)
    assert f"cannot act as the database role '{prefix}_scientist'" in str(refused.value)
    assert "grant_role" in str(refused.value)


def test_as_role_is_a_no_op_on_spatialite(spatialite_url: str) -> None:
    db.upgrade(spatialite_url)
    with db.as_role("viewer") as name:
        assert name == "marsgis_viewer"
        made = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=spatialite_url)
    assert [m.id for m in db.list_missions(db=spatialite_url)] == [made.id]


def test_a_hub_user_in_two_groups_acts_as_the_group_of_the_route() -> None:
    from types import SimpleNamespace

    from marsgis.api.auth import Principal, acting_role, database_role, role_of
    from marsgis.api.scopes import (
        ADMIN,
        MISSIONS_STATUS,
        ROLE_SCOPES,
        STATION_AUDIT,
        STATION_DECIDE,
        STATION_DISPATCH,
    )

    both = ROLE_SCOPES["operator"] | ROLE_SCOPES["immigration_officer"]
    ada = Principal("ada", role_of(both), both, "hub")
    assert ada.role == "operator"
    assert acting_role(ada) == "operator"
    assert acting_role(ada, MISSIONS_STATUS) == "operator"
    assert acting_role(ada, STATION_DECIDE) == "immigration_officer"
    two = ROLE_SCOPES["spaceline_dispatcher"] | ROLE_SCOPES["auditor"]
    dee = Principal("dee", role_of(two), two, "hub")
    assert (acting_role(dee, STATION_DISPATCH), acting_role(dee, STATION_AUDIT)) == (
        "spaceline_dispatcher",
        "auditor",
    )
    # a scope no whole role of the principal grants: its own role (the scope check refuses)
    assert acting_role(dee, MISSIONS_STATUS) == "spaceline_dispatcher"
    root = Principal("root", "admin", frozenset({ADMIN}), "hub")
    assert acting_role(root, STATION_DECIDE) == "admin"
    odd = Principal("odd", "none", frozenset({STATION_AUDIT}), "hub")
    assert acting_role(odd, STATION_AUDIT) == "viewer"
    app = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(db_role_prefix="tq")))
    with database_role(app, ada, STATION_DECIDE) as name:  # type: ignore[arg-type]
        assert name == "tq_immigration_officer"
    with database_role(app, ada) as name:  # type: ignore[arg-type]
        assert name == "tq_operator"
