"""Entry at arrival: admissions, refusals, secondary inspections, and residency.

:func:`admit_passenger` admits only when the admission rule holds
(:func:`marsgis.station.rules.admission_refusals`: a visa for that colony, issued, valid at the
arrival time and not revoked by then; an unexpired document of the passenger's own) **and** the
colony has room, taken by one atomic conditional update
(:func:`marsgis.db.station.colonies.take_place`). A refused admission writes nothing of the
admission: it is recorded as a ``refused`` entry event (with its audit record and event) in a
transaction of its own, and :class:`~marsgis.exceptions.AdmissionRefusedError` (or its
subclass :class:`~marsgis.exceptions.CapacityExceededError`) is raised.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import DatabaseLike, inserted_id, run_transaction, transaction
from marsgis.db.schema import (
    station_entry_events,
    station_residents,
    station_travel_documents,
    station_visas,
)
from marsgis.db.station._common import moment, name, now, record, record_id
from marsgis.db.station.colonies import take_place
from marsgis.db.station.visas import load_visa
from marsgis.exceptions import AdmissionRefusedError, CapacityExceededError, ValidationError
from marsgis.station.records import EntryEvent, Resident, TravelDocument, Visa
from marsgis.station.rules import admission_refusals

__all__ = [
    "admit_passenger",
    "list_entry_events",
    "list_residents",
    "record_entry",
]


def _visa_for(conn: Connection, passenger: int, colony: int) -> Visa | None:
    v = station_visas.c
    # this colony's visas first, the issued ones first, newest first; else any visa (for a
    # message that says which colony it is for)
    ident = conn.execute(
        sa.select(v.id)
        .where(v.passenger_id == passenger)
        .order_by(
            sa.case((v.colony_id == colony, 0), else_=1),
            sa.case((v.status == "issued", 0), else_=1),
            v.id.desc(),
        )
        .limit(1)
    ).scalar()
    return None if ident is None else load_visa(conn, int(ident))


def _document(conn: Connection, document: int | None) -> TravelDocument | None:
    if document is None:
        return None
    row = (
        conn.execute(
            sa.select(station_travel_documents).where(station_travel_documents.c.id == document)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return TravelDocument(
        id=int(row["id"]),
        passenger_id=int(row["passenger_id"]),
        document_number=str(row["document_number"]),
        issuing_state=str(row["issuing_state"]),
        expires_on=row["expires_on"],
        mrz=str(row["mrz"]),
    )


def _to_event(r: RowMapping) -> EntryEvent:
    return EntryEvent(
        id=int(r["id"]),
        passenger_id=int(r["passenger_id"]),
        colony_id=int(r["colony_id"]),
        visa_id=None if r["visa_id"] is None else int(r["visa_id"]),
        document_id=None if r["document_id"] is None else int(r["document_id"]),
        voyage_id=None if r["voyage_id"] is None else int(r["voyage_id"]),
        outcome=str(r["outcome"]),
        officer=str(r["officer"]),
        reason=r["reason"],
        arrival_at=r["arrival_at"],
        at=r["at"],
    )


def _insert_entry(
    conn: Connection,
    *,
    passenger: int,
    colony: int,
    visa: int | None,
    document: int | None,
    voyage: int | None,
    outcome: str,
    officer: str,
    reason: str | None,
    arrival: datetime,
) -> EntryEvent:
    at = now()
    values = {
        "passenger_id": passenger,
        "colony_id": colony,
        "visa_id": visa,
        "document_id": document,
        "voyage_id": voyage,
        "outcome": outcome,
        "officer": officer,
        "reason": reason,
        "arrival_at": arrival,
        "at": at,
    }
    new_id = inserted_id(conn.execute(station_entry_events.insert().values(**values)))
    record(
        conn,
        "station.entry_recorded",
        actor=officer,
        role="immigration_officer",
        subject_type="passenger",
        subject_id=passenger,
        reason=reason,
        details={
            "entry_event_id": new_id,
            "outcome": outcome,
            "colony_id": colony,
            "visa_id": visa,
            "arrival_at": arrival.isoformat(),
        },
    )
    return EntryEvent(id=new_id, **values)  # type: ignore[arg-type]


def record_entry(
    passenger_id: int,
    colony_id: int,
    outcome: str,
    *,
    officer: str,
    reason: str,
    arrival_at: datetime,
    document_id: int | None = None,
    voyage_id: int | None = None,
    db: DatabaseLike = None,
) -> EntryEvent:
    """Record a ``refused`` or ``secondary_inspection`` entry event (with a reason).

    Admissions go through :func:`admit_passenger`, which checks the rule and the capacity.
    """
    if outcome not in ("refused", "secondary_inspection"):
        raise ValidationError(
            f"outcome {outcome!r} is not 'refused' or 'secondary_inspection'; admit passengers "
            "with admit_passenger(), which checks the visa, the document and the capacity"
        )

    def change(conn: Connection) -> EntryEvent:
        return _insert_entry(
            conn,
            passenger=record_id(passenger_id, "passenger id"),
            colony=record_id(colony_id, "colony id"),
            visa=None,
            document=None if document_id is None else record_id(document_id, "document id"),
            voyage=None if voyage_id is None else record_id(voyage_id, "voyage id"),
            outcome=outcome,
            officer=name(officer, "officer"),
            reason=name(reason, "reason"),
            arrival=moment(arrival_at, "arrival_at"),
        )

    return run_transaction(db, change)


def admit_passenger(
    passenger_id: int,
    colony_id: int,
    *,
    document_id: int,
    arrival_at: datetime,
    officer: str,
    voyage_id: int | None = None,
    db: DatabaseLike = None,
) -> EntryEvent:
    """Admit a passenger arriving at ``arrival_at`` into a colony, as a resident.

    Returns the ``admitted`` entry event. The colony's population grows by one in the same
    transaction, only if it is below the capacity.

    Raises
    ------
    AdmissionRefusedError
        The visa or the document does not allow it, or the passenger is already a resident
        (the refusal is recorded as a ``refused`` entry event).
    CapacityExceededError
        The colony is full (recorded likewise).
    """
    passenger = record_id(passenger_id, "passenger id")
    colony = record_id(colony_id, "colony id")
    document = record_id(document_id, "document id")
    voyage = None if voyage_id is None else record_id(voyage_id, "voyage id")
    arrival = moment(arrival_at, "arrival_at")
    who = name(officer, "officer")

    def admit(conn: Connection) -> EntryEvent | tuple[AdmissionRefusedError, Visa | None]:
        # what it returns is computed from this transaction's reads only: safe to repeat
        visa = _visa_for(conn, passenger, colony)
        reasons = admission_refusals(
            passenger_id=passenger,
            colony_id=colony,
            arrival_at=arrival,
            visa=visa,
            document=_document(conn, document),
        )
        resident = conn.execute(
            sa.select(station_residents.c.colony_id).where(
                station_residents.c.passenger_id == passenger
            )
        ).scalar()
        if resident is not None:
            reasons.append(f"passenger {passenger} is already a resident of colony {resident}")
        if reasons:
            return (
                AdmissionRefusedError(
                    f"passenger {passenger} cannot be admitted to colony {colony}: "
                    + "; ".join(reasons)
                    + ". The refusal is recorded; issue a visa for this colony valid at the "
                    "arrival time and present an unexpired document"
                ),
                visa,
            )
        if not take_place(conn, colony):
            return (
                CapacityExceededError(
                    f"colony {colony} is full: no place left for passenger {passenger}; the "
                    "refusal is recorded. Raise the capacity (set_capacity, colony official) or "
                    "admit to another colony the passenger holds a visa for"
                ),
                visa,
            )
        assert visa is not None  # the rule passed
        event = _insert_entry(
            conn,
            passenger=passenger,
            colony=colony,
            visa=visa.id,
            document=document,
            voyage=voyage,
            outcome="admitted",
            officer=who,
            reason=None,
            arrival=arrival,
        )
        conn.execute(
            station_residents.insert().values(
                passenger_id=passenger, colony_id=colony, visa_id=visa.id, since=event.at
            )
        )
        return event

    outcome = run_transaction(db, admit)
    if isinstance(outcome, EntryEvent):
        return outcome
    refusal, visa = outcome

    # the admission wrote nothing; its refusal is a decision of its own, on the record
    def refuse(conn: Connection) -> EntryEvent:
        return _insert_entry(
            conn,
            passenger=passenger,
            colony=colony,
            visa=None if visa is None else visa.id,
            document=document,
            voyage=voyage,
            outcome="refused",
            officer=who,
            reason=str(refusal),
            arrival=arrival,
        )

    run_transaction(db, refuse)
    raise refusal


def list_entry_events(
    *, colony_id: int | None = None, outcome: str | None = None, db: DatabaseLike = None
) -> list[EntryEvent]:
    """Entry events (of a colony, of an outcome), by id."""
    e = station_entry_events.c
    query = sa.select(station_entry_events).order_by(e.id)
    if colony_id is not None:
        query = query.where(e.colony_id == record_id(colony_id, "colony id"))
    if outcome is not None:
        query = query.where(e.outcome == outcome)
    with transaction(db) as conn:
        return [_to_event(r) for r in conn.execute(query).mappings()]


def list_residents(colony_id: int | None = None, db: DatabaseLike = None) -> list[Resident]:
    """The residents (of a colony), by id."""
    r = station_residents.c
    query = sa.select(station_residents).order_by(r.id)
    if colony_id is not None:
        query = query.where(r.colony_id == record_id(colony_id, "colony id"))
    with transaction(db) as conn:
        return [
            Resident(
                id=int(row["id"]),
                passenger_id=int(row["passenger_id"]),
                colony_id=int(row["colony_id"]),
                visa_id=int(row["visa_id"]),
                since=row["since"],
            )
            for row in conn.execute(query).mappings()
        ]
