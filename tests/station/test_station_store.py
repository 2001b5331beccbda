"""The station store on SpatiaLite and PostGIS: records, rules and their refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from shapely import wkt
from station_helpers import OFFICER, SECOND_OFFICER, T0, passenger_mrz, small_station, visa_holder

from marsgis.db import get_engine, transaction
from marsgis.db import station as st
from marsgis.db.events import read_events
from marsgis.exceptions import (
    AdmissionRefusedError,
    BookingConflictError,
    CapacityExceededError,
    ConcurrencyError,
    SeparationOfDutiesError,
    StateTransitionError,
    ValidationError,
)
from marsgis.geo import great_circle_m
from marsgis.io.vector import gazetteer


def test_colony_boundary_at_gazetteer_site_in_mars_srid(db_url: str) -> None:
    s = small_station(db_url)
    colony = st.get_colony(s.colony_id, db=db_url)
    jezero = gazetteer("Jezero")
    polygon = wkt.loads(colony.boundary_wkt)
    # every vertex 5 km (great circle on R = 3396190 m) from the IAU centre of Jezero
    xs, ys = polygon.exterior.coords.xy
    distances = great_circle_m(jezero.lat, jezero.lon, list(ys), list(xs))
    assert max(abs(d - 5000.0) for d in distances) < 1.0
    with get_engine(db_url).connect() as conn:
        srid = conn.execute(sa.text("SELECT ST_SRID(boundary) FROM station_colonies")).scalar()
    assert srid == 949900


def test_overlapping_booking_refused_and_adjacent_allowed(db_url: str) -> None:
    s = small_station(db_url)
    first = st.book_bay(
        s.bay_id, starts_at=T0, ends_at=T0 + timedelta(hours=2), actor="d", db=db_url
    )
    with pytest.raises(BookingConflictError, match=f"booking {first.id}"):
        st.book_bay(
            s.bay_id,
            starts_at=T0 + timedelta(hours=1),
            ends_at=T0 + timedelta(hours=3),
            actor="d",
            db=db_url,
        )
    # [start, end) periods: back to back is fine
    st.book_bay(
        s.bay_id,
        starts_at=T0 + timedelta(hours=2),
        ends_at=T0 + timedelta(hours=3),
        actor="d",
        db=db_url,
    )
    assert len(st.list_bookings(s.bay_id, db=db_url)) == 2


@pytest.mark.postgis
def test_exclusion_constraint_refuses_direct_sql(postgis_url: str) -> None:
    s = small_station(postgis_url)
    st.book_bay(s.bay_id, starts_at=T0, ends_at=T0 + timedelta(hours=2), actor="d", db=postgis_url)
    with get_engine(postgis_url).connect() as conn, pytest.raises(sa.exc.IntegrityError) as info:
        conn.execute(
            sa.text(
                "INSERT INTO station_bay_bookings (bay_id, starts_at, ends_at, booked_by, "
                "created_at) VALUES (:bay, :s, :e, 'x', now())"
            ),
            {"bay": s.bay_id, "s": T0 + timedelta(hours=1), "e": T0 + timedelta(hours=5)},
        )
    assert info.value.orig.pgcode == "23P01"  # exclusion_violation


def test_mrz_refused_with_bad_check_digit(db_url: str) -> None:
    good = passenger_mrz(3)
    bad = good[:54] + ("0" if good[54] != "0" else "1") + good[55:]  # document number digit
    with pytest.raises(ValidationError, match="document number check digit"):
        st.register_passenger(bad, actor="d", db=db_url)
    passenger, document = st.register_passenger(good, actor="d", db=db_url)
    assert document.document_number == "T00000003"
    assert st.get_passenger(passenger.id, db=db_url).surname == "TESTERD"


def test_admission_rule_and_capacity(db_url: str) -> None:
    s = small_station(db_url, capacity=1)
    with transaction(db_url, write=True) as conn:
        p1, d1, v1 = visa_holder(conn, s.colony_id, 1)
        p2, d2, _v2 = visa_holder(conn, s.colony_id, 2)
        p3, d3, _v3 = visa_holder(conn, s.colony_id, 3, valid_until=T0 - timedelta(days=1))
    # an expired visa at arrival
    with pytest.raises(AdmissionRefusedError, match="expired at"):
        st.admit_passenger(
            p3, s.colony_id, document_id=d3, arrival_at=T0, officer=OFFICER, db=db_url
        )
    # another passenger's document
    with pytest.raises(AdmissionRefusedError, match="belongs to passenger"):
        st.admit_passenger(
            p1, s.colony_id, document_id=d2, arrival_at=T0, officer=OFFICER, db=db_url
        )
    event = st.admit_passenger(
        p1,
        s.colony_id,
        document_id=d1,
        arrival_at=T0,
        officer=OFFICER,
        voyage_id=s.voyage_id,
        db=db_url,
    )
    assert event.outcome == "admitted" and event.visa_id == v1
    with pytest.raises(CapacityExceededError, match="is full"):
        st.admit_passenger(
            p2, s.colony_id, document_id=d2, arrival_at=T0, officer=OFFICER, db=db_url
        )
    colony = st.get_colony(s.colony_id, db=db_url)
    assert (colony.population, colony.capacity) == (1, 1)
    outcomes = [e.outcome for e in st.list_entry_events(colony_id=s.colony_id, db=db_url)]
    assert outcomes == ["refused", "refused", "admitted", "refused"]
    assert [r.passenger_id for r in st.list_residents(s.colony_id, db=db_url)] == [p1]
    assert st.verify_audit(db=db_url).intact


def test_expired_document_refused(db_url: str) -> None:
    s = small_station(db_url)
    with transaction(db_url, write=True) as conn:
        p, _, _ = visa_holder(conn, s.colony_id, 5)
    _, old_doc = st.register_passenger(
        passenger_mrz(77, expires_on=date(2030, 1, 1)), actor="d", db=db_url
    )
    with pytest.raises(AdmissionRefusedError, match="expired on 2030-01-01"):
        st.admit_passenger(
            p, s.colony_id, document_id=old_doc.id, arrival_at=T0, officer=OFFICER, db=db_url
        )


def test_revocation_needs_second_officer_and_refuses_from_its_time(db_url: str) -> None:
    s = small_station(db_url)
    with transaction(db_url, write=True) as conn:
        p, d, v = visa_holder(conn, s.colony_id, 9)
    visa = st.propose_revocation(
        v, officer=OFFICER, reason="forged sponsor letter", expected_version=1, db=db_url
    )
    with pytest.raises(SeparationOfDutiesError, match="second immigration officer"):
        st.revoke_visa(v, officer=OFFICER, reason="x", expected_version=visa.version, db=db_url)
    revoked = st.revoke_visa(
        v,
        officer=SECOND_OFFICER,
        reason="confirmed",
        expected_version=visa.version,
        at=T0,
        db=db_url,
    )
    assert (revoked.status, revoked.revoked_by, revoked.revoked_at) == (
        "revoked",
        SECOND_OFFICER,
        T0,
    )
    with pytest.raises(AdmissionRefusedError, match="was revoked at"):
        st.admit_passenger(
            p,
            s.colony_id,
            document_id=d,
            arrival_at=T0 + timedelta(hours=1),
            officer=OFFICER,
            db=db_url,
        )
    # an arrival before the revocation time was allowed by the visa
    st.admit_passenger(
        p,
        s.colony_id,
        document_id=d,
        arrival_at=T0 - timedelta(hours=1),
        officer=OFFICER,
        db=db_url,
    )


def test_officer_is_never_applicant_or_sponsor(db_url: str) -> None:
    s = small_station(db_url)
    passenger, _ = st.register_passenger(passenger_mrz(11), actor="d", db=db_url)
    app = st.create_application(
        passenger.id, s.colony_id, applicant="pax", sponsor="boss", db=db_url
    )
    app = st.move_application(app.id, "submitted", actor="pax", expected_version=1, db=db_url)
    for who in ("pax", "boss"):
        with pytest.raises(SeparationOfDutiesError):
            st.move_application(app.id, "under_review", actor=who, expected_version=2, db=db_url)
    with pytest.raises(ConcurrencyError, match="version 2, not 1"):
        st.move_application(app.id, "under_review", actor=OFFICER, expected_version=1, db=db_url)
    with pytest.raises(StateTransitionError, match="only from an approved"):
        st.issue_visa(
            app.id, officer=OFFICER, valid_from=T0, valid_until=T0 + timedelta(1), db=db_url
        )
    # the database's own CHECK holds even against direct SQL
    with get_engine(db_url).connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.text("UPDATE station_visa_applications SET decided_by = 'boss' WHERE id = :i"),
            {"i": app.id},
        )


def test_every_change_appends_station_event_and_audit(db_url: str) -> None:
    s = small_station(db_url)
    events = read_events(topics="station", db=db_url)
    assert [e.type for e in events] == [
        "station.colony_created",
        "station.station_created",
        "station.bay_created",
        "station.vessel_created",
        "station.voyage_created",
    ]
    audit = st.list_audit(db=db_url)
    assert [a.action for a in audit] == [e.type.removeprefix("station.") for e in events]
    assert [a.id for a in audit] == [1, 2, 3, 4, 5]
    assert audit[0].subject_id == str(s.colony_id)
