"""Helpers of the station tests: a small station, visa holders, and process-pool workers.

The workers run in separate processes (``multiprocessing`` spawn context): each opens its
own engine on the test database, as a separate station client would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marsgis.db import station as st
from marsgis.db import transaction
from marsgis.station import make_td3

T0 = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
OFFICER = "officer.osei"
SECOND_OFFICER = "officer.lind"


@dataclass(frozen=True)
class SmallStation:
    url: str
    colony_id: int
    station_id: int
    bay_id: int
    vessel_id: int
    voyage_id: int


def passenger_mrz(i: int, *, expires_on: date = date(2040, 1, 1)) -> str:
    return make_td3(
        surname=f"TESTER{chr(65 + i % 26)}",
        given_names=f"PAX {chr(65 + (i // 26) % 26)}",
        document_number=f"T{i:08d}",
        issuing_state="UTO",
        nationality="UTO",
        birth_date=date(1990, 1 + i % 12, 1 + i % 28),
        sex="FMX"[i % 3],
        expires_on=expires_on,
    )


def small_station(url: str, *, capacity: int = 10, population: int = 0) -> SmallStation:
    colony = st.add_colony(
        "Jezero Base",
        site="Jezero",
        capacity=capacity,
        population=population,
        actor="manager.mae",
        db=url,
    )
    station = st.add_station("Jezero Port", colony_id=colony.id, actor="manager.mae", db=url)
    bay = st.add_bay(
        station.id, "A1", vessel_classes=["shuttle", "liner"], actor="manager.mae", db=url
    )
    vessel = st.add_vessel("Ares Dawn", vessel_class="liner", actor="dispatch.dee", db=url)
    voyage = st.add_voyage(
        vessel.id,
        origin="Earth L1",
        arrival_start=T0,
        arrival_end=T0 + timedelta(days=2),
        actor="dispatch.dee",
        db=url,
    )
    return SmallStation(url, colony.id, station.id, bay.id, vessel.id, voyage.id)


def visa_holder(
    conn: Any, colony_id: int, i: int, *, valid_until: datetime = T0 + timedelta(days=365)
) -> tuple[int, int, int]:
    """Register passenger ``i`` and take them to an issued visa; (passenger, document, visa)."""
    passenger, document = st.register_passenger(passenger_mrz(i), actor="dispatch.dee", db=conn)
    app = st.create_application(passenger.id, colony_id, applicant=f"pax{i}", db=conn)
    app = st.move_application(app.id, "submitted", actor=f"pax{i}", expected_version=1, db=conn)
    app = st.move_application(app.id, "under_review", actor=OFFICER, expected_version=2, db=conn)
    app = st.move_application(
        app.id, "approved", actor=OFFICER, reason="papers in order", expected_version=3, db=conn
    )
    visa = st.issue_visa(
        app.id,
        officer=OFFICER,
        valid_from=T0 - timedelta(days=30),
        valid_until=valid_until,
        db=conn,
    )
    return passenger.id, document.id, visa.id


def visa_holders(url: str, colony_id: int, n: int) -> list[tuple[int, int, int]]:
    with transaction(url, write=True) as conn:
        return [visa_holder(conn, colony_id, i) for i in range(n)]


# ----------------------------------------------------------------------------- workers


def warm(url: str) -> int:
    """Open the worker's engine (so that timed work starts together)."""
    import os

    from marsgis.db import get_engine

    get_engine(url)
    return os.getpid()


def book_worker(url: str, bay_id: int, start: str, end: str, who: str) -> tuple[str, Any]:
    from marsgis.exceptions import BookingConflictError

    try:
        booking = st.book_bay(
            bay_id,
            starts_at=datetime.fromisoformat(start),
            ends_at=datetime.fromisoformat(end),
            actor=who,
            db=url,
        )
    except BookingConflictError as exc:
        return ("conflict", str(exc))
    return ("booked", booking.id)


def admit_worker(
    url: str, passenger_id: int, colony_id: int, document_id: int, arrival: str
) -> tuple[str, str]:
    from marsgis.exceptions import AdmissionRefusedError

    try:
        event = st.admit_passenger(
            passenger_id,
            colony_id,
            document_id=document_id,
            arrival_at=datetime.fromisoformat(arrival),
            officer=OFFICER,
            db=url,
        )
    except AdmissionRefusedError as exc:
        return (type(exc).__name__, str(exc))
    return ("admitted", str(event.id))
