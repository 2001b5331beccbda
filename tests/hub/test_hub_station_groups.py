"""The station's hub groups: hub roles, custom scopes, database levels and the landing page.

Configuration only (hub/marsgis_hub.py's functions and templates, no hub is started): the
groups give the station's custom scopes of marsgis.api.scopes.ROLE_SCOPES, and their users'
servers and dashboard kernels get the matching PostgreSQL group roles (marsgis.db.roles).
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import pytest

from marsgis.api.scopes import (
    ROLE_SCOPES,
    STATION_APPLY,
    STATION_AUDIT,
    STATION_DECIDE,
    STATION_DISPATCH,
    STATION_READ,
    STATION_ROLES,
)
from marsgis.db import roles

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hubmod() -> ModuleType:
    sys.path.insert(0, str(REPO / "hub"))
    try:
        import marsgis_hub
    finally:
        sys.path.remove(str(REPO / "hub"))
    return marsgis_hub


@pytest.fixture
def settings(hubmod: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MARSGIS_HUB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("MARSGIS_HUB_API_TOKEN", raising=False)
    return hubmod.hub_settings()


def test_every_station_role_has_a_hub_group(hubmod: ModuleType) -> None:
    assert hubmod.GROUPS == (
        "scientists",
        "operators",
        "viewers",
        "immigration-officers",
        "station-managers",
        "spaceline-dispatchers",
        "colony-officials",
        "auditors",
        "passengers",
    )
    assert set(hubmod.GROUPS) == set(roles.HUB_GROUPS) == set(hubmod.GROUP_DESCRIPTIONS)
    station = {g: roles.HUB_GROUPS[g] for g in hubmod.STATION_GROUPS}
    assert sorted(station.values()) == sorted(STATION_ROLES) == sorted(roles.STATION_LEVELS)
    assert {hubmod.MARSGIS_ROLES[r] for r in hubmod.STATION_HUB_ROLES} == set(STATION_ROLES)


def test_station_hub_roles_grant_the_station_scopes(hubmod: ModuleType, settings: Any) -> None:
    config = {r["name"]: r for r in hubmod.roles_config(settings)}
    api = "access:services!service=marsgis-api"
    web = {"access:services!service=dashboards", "access:services!service=reports", api}
    expected = {
        "immigration-officer": ("immigration-officers", {STATION_READ, STATION_DECIDE}),
        "station-manager": ("station-managers", ROLE_SCOPES["station_manager"]),
        "spaceline-dispatcher": ("spaceline-dispatchers", {STATION_READ, STATION_DISPATCH}),
        "colony-official": ("colony-officials", ROLE_SCOPES["colony_official"]),
        "auditor": ("auditors", {STATION_READ, STATION_AUDIT}),
        "passenger": ("passengers", {STATION_APPLY}),
    }
    for name, (group, scopes) in expected.items():
        role = config[name]
        assert role["groups"] == [group], name
        custom = {s for s in role["scopes"] if s.startswith("custom:marsgis:")}
        assert custom == set(scopes) == ROLE_SCOPES[hubmod.MARSGIS_ROLES[name]], name
        other = set(role["scopes"]) - custom
        # no server, no Dask for the station; passengers reach the API only
        assert other == ({api} if name == "passenger" else web), name
        assert "self" not in role["scopes"]
    # every custom scope a role names is defined for the hub
    defined = set(hubmod.custom_scopes())
    for role in config.values():
        assert {s for s in role["scopes"] if s.startswith("custom:")} <= defined
    # the mission roles are as they were
    assert config["viewer"]["groups"] == ["viewers"]
    assert {s for s in config["operator"]["scopes"] if s.startswith("custom:")} == set(
        ROLE_SCOPES["operator"]
    )
    assert hubmod.marsgis_scopes("immigration-officer") == sorted(
        ROLE_SCOPES["immigration_officer"]
    )


def test_levels_for_gives_the_station_group_roles(hubmod: ModuleType) -> None:
    assert hubmod.levels_for(["immigration-officers"], admin=False) == ["immigration_officer"]
    assert hubmod.levels_for(["auditors", "passengers"], admin=False) == ["auditor", "passenger"]
    assert hubmod.levels_for(["operators", "spaceline-dispatchers"], admin=False) == [
        "operator",
        "spaceline_dispatcher",
    ]
    assert hubmod.levels_for(["station-managers"], admin=True) == ["scientist", "station_manager"]
    assert hubmod.levels_for(["pilots"], admin=False) == []
    for group in hubmod.STATION_GROUPS:  # every level names a group role ensure_roles creates
        (level,) = hubmod.levels_for([group], admin=False)
        assert roles.group_role(level, prefix="p") == f"p_{level}"


def test_servers_and_services_get_the_station_roles(
    hubmod: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARSGIS_HUB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("MARSGIS_HUB_DATABASE_URL", "postgresql+psycopg2://pg@127.0.0.1:5432/m")
    monkeypatch.setenv("MARSGIS_HUB_DB_SECRET", "s3cret")
    s = hubmod.hub_settings()
    assert s.postgres
    urls = hubmod.service_urls(s)
    assert {n for n in urls if n.startswith("dashboards-")} == {
        f"dashboards-{level}" for level in roles.ALL_LEVELS
    }
    role = roles.service_role("dashboards_spaceline_dispatcher", prefix=s.role_prefix)
    assert len(role) <= 63
    assert urls["dashboards-spaceline_dispatcher"] == roles.user_database_url(
        s.database_url, role, roles.derive_password("s3cret", role)
    )
    dashboards = next(x for x in hubmod.services(s) if x["name"] == "dashboards")
    env = dashboards["environment"]
    assert env["MARSGIS_HUB_DB_URL_IMMIGRATION_OFFICER"] == urls["dashboards-immigration_officer"]
    assert env["MARSGIS_DATABASE_URL"] == urls["dashboards-viewer"]


def test_dashboards_service_picks_the_station_level_on_station_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/dashboards/")
    spec = importlib.util.spec_from_file_location(
        "marsgis_hub_dashboards_station", REPO / "hub" / "services" / "dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    dashboards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dashboards)
    both = {"groups": ["operators", "immigration-officers"]}
    queue = "/services/dashboards/voila/render/station-officer-queue.ipynb"
    assert dashboards.level_of(both, queue) == "immigration_officer"
    assert dashboards.level_of(both, "/voila/render/mission-board.ipynb") == "operator"
    assert dashboards.level_of({"groups": ["auditors"]}, queue) == "auditor"
    assert dashboards.level_of({"groups": ["auditors"]}) == "auditor"
    assert dashboards.level_of({"groups": ["spaceline-dispatchers", "station-managers"]}) == (
        "station_manager"
    )
    assert dashboards.level_of({"groups": [], "admin": True}, queue) == "scientist"
    assert dashboards.level_of({"groups": []}) == "viewer"


def test_pages_offered_per_group(hubmod: ModuleType) -> None:
    pages = hubmod.dashboard_pages(REPO / "dashboards")
    names = [n for _, n in pages]
    station = sorted(n for n in names if n.startswith("station-"))
    assert station == [
        "station-bay-timeline.ipynb",
        "station-colonies.ipynb",
        "station-officer-queue.ipynb",
    ]
    assert [n for _, n in hubmod.pages_for(["viewers"], pages, admin=False)] == names
    assert [n for _, n in hubmod.pages_for([], pages, admin=True)] == names
    for group in ("immigration-officers", "auditors", "spaceline-dispatchers"):
        assert sorted(n for _, n in hubmod.pages_for([group], pages, admin=False)) == station
    assert hubmod.pages_for(["passengers"], pages, admin=False) == []
    assert hubmod.pages_for([], pages, admin=False) == []


def _render(hubmod: ModuleType, **context: Any) -> str:
    """hub/templates/marsgis-home.html with a bare page.html (JupyterHub's is not needed)."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.DictLoader({"page.html": "{% block main %}{% endblock main %}"}),
                jinja2.FileSystemLoader(REPO / "hub" / "templates"),
            ]
        ),
        autoescape=True,
    )
    base = {
        "group_names": hubmod.GROUPS,
        "group_descriptions": [(g, hubmod.GROUP_DESCRIPTIONS[g]) for g in hubmod.GROUPS],
        "admin_users": ["admin"],
        "api_url": "/services/marsgis-api/api/v1/station/applications",
        "lab_url": None,
        "passenger": False,
        "dashboards": [],
        "reports_url": "/services/reports/",
    }
    return env.get_template("marsgis-home.html").render(**{**base, **context})


class _User:
    def __init__(self, name: str, admin: bool = False) -> None:
        self.name, self.admin = name, admin


def test_landing_pages_list_the_groups(hubmod: ModuleType) -> None:
    page = _render(hubmod, user=_User("nova"), marsgis_groups=[])
    assert "Your account is approved" in page
    for group in hubmod.GROUPS:
        assert f"<li><strong>{group}</strong>: " in page
    assert "immigration-officers</strong>: the officer&#39;s queue" in page
    officer = _render(
        hubmod,
        user=_User("osei"),
        marsgis_groups=["immigration-officers"],
        dashboards=[("Officer queue", "/q")],
    )
    assert 'id="marsgis-dashboards"' in officer and 'id="marsgis-passenger"' not in officer
    pax = _render(
        hubmod, user=_User("pax"), marsgis_groups=["passengers"], passenger=True, reports_url=None
    )
    assert 'id="marsgis-passenger"' in pax and 'id="marsgis-dashboards"' not in pax
    assert "/services/marsgis-api/api/v1/station/applications" in pax
    assert "Scheduled reports" not in pax


@pytest.mark.postgis
def test_station_users_and_services_connect_as_their_group_roles(
    hubmod: ModuleType, postgis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the hub does at start-up and at each spawn, on the real PostgreSQL (no hub)."""
    from marsgis import db

    prefix = f"mgh{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MARSGIS_HUB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("MARSGIS_HUB_DATABASE_URL", postgis_url)
    monkeypatch.setenv("MARSGIS_HUB_DB_ROLE_PREFIX", prefix)
    monkeypatch.setenv("MARSGIS_HUB_DB_SECRET", "s3cret")
    s = hubmod.hub_settings()
    try:
        hubmod.prepare_database(s)
        osei = hubmod.user_database_url(s, "osei", ["immigration-officers"], admin=False)
        access = roles.current_access(osei)
        assert (access.level, access.decide, access.book_bays, access.read) == (
            "immigration_officer",
            True,
            False,
            False,
        )
        both = hubmod.user_database_url(s, "dee", ["viewers", "spaceline-dispatchers"], admin=False)
        access = roles.current_access(both)
        assert (access.level, access.station_level, access.book_bays, access.decide) == (
            "viewer",
            "spaceline_dispatcher",
            True,
            False,
        )
        # moved out of the station's group: the grants go with it
        hubmod.user_database_url(s, "dee", ["viewers"], admin=False)
        db.dispose_engines()
        assert not roles.current_access(both).book_bays
        urls = hubmod.service_urls(s)
        auditor = roles.current_access(urls["dashboards-auditor"])
        assert (auditor.level, auditor.read_audit, auditor.decide) == ("auditor", True, False)
        # the API's login may act as every group, the station's too
        with db.as_role("colony_official", prefix=prefix) as name:
            assert name == f"{prefix}_colony_official"
            assert roles.current_access(urls["api"]).level == "colony_official"
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)
