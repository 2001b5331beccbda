"""Passengers and their travel documents (the MRZ is verified before anything is stored)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import DatabaseLike, inserted_id, run_transaction, transaction
from marsgis.db.schema import station_passengers, station_travel_documents
from marsgis.db.station._common import name, not_found, now, record, record_id
from marsgis.station.mrz import parse_td3
from marsgis.station.records import Passenger, TravelDocument

__all__ = ["get_document", "get_passenger", "passenger_documents", "register_passenger"]


def _to_passenger(r: RowMapping) -> Passenger:
    return Passenger(
        id=int(r["id"]),
        surname=str(r["surname"]),
        given_names=str(r["given_names"]),
        nationality=str(r["nationality"]),
        birth_date=r["birth_date"],
        sex=str(r["sex"]),
    )


def _to_document(r: RowMapping) -> TravelDocument:
    return TravelDocument(
        id=int(r["id"]),
        passenger_id=int(r["passenger_id"]),
        document_number=str(r["document_number"]),
        issuing_state=str(r["issuing_state"]),
        expires_on=r["expires_on"],
        mrz=str(r["mrz"]),
    )


def register_passenger(
    mrz: str, *, actor: str, db: DatabaseLike = None
) -> tuple[Passenger, TravelDocument]:
    """Register a passenger from their passport's machine-readable zone (TD3).

    The zone's check digits are verified (:func:`marsgis.station.mrz.parse_td3`); the passenger
    and the document are stored together.

    Raises
    ------
    ValidationError
        The MRZ is malformed or a check digit is wrong.
    """
    data = parse_td3(mrz)
    who = name(actor, "actor")
    zone = mrz.strip().replace("\r\n", "\n")

    def change(conn: Connection) -> tuple[Passenger, TravelDocument]:
        passenger_id = inserted_id(
            conn.execute(
                station_passengers.insert().values(
                    surname=data.surname,
                    given_names=data.given_names,
                    nationality=data.nationality,
                    birth_date=data.birth_date,
                    sex=data.sex,
                    created_at=now(),
                )
            )
        )
        document_id = inserted_id(
            conn.execute(
                station_travel_documents.insert().values(
                    passenger_id=passenger_id,
                    document_number=data.document_number,
                    issuing_state=data.issuing_state,
                    expires_on=data.expires_on,
                    mrz=zone,
                )
            )
        )
        record(
            conn,
            "station.passenger_registered",
            actor=who,
            role="spaceline_dispatcher",
            subject_type="passenger",
            subject_id=passenger_id,
            details={"document_id": document_id, "issuing_state": data.issuing_state},
        )
        passenger = Passenger(
            id=passenger_id,
            surname=data.surname,
            given_names=data.given_names,
            nationality=data.nationality,
            birth_date=data.birth_date,
            sex=data.sex,
        )
        document = TravelDocument(
            id=document_id,
            passenger_id=passenger_id,
            document_number=data.document_number,
            issuing_state=data.issuing_state,
            expires_on=data.expires_on,
            mrz=zone,
        )
        return passenger, document

    return run_transaction(db, change)


def get_passenger(passenger_id: int, db: DatabaseLike = None) -> Passenger:
    """One passenger."""
    ident = record_id(passenger_id, "passenger id")
    with transaction(db) as conn:
        row = (
            conn.execute(sa.select(station_passengers).where(station_passengers.c.id == ident))
            .mappings()
            .first()
        )
    if row is None:
        raise not_found("passenger", ident, "register them with register_passenger()")
    return _to_passenger(row)


def get_document(document_id: int, db: DatabaseLike = None) -> TravelDocument:
    """One travel document."""
    ident = record_id(document_id, "document id")
    with transaction(db) as conn:
        row = (
            conn.execute(
                sa.select(station_travel_documents).where(station_travel_documents.c.id == ident)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise not_found("travel document", ident, "see passenger_documents(passenger_id)")
    return _to_document(row)


def passenger_documents(passenger_id: int, db: DatabaseLike = None) -> list[TravelDocument]:
    """A passenger's travel documents."""
    ident = record_id(passenger_id, "passenger id")
    t = station_travel_documents.c
    with transaction(db) as conn:
        rows = conn.execute(
            sa.select(station_travel_documents).where(t.passenger_id == ident).order_by(t.id)
        ).mappings()
        return [_to_document(r) for r in rows]
