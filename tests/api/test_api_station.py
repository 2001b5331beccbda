"""The station routes on the real app, on SpatiaLite and PostGIS, for every role.

A small seeded station (:func:`marsgis.station.seed.generate_station`, 20 passengers); tokens for
the station's roles next to the fixture's. Refused calls must leave every station table and the
audit log as they were (compared through the public store functions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_service import ROLES, Service

from marsgis.api.scopes import STATION_ROLES
from marsgis.db import station as st
from marsgis.db import tokens
from marsgis.db.station.seed import store_station
from marsgis.station import make_td3
from marsgis.station.seed import generate_station

ALL_ROLES = (*ROLES, *STATION_ROLES)
NOW = datetime.now(UTC).replace(microsecond=0)
P = "/api/v1/station"


@pytest.fixture
def station(service: Service) -> Service:
    store_station(generate_station(seed=7, passengers=20), db=service.url)
    for role in STATION_ROLES:
        service.tokens[role] = tokens.create_token(f"{role}-user", role, db=service.url)[1]
    second = tokens.create_token("second-officer", "immigration_officer", db=service.url)[1]
    service.tokens["second_officer"] = second
    return service


def snapshot(url: str) -> tuple[Any, ...]:
    """Every station table and the audit log, as the public store functions read them."""
    return (
        st.list_colonies(db=url),
        st.list_bays(db=url),
        st.list_bookings(db=url),
        st.list_voyages(db=url),
        st.list_applications(db=url),
        st.list_visas(db=url),
        st.list_entry_events(db=url),
        st.list_residents(db=url),
        st.list_audit(db=url),
    )


def new_passenger(url: str, number: str) -> tuple[int, int]:
    mrz = make_td3(
        surname="OKAFOR",
        given_names="ADA",
        document_number=number,
        issuing_state="NGA",
        nationality="NGA",
        birth_date=date(1990, 3, 1),
        sex="F",
        expires_on=date(NOW.year + 5, 1, 1),
    )
    passenger, document = st.register_passenger(mrz, actor="registrar", db=url)
    return passenger.id, document.id


def _routes(url: str) -> list[tuple[str, str, dict[str, Any] | None, set[str]]]:
    colony = st.list_colonies(db=url)[0]
    bay = st.list_bays(db=url)[0]
    application = st.list_applications(status="submitted", db=url)[0]
    visa_id = 1
    window = {"starts_at": "2090-01-01T00:00:00Z", "ends_at": "2090-01-02T00:00:00Z"}
    read = {"admin", "immigration_officer", "station_manager", "spaceline_dispatcher"}
    read |= {"colony_official", "auditor"}
    return [
        ("GET", f"{P}/colonies", None, read),
        ("GET", f"{P}/colonies/{colony.id}", None, read),
        ("PUT", f"{P}/colonies/{colony.id}/capacity", {"capacity": 1, "reason": "r"}, set()),
        ("GET", f"{P}/bays", None, read),
        (
            "POST",
            f"{P}/bays",
            {"station_id": 1, "code": "Z9", "vessel_classes": ["shuttle"]},
            set(),
        ),
        ("GET", f"{P}/bays/{bay.id}/bookings", None, read),
        ("POST", f"{P}/bays/{bay.id}/bookings", window, set()),
        ("GET", f"{P}/voyages", None, read),
        ("POST", f"{P}/voyages", {"vessel_id": 1, "origin": "Earth", **_arrival()}, set()),
        ("GET", f"{P}/applications", None, read | {"passenger"}),
        ("POST", f"{P}/applications", {"passenger_id": 1, "colony_id": colony.id}, set()),
        ("GET", f"{P}/applications/{application.id}", None, read),
        (
            "POST",
            f"{P}/applications/{application.id}/transitions",
            {"status": "under_review"},
            set(),
        ),
        ("POST", f"{P}/applications/{application.id}/visa", _validity(), set()),
        ("GET", f"{P}/visas", None, read),
        ("POST", f"{P}/visas/{visa_id}/revocation", {"reason": "r"}, set()),
        ("POST", f"{P}/visas/{visa_id}/revoke", {"reason": "r"}, set()),
        ("GET", f"{P}/admissions", None, read),
        ("POST", f"{P}/admissions", _admission(), set()),
        ("GET", f"{P}/audit", None, {"admin", "auditor"}),
        ("GET", f"{P}/audit/verify", None, {"admin", "auditor"}),
    ]


#: who may call each mutating route (the scope of each route, through ROLE_SCOPES)
WRITERS = {
    "/capacity": {"admin", "colony_official", "station_manager"},
    "/bays": {"admin", "station_manager"},
    "/bookings": {"admin", "spaceline_dispatcher"},
    "/voyages": {"admin", "spaceline_dispatcher"},
    "/applications": {"admin", "passenger"},
    "/transitions": {"admin", "immigration_officer"},  # to under_review: an officer's step
    "/visa": {"admin", "immigration_officer"},
    "/revocation": {"admin", "immigration_officer"},
    "/revoke": {"admin", "immigration_officer"},
    "/admissions": {"admin", "immigration_officer"},
}


def _arrival() -> dict[str, str]:
    return {"arrival_start": "2090-01-01T00:00:00Z", "arrival_end": "2090-01-03T00:00:00Z"}


def _validity() -> dict[str, str]:
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=365)
    return {"valid_from": start.isoformat(), "valid_until": end.isoformat()}


def _admission() -> dict[str, Any]:
    return {"passenger_id": 1, "colony_id": 1, "document_id": 1, "arrival_at": NOW.isoformat()}


def _allowed(method: str, path: str, readers: set[str]) -> set[str]:
    if method == "GET":
        return readers
    return next(roles for suffix, roles in WRITERS.items() if path.endswith(suffix))


def test_role_matrix_refusals_change_nothing(station: Service) -> None:
    """Every station route x every role: refused -> 403, nothing written; allowed reads -> 200."""
    for method, path, body, readers in _routes(station.url):
        allowed = _allowed(method, path, readers)
        for role in ALL_ROLES:
            if role in allowed:
                if method == "GET":
                    assert station.call(method, path, role=role).status_code == 200, (path, role)
                continue
            before = snapshot(station.url)
            response = station.call(
                method, path, role=role, json=body, headers={"Idempotency-Key": f"k-{role}"}
            )
            assert response.status_code == 403, (method, path, role, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert snapshot(station.url) == before, (method, path, role)
        unauthenticated = station.call(method, path, json=body)
        assert unauthenticated.status_code == 401, path


def test_passenger_reads_only_their_own_applications(station: Service) -> None:
    mine = station.call(
        "POST", f"{P}/applications", role="passenger", json={"passenger_id": 2, "colony_id": 1}
    )
    assert mine.status_code == 201
    listed = station.call("GET", f"{P}/applications", role="passenger").json()
    assert [a["id"] for a in listed] == [mine.json()["id"]]
    other = st.list_applications(db=station.url)[0]
    assert station.call("GET", f"{P}/applications/{other.id}", role="passenger").status_code == 403
    own = station.call("GET", f"{P}/applications/{mine.json()['id']}", role="passenger")
    assert own.status_code == 200 and own.headers["etag"] == '"1"'


def test_application_to_admission_through_the_api(station: Service) -> None:
    url = station.url
    passenger, document = new_passenger(url, "X1234567")
    colony = st.list_colonies(db=url)[0]
    key = {"Idempotency-Key": "apply-1"}
    body = {"passenger_id": passenger, "colony_id": colony.id}
    created = station.call("POST", f"{P}/applications", role="passenger", json=body, headers=key)
    assert created.status_code == 201
    again = station.call("POST", f"{P}/applications", role="passenger", json=body, headers=key)
    assert again.json() == created.json() and again.headers["idempotent-replayed"] == "true"
    app_id = created.json()["id"]
    assert len([a for a in st.list_applications(db=url) if a.applicant == "passenger-user"]) == 1

    def move(role: str, status: str, reason: str | None = None) -> Any:
        return station.call(
            "POST",
            f"{P}/applications/{app_id}/transitions",
            role=role,
            json={"status": status, "reason": reason},
        )

    # a passenger cannot take an officer's step; an officer cannot skip the lifecycle
    assert move("immigration_officer", "approved", "fine").status_code == 409
    assert move("passenger", "submitted").status_code == 200
    assert move("passenger", "under_review").status_code == 403
    assert move("immigration_officer", "under_review").status_code == 200
    decided = move("immigration_officer", "approved", "documents in order")
    assert decided.status_code == 200 and decided.headers["etag"] == '"4"'
    stored = st.get_application(app_id, db=url)
    assert (stored.status, stored.decided_by) == ("approved", "immigration_officer-user")
    audit = st.list_audit(subject_type="visa_application", subject_id=app_id, db=url)
    assert [(r.actor, r.role, r.reason) for r in audit][-1] == (
        "immigration_officer-user",
        "immigration_officer",
        "documents in order",
    )

    visa = station.call(
        "POST", f"{P}/applications/{app_id}/visa", role="immigration_officer", json=_validity()
    )
    assert visa.status_code == 201
    # a full colony: 409, and the refusal is on the record
    full = st.get_colony(colony.id, db=url)
    capacity = station.call(
        "PUT",
        f"{P}/colonies/{colony.id}/capacity",
        role="colony_official",
        json={"capacity": full.population, "reason": "life support maintenance"},
        headers={"If-Match": f'"{full.version}"'},
    )
    assert capacity.status_code == 200 and capacity.json()["occupancy"] == 1.0
    admission = {
        "passenger_id": passenger,
        "colony_id": colony.id,
        "document_id": document,
        "arrival_at": NOW.isoformat(),
    }
    refused = station.call("POST", f"{P}/admissions", role="immigration_officer", json=admission)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "urn:marsgis:error:CapacityExceededError"
    assert st.list_entry_events(outcome="refused", db=url)[-1].passenger_id == passenger
    grown = st.get_colony(colony.id, db=url)
    station.call(
        "PUT",
        f"{P}/colonies/{colony.id}/capacity",
        role="station_manager",
        json={"capacity": grown.population + 1, "reason": "override: new habitat module"},
    )
    admitted = station.call("POST", f"{P}/admissions", role="immigration_officer", json=admission)
    assert admitted.status_code == 201, admitted.text
    assert st.get_colony(colony.id, db=url).population == grown.population + 1
    # admitted once: a second admission names the rule (already resident): 422
    twice = station.call("POST", f"{P}/admissions", role="immigration_officer", json=admission)
    assert twice.status_code == 422 and "already a resident" in twice.json()["detail"]

    # revocation needs a second officer
    visa_id = visa.json()["id"]
    reason = {"reason": "forged sponsor letter"}
    assert (
        station.call(
            "POST", f"{P}/visas/{visa_id}/revocation", role="immigration_officer", json=reason
        ).status_code
        == 200
    )
    same = station.call(
        "POST", f"{P}/visas/{visa_id}/revoke", role="immigration_officer", json=reason
    )
    assert same.status_code == 403
    assert same.json()["type"] == "urn:marsgis:error:SeparationOfDutiesError"
    assert st.get_visa(visa_id, db=url).status == "issued"
    second = station.call("POST", f"{P}/visas/{visa_id}/revoke", role="second_officer", json=reason)
    assert second.status_code == 200 and second.json()["revoked_by"] == "second-officer"


def test_officer_never_decides_their_own_application(station: Service) -> None:
    body = {"passenger_id": 3, "colony_id": 1}
    app_id = station.call("POST", f"{P}/applications", role="admin", json=body).json()["id"]
    moved = station.call(
        "POST", f"{P}/applications/{app_id}/transitions", role="admin", json={"status": "submitted"}
    )
    assert moved.status_code == 200
    before = snapshot(station.url)
    own = station.call(
        "POST",
        f"{P}/applications/{app_id}/transitions",
        role="admin",
        json={"status": "under_review"},
    )
    assert own.status_code == 403 and "applicant" in own.json()["detail"]
    assert snapshot(station.url) == before


def test_bay_booking_conflict_is_409(station: Service) -> None:
    bay = st.list_bays(db=station.url)[0]
    path = f"{P}/bays/{bay.id}/bookings"
    window = {"starts_at": "2091-05-01T00:00:00Z", "ends_at": "2091-05-01T06:00:00Z"}
    booked = station.call("POST", path, role="spaceline_dispatcher", json=window)
    assert booked.status_code == 201 and booked.json()["booked_by"] == "spaceline_dispatcher-user"
    before = snapshot(station.url)
    overlap = {"starts_at": "2091-05-01T05:00:00Z", "ends_at": "2091-05-01T09:00:00Z"}
    conflict = station.call("POST", path, role="spaceline_dispatcher", json=overlap)
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "urn:marsgis:error:BookingConflictError"
    assert snapshot(station.url) == before
    timeline = station.call("GET", path, role="auditor").json()
    assert [b["id"] for b in timeline] == [b.id for b in st.list_bookings(bay.id, db=station.url)]
    assert booked.json()["id"] in [b["id"] for b in timeline]


def test_colonies_as_geojson(station: Service) -> None:
    from shapely import wkt
    from shapely.geometry import shape

    colony = st.list_colonies(db=station.url)[0]
    feature = station.call("GET", f"{P}/colonies/{colony.id}", role="colony_official")
    assert feature.headers["etag"] == f'"{colony.version}"'
    got = feature.json()
    assert got["type"] == "Feature" and got["properties"]["name"] == colony.name
    assert shape(got["geometry"]).equals_exact(wkt.loads(colony.boundary_wkt), 1e-9)
    listed = station.call("GET", f"{P}/colonies", role="auditor").json()
    assert [(c["id"], c["occupancy"]) for c in listed] == [
        (c.id, c.population / c.capacity) for c in st.list_colonies(db=station.url)
    ]


def test_audit_verify_agrees_with_the_cli(station: Service, tmp_path: Path) -> None:
    api = station.call("GET", f"{P}/audit/verify", role="auditor")
    assert api.status_code == 200
    paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    cli = subprocess.run(
        [
            str(Path(sys.executable).parent / "marsgis"),
            "station",
            "audit",
            "verify",
            "--url",
            station.url,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert api.json() == json.loads(cli.stdout)
    assert api.json()["intact"] is True
    records = station.call("GET", f"{P}/audit", role="auditor").json()
    assert len(records) == api.json()["records"] == len(st.list_audit(db=station.url))
