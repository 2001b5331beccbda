"""The station's database group roles: each station role may do its own work, nothing else.

On the real PostgreSQL, with a throw-away role prefix: one login role per station level
(:func:`marsgis.db.roles.grant_user`), each acting through :mod:`marsgis.db.station` as a
station client would. A refused change raises :class:`~marsgis.exceptions.PermissionDeniedError`
and leaves the store (records, audit log, event log) as it was, read back as the owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from station_helpers import OFFICER, T0, passenger_mrz, small_station

from marsgis import db
from marsgis.db import roles
from marsgis.db import station as st
from marsgis.exceptions import PermissionDeniedError

pytestmark = pytest.mark.postgis


@pytest.fixture
def station_roles(postgis_url: str) -> Iterator[dict[str, Any]]:
    """A small station (as the owner), group roles and one login role per station level."""
    db.upgrade(postgis_url)
    prefix = f"mgs{uuid.uuid4().hex[:8]}"
    names = roles.ensure_roles(postgis_url, prefix=prefix)
    out: dict[str, Any] = {"owner": postgis_url, "prefix": prefix, "names": names}
    try:
        out["station"] = small_station(postgis_url)
        for level in roles.STATION_LEVELS:
            password = roles.derive_password("test-secret", level)
            login = roles.grant_user(
                postgis_url, f"st_{level}", level, password=password, prefix=prefix
            )
            out[level] = roles.user_database_url(postgis_url, login, password)
        yield out
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)


def _snapshot(owner: str) -> dict[str, Any]:
    """Everything a refusal must leave as it was (read as the owner)."""
    with db.transaction(owner) as conn:
        tables = {
            t: conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY id")).all()
            for t in (
                "station_visa_applications",
                "station_visas",
                "station_bay_bookings",
                "station_colonies",
                "station_entry_events",
                "station_audit_log",
                "events",
            )
        }
    return tables


def _application(owner: str, colony_id: int, i: int = 1) -> tuple[int, int, int]:
    """A submitted application of passenger ``i`` (as the owner): (app, passenger, document)."""
    passenger, document = st.register_passenger(passenger_mrz(i), actor="dispatch.dee", db=owner)
    app = st.create_application(passenger.id, colony_id, applicant=f"pax{i}", db=owner)
    app = st.move_application(app.id, "submitted", actor=f"pax{i}", expected_version=1, db=owner)
    return app.id, passenger.id, document.id


def test_every_station_level_has_a_group_role(station_roles: dict[str, Any]) -> None:
    prefix = station_roles["prefix"]
    assert station_roles["names"] == {
        level: f"{prefix}_{level}" for level in (*roles.LEVELS, *roles.STATION_LEVELS)
    }
    assert set(roles.ALL_LEVELS) == {*roles.LEVELS, *roles.STATION_LEVELS}
    # every marsgis role runs as a group of its own; admin keeps the scientists' grants
    assert {r: roles.ROLE_LEVELS[r] for r in roles.STATION_LEVELS} == {
        r: r for r in roles.STATION_LEVELS
    }
    assert roles.ROLE_LEVELS["admin"] == "scientist"
    with db.transaction(station_roles["owner"]) as conn:
        found = conn.execute(
            sa.text("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE :p"),
            {"p": f"{prefix}\\_%"},
        ).all()
    groups = {name for name, login in found if not login}
    assert groups == set(station_roles["names"].values())

    # idempotent: run again (the hub does at every start), the same grants, column ones too
    def grants() -> list[tuple[Any, ...]]:
        with db.transaction(station_roles["owner"]) as conn:
            return conn.execute(
                sa.text(
                    "SELECT grantee, table_name, column_name, privilege_type "
                    "FROM information_schema.column_privileges WHERE grantee LIKE :p "
                    "ORDER BY 1, 2, 3, 4"
                ),
                {"p": f"{prefix}\\_%"},
            ).all()

    before = grants()
    assert (f"{prefix}_passenger", "station_audit_log", "hash", "SELECT") in before
    assert (f"{prefix}_passenger", "station_audit_log", "reason", "SELECT") not in before
    roles.ensure_roles(station_roles["owner"], prefix=prefix)
    assert grants() == before


def test_current_access_of_each_station_role(station_roles: dict[str, Any]) -> None:
    got = {level: roles.current_access(station_roles[level]) for level in roles.STATION_LEVELS}
    flags = {
        level: (
            a.level,
            a.station_level,
            a.read,
            a.read_station,
            a.decide,
            a.book_bays,
            a.manage_station,
            a.set_capacity,
            a.apply,
            a.read_audit,
        )
        for level, a in got.items()
    }
    #                       level, station, missions, station, decide, book, manage, cap, apply, audit
    assert flags == {
        "immigration_officer": (
            "immigration_officer",
            "immigration_officer",
            False,
            True,
            True,
            False,
            False,
            False,
            False,
            True,
        ),
        "station_manager": (
            "station_manager",
            "station_manager",
            False,
            True,
            False,
            True,
            True,
            True,
            False,
            False,
        ),
        "spaceline_dispatcher": (
            "spaceline_dispatcher",
            "spaceline_dispatcher",
            False,
            True,
            False,
            True,
            False,
            False,
            False,
            False,
        ),
        "colony_official": (
            "colony_official",
            "colony_official",
            False,
            True,
            False,
            False,
            False,
            True,
            False,
            False,
        ),
        "auditor": ("auditor", "auditor", False, True, False, False, False, False, False, True),
        "passenger": (
            "passenger",
            "passenger",
            False,
            True,
            False,
            False,
            False,
            False,
            True,
            False,
        ),
    }
    prefix = station_roles["prefix"]
    assert got["auditor"].role == roles.user_role("st_auditor", prefix=prefix)
    owner = roles.current_access(station_roles["owner"])
    assert (owner.level, owner.station_level, owner.decide, owner.book_bays) == (
        "owner",
        None,
        True,
        True,
    )
    # as_role gives the same answer through a SET ROLE
    with db.as_role("spaceline_dispatcher", prefix=prefix) as name:
        assert name == f"{prefix}_spaceline_dispatcher"
        a = roles.current_access(station_roles["owner"])  # SET ROLE: the group's own grants
        assert (a.level, a.role, a.book_bays, a.decide) == (
            "spaceline_dispatcher",
            name,
            True,
            False,
        )


def test_auditor_reads_but_cannot_decide(station_roles: dict[str, Any]) -> None:
    owner, s = station_roles["owner"], station_roles["station"]
    app_id, _, _ = _application(owner, s.colony_id)
    auditor = station_roles["auditor"]
    assert st.verify_audit(db=auditor).intact
    assert [r.action for r in st.list_audit(db=auditor)] == [
        r.action for r in st.list_audit(db=owner)
    ]
    before = _snapshot(owner)
    with pytest.raises(PermissionDeniedError, match="permission denied"):
        st.move_application(app_id, "under_review", actor="audrey", expected_version=2, db=auditor)
    with pytest.raises(PermissionDeniedError):
        st.book_bay(s.bay_id, starts_at=T0, ends_at=T0 + timedelta(hours=4), actor="audrey",
                    db=auditor)  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        st.set_capacity(s.colony_id, 50, expected_version=1, actor="audrey", reason="x", db=auditor)
    assert _snapshot(owner) == before
    with pytest.raises(PermissionDeniedError):  # no mission tables for a station role
        db.list_missions(db=auditor)


def test_officer_decides_issues_and_admits(station_roles: dict[str, Any]) -> None:
    owner, s = station_roles["owner"], station_roles["station"]
    app_id, passenger_id, document_id = _application(owner, s.colony_id)
    officer = station_roles["immigration_officer"]
    app = st.move_application(app_id, "under_review", actor=OFFICER, expected_version=2, db=officer)
    app = st.move_application(
        app_id, "approved", actor=OFFICER, reason="papers in order", expected_version=3, db=officer
    )
    visa = st.issue_visa(
        app_id,
        officer=OFFICER,
        valid_from=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=365),
        db=officer,
    )
    event = st.admit_passenger(
        passenger_id, s.colony_id, document_id=document_id, arrival_at=T0, officer=OFFICER,
        db=officer,
    )  # fmt: skip
    assert (app.status, visa.status, event.outcome) == ("approved", "issued", "admitted")
    assert st.get_colony(s.colony_id, db=owner).population == 1
    assert st.get_application(app_id, db=owner).decided_by == OFFICER
    assert st.verify_audit(db=owner).intact
    trail = st.list_audit(subject_type="visa_application", subject_id=app_id, db=owner)
    moves = [r for r in trail if r.action == "application_changed"]
    assert [(r.actor, r.role, r.details["to"]) for r in moves][-2:] == [
        (OFFICER, "immigration_officer", "under_review"),
        (OFFICER, "immigration_officer", "approved"),
    ]
    before = _snapshot(owner)
    with pytest.raises(PermissionDeniedError):  # an officer books no bay
        st.book_bay(s.bay_id, starts_at=T0, ends_at=T0 + timedelta(hours=4), actor=OFFICER,
                    db=officer)  # fmt: skip
    assert _snapshot(owner) == before


def test_dispatcher_books_a_bay_but_cannot_decide(station_roles: dict[str, Any]) -> None:
    owner, s = station_roles["owner"], station_roles["station"]
    app_id, _, _ = _application(owner, s.colony_id)
    dispatcher = station_roles["spaceline_dispatcher"]
    booking = st.book_bay(
        s.bay_id,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=6),
        voyage_id=s.voyage_id,
        actor="dispatch.dee",
        db=dispatcher,
    )
    assert [b.id for b in st.list_bookings(s.bay_id, db=owner)] == [booking.id]
    passenger, _ = st.register_passenger(passenger_mrz(7), actor="dispatch.dee", db=dispatcher)
    before = _snapshot(owner)
    with pytest.raises(PermissionDeniedError, match="permission denied"):
        st.move_application(
            app_id, "under_review", actor="dispatch.dee", expected_version=2, db=dispatcher
        )
    with pytest.raises(PermissionDeniedError):
        st.create_application(passenger.id, s.colony_id, applicant="pax7", db=dispatcher)
    with pytest.raises(PermissionDeniedError):  # the audit trail's reasons are not theirs
        st.list_audit(db=dispatcher)
    assert _snapshot(owner) == before
    assert st.get_application(app_id, db=owner).status == "submitted"


def test_passenger_applies_but_books_and_decides_nothing(station_roles: dict[str, Any]) -> None:
    owner, s = station_roles["owner"], station_roles["station"]
    passenger, _ = st.register_passenger(passenger_mrz(3), actor="dispatch.dee", db=owner)
    pax = station_roles["passenger"]
    app = st.create_application(passenger.id, s.colony_id, applicant="pax3", db=pax)
    app = st.move_application(app.id, "submitted", actor="pax3", expected_version=1, db=pax)
    assert st.get_application(app.id, db=owner).status == "submitted"
    assert st.verify_audit(db=owner).intact  # the passenger's records extend the chain
    with pytest.raises(PermissionDeniedError):
        st.book_bay(s.bay_id, starts_at=T0, ends_at=T0 + timedelta(hours=4), actor="pax3", db=pax)
    reviewed, _, _ = _application(owner, s.colony_id, 4)
    st.move_application(reviewed, "under_review", actor=OFFICER, expected_version=2, db=owner)
    before = _snapshot(owner)
    with pytest.raises(PermissionDeniedError):  # no decision, whatever name it gives
        st.move_application(
            reviewed, "approved", actor="officer.fake", reason="me", expected_version=3, db=pax
        )
    with pytest.raises(PermissionDeniedError):
        st.list_audit(db=pax)
    with pytest.raises(PermissionDeniedError):
        st.list_bookings(s.bay_id, db=pax)
    assert _snapshot(owner) == before


def test_capacity_by_colony_official_and_manager_only(station_roles: dict[str, Any]) -> None:
    owner, s = station_roles["owner"], station_roles["station"]
    colony = st.set_capacity(
        s.colony_id, 12, expected_version=1, actor="official.oko", reason="new habitat",
        db=station_roles["colony_official"],
    )  # fmt: skip
    colony = st.set_capacity(
        s.colony_id, 14, expected_version=colony.version, actor="manager.mae", reason="override",
        db=station_roles["station_manager"],
    )  # fmt: skip
    assert (st.get_colony(s.colony_id, db=owner).capacity, colony.version) == (14, 3)
    manager = station_roles["station_manager"]
    bay = st.add_bay(
        s.station_id, "B2", vessel_classes=["shuttle"], actor="manager.mae", db=manager
    )
    assert bay.code == "B2"
    before = _snapshot(owner)
    for level in ("immigration_officer", "spaceline_dispatcher", "passenger", "auditor"):
        with pytest.raises(PermissionDeniedError):
            st.set_capacity(
                s.colony_id, 99, expected_version=3, actor="x", reason="y", db=station_roles[level]
            )
    with pytest.raises(PermissionDeniedError):
        st.add_bay(s.station_id, "C3", vessel_classes=["shuttle"], actor="dee",
                   db=station_roles["spaceline_dispatcher"])  # fmt: skip
    assert _snapshot(owner) == before


def test_no_station_role_updates_or_deletes_a_decision(station_roles: dict[str, Any]) -> None:
    owner, s = station_roles["owner"], station_roles["station"]
    _application(owner, s.colony_id)
    before = _snapshot(owner)
    for level in roles.STATION_LEVELS:
        for statement in (
            "UPDATE station_audit_log SET reason = 'forged'",
            "DELETE FROM station_audit_log",
            "UPDATE events SET actor = 'forged'",
            "DELETE FROM events",
            "DELETE FROM station_visa_applications",
        ):
            with pytest.raises(PermissionDeniedError, match="permission denied"):
                with db.transaction(station_roles[level], write=True) as conn:
                    conn.execute(sa.text(statement))
    assert _snapshot(owner) == before


def test_mission_roles_keep_their_grants(station_roles: dict[str, Any]) -> None:
    owner, prefix = station_roles["owner"], station_roles["prefix"]
    urls = {}
    for level in roles.LEVELS:
        login = roles.grant_user(owner, f"mi_{level}", level, password="pw", prefix=prefix)
        urls[level] = roles.user_database_url(owner, login, "pw")
    got = {level: roles.current_access(urls[level]) for level in roles.LEVELS}
    assert {k: (a.level, a.station_level, a.read_station) for k, a in got.items()} == {
        "scientist": ("scientist", None, True),
        "operator": ("operator", None, True),
        "viewer": ("viewer", None, True),
    }
    assert [(a.read, a.change_status, a.edit_missions, a.decide) for a in got.values()] == [
        (True, True, True, True),  # scientists (and so admins) may do everything
        (True, True, False, False),
        (True, False, False, False),
    ]
    # a person in two groups gets both: an operator who also dispatches
    both = roles.grant_user(
        owner, "mi_both", ["operator", "spaceline_dispatcher"], password="pw", prefix=prefix
    )
    a = roles.current_access(roles.user_database_url(owner, both, "pw"))
    assert (a.level, a.station_level, a.change_status, a.book_bays, a.decide) == (
        "operator",
        "spaceline_dispatcher",
        True,
        True,
        False,
    )
