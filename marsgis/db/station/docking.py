"""Stations, docking bays, vessels, voyages, bay bookings and manifests.

A bay is never booked twice for overlapping times (``[starts_at, ends_at)`` periods):

* PostGIS: the exclusion constraint ``ex_station_bay_bookings_overlap`` (``EXCLUDE USING gist
  (bay_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)``, revision 0010) refuses the
  second of two concurrent overlapping inserts, whatever the isolation level;
* SpatiaLite: the overlap check and the insert run in one ``BEGIN IMMEDIATE`` transaction,
  which holds the database's write lock, so no other booking can slip in between.

Both raise :class:`~marsgis.exceptions.BookingConflictError` naming the booking in the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from marsgis.db.engine import DatabaseLike, inserted_id, transaction
from marsgis.db.schema import (
    station_bay_bookings,
    station_bays,
    station_manifest_entries,
    station_manifests,
    station_travel_documents,
    station_vessels,
    station_voyages,
    stations,
)
from marsgis.db.station._common import moment, name, not_found, now, record, record_id
from marsgis.exceptions import BookingConflictError, ValidationError
from marsgis.station.records import Bay, BayBooking, Station, Vessel, Voyage

__all__ = [
    "VESSEL_CLASSES",
    "add_bay",
    "add_station",
    "add_vessel",
    "add_voyage",
    "book_bay",
    "file_manifest",
    "list_bays",
    "list_bookings",
    "list_stations",
    "list_vessels",
    "list_voyages",
    "manifest_passengers",
]

#: Classes of vessel, smallest first.
VESSEL_CLASSES = ("shuttle", "freighter", "liner", "heavy")
_EXCLUSION_VIOLATION = "23P01"


def add_station(
    station_name: str, *, colony_id: int, actor: str, db: DatabaseLike = None
) -> Station:
    """Open a station serving a colony."""
    clean, who = name(station_name, "station name"), name(actor, "actor")
    colony = record_id(colony_id, "colony id")
    with transaction(db, write=True) as conn:
        new_id = inserted_id(
            conn.execute(stations.insert().values(name=clean, colony_id=colony, created_at=now()))
        )
        record(
            conn,
            "station.station_created",
            actor=who,
            role="station_manager",
            subject_type="station",
            subject_id=new_id,
            details={"name": clean, "colony_id": colony},
        )
        return Station(id=new_id, name=clean, colony_id=colony)


def list_stations(db: DatabaseLike = None) -> list[Station]:
    """Every station, by id."""
    query = sa.select(stations).order_by(stations.c.id)
    with transaction(db) as conn:
        return [
            Station(id=int(r["id"]), name=str(r["name"]), colony_id=int(r["colony_id"]))
            for r in conn.execute(query).mappings()
        ]


def _classes(values: Iterable[str]) -> tuple[str, ...]:
    items = tuple(values)
    bad = [v for v in items if v not in VESSEL_CLASSES]
    if bad or not items:
        raise ValidationError(
            f"vessel classes {list(items)!r} must be a non-empty list of {', '.join(VESSEL_CLASSES)}"
        )
    return tuple(sorted(set(items), key=VESSEL_CLASSES.index))


def add_bay(
    station_id: int,
    code: str,
    *,
    vessel_classes: Iterable[str],
    actor: str,
    db: DatabaseLike = None,
) -> Bay:
    """Add a docking bay ``code`` to a station, taking the given vessel classes."""
    ident = record_id(station_id, "station id")
    clean, who, classes = name(code, "bay code"), name(actor, "actor"), _classes(vessel_classes)
    with transaction(db, write=True) as conn:
        new_id = inserted_id(
            conn.execute(
                station_bays.insert().values(
                    station_id=ident, code=clean, vessel_classes=list(classes)
                )
            )
        )
        record(
            conn,
            "station.bay_created",
            actor=who,
            role="station_manager",
            subject_type="bay",
            subject_id=new_id,
            details={"station_id": ident, "code": clean, "vessel_classes": list(classes)},
        )
        return Bay(id=new_id, station_id=ident, code=clean, vessel_classes=classes)


def list_bays(station_id: int | None = None, db: DatabaseLike = None) -> list[Bay]:
    """The docking bays (of one station), by id."""
    query = sa.select(station_bays).order_by(station_bays.c.id)
    if station_id is not None:
        query = query.where(station_bays.c.station_id == record_id(station_id, "station id"))
    with transaction(db) as conn:
        return [
            Bay(
                id=int(r["id"]),
                station_id=int(r["station_id"]),
                code=str(r["code"]),
                vessel_classes=tuple(r["vessel_classes"]),
            )
            for r in conn.execute(query).mappings()
        ]


def add_vessel(
    vessel_name: str, *, vessel_class: str, actor: str, db: DatabaseLike = None
) -> Vessel:
    """Register a vessel of one of :data:`VESSEL_CLASSES`."""
    clean, who = name(vessel_name, "vessel name"), name(actor, "actor")
    cls = _classes([vessel_class])[0]
    with transaction(db, write=True) as conn:
        new_id = inserted_id(
            conn.execute(station_vessels.insert().values(name=clean, vessel_class=cls))
        )
        record(
            conn,
            "station.vessel_created",
            actor=who,
            role="spaceline_dispatcher",
            subject_type="vessel",
            subject_id=new_id,
            details={"name": clean, "vessel_class": cls},
        )
        return Vessel(id=new_id, name=clean, vessel_class=cls)


def list_vessels(db: DatabaseLike = None) -> list[Vessel]:
    """Every vessel, by id."""
    query = sa.select(station_vessels).order_by(station_vessels.c.id)
    with transaction(db) as conn:
        return [
            Vessel(id=int(r["id"]), name=str(r["name"]), vessel_class=str(r["vessel_class"]))
            for r in conn.execute(query).mappings()
        ]


def _to_voyage(r: RowMapping) -> Voyage:
    return Voyage(
        id=int(r["id"]),
        vessel_id=int(r["vessel_id"]),
        origin=str(r["origin"]),
        arrival_start=r["arrival_start"],
        arrival_end=r["arrival_end"],
    )


def add_voyage(
    vessel_id: int,
    *,
    origin: str,
    arrival_start: datetime,
    arrival_end: datetime,
    actor: str,
    db: DatabaseLike = None,
) -> Voyage:
    """Announce a voyage of a vessel arriving within ``[arrival_start, arrival_end)``."""
    vessel = record_id(vessel_id, "vessel id")
    start, end = moment(arrival_start, "arrival_start"), moment(arrival_end, "arrival_end")
    if end <= start:
        raise ValidationError(f"arrival_end {end.isoformat()} is not after arrival_start")
    where, who = name(origin, "origin"), name(actor, "actor")
    with transaction(db, write=True) as conn:
        new_id = inserted_id(
            conn.execute(
                station_voyages.insert().values(
                    vessel_id=vessel, origin=where, arrival_start=start, arrival_end=end
                )
            )
        )
        record(
            conn,
            "station.voyage_created",
            actor=who,
            role="spaceline_dispatcher",
            subject_type="voyage",
            subject_id=new_id,
            details={"vessel_id": vessel, "origin": where, "arrival_start": start.isoformat()},
        )
        return Voyage(
            id=new_id, vessel_id=vessel, origin=where, arrival_start=start, arrival_end=end
        )


def list_voyages(db: DatabaseLike = None) -> list[Voyage]:
    """Every voyage, by arrival."""
    query = sa.select(station_voyages).order_by(
        station_voyages.c.arrival_start, station_voyages.c.id
    )
    with transaction(db) as conn:
        return [_to_voyage(r) for r in conn.execute(query).mappings()]


def _to_booking(r: RowMapping) -> BayBooking:
    return BayBooking(
        id=int(r["id"]),
        bay_id=int(r["bay_id"]),
        voyage_id=None if r["voyage_id"] is None else int(r["voyage_id"]),
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        booked_by=str(r["booked_by"]),
    )


def _overlapping(conn: Connection, bay: int, start: datetime, end: datetime) -> BayBooking | None:
    b = station_bay_bookings.c
    row = (
        conn.execute(
            sa.select(station_bay_bookings)
            .where(b.bay_id == bay, b.starts_at < end, b.ends_at > start)
            .order_by(b.starts_at)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else _to_booking(row)


def _conflict(bay: int, start: datetime, end: datetime, other: BayBooking | None) -> Exception:
    held = (
        f"booking {other.id} holds it from {other.starts_at.isoformat()} to "
        f"{other.ends_at.isoformat()}"
        if other is not None
        else "another booking holds it"
    )
    return BookingConflictError(
        f"bay {bay} is already booked between {start.isoformat()} and {end.isoformat()}: "
        f"{held}; choose another bay or a period that does not overlap"
    )


def book_bay(
    bay_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    voyage_id: int | None = None,
    db: DatabaseLike = None,
) -> BayBooking:
    """Book a docking bay over ``[starts_at, ends_at)``.

    With ``voyage_id`` the voyage's vessel class must be one the bay takes.

    Raises
    ------
    BookingConflictError
        The period overlaps another booking of the bay (nothing is written).
    """
    bay = record_id(bay_id, "bay id")
    start, end = moment(starts_at, "starts_at"), moment(ends_at, "ends_at")
    if end <= start:
        raise ValidationError(f"ends_at {end.isoformat()} is not after starts_at")
    who = name(actor, "actor")
    voyage = None if voyage_id is None else record_id(voyage_id, "voyage id")
    with transaction(db, write=True) as conn:
        bay_row = conn.execute(sa.select(station_bays).where(station_bays.c.id == bay)).first()
        if bay_row is None:
            raise not_found("bay", bay, "list them with marsgis.db.station.list_bays()")
        if voyage is not None:
            cls = conn.execute(
                sa.select(station_vessels.c.vessel_class)
                .join(station_voyages, station_voyages.c.vessel_id == station_vessels.c.id)
                .where(station_voyages.c.id == voyage)
            ).scalar()
            if cls is None:
                raise not_found("voyage", voyage, "list them with list_voyages()")
            if cls not in bay_row.vessel_classes:
                raise ValidationError(
                    f"bay {bay} ({bay_row.code}) takes {', '.join(bay_row.vessel_classes)}, "
                    f"not voyage {voyage}'s {cls}; choose a bay that takes a {cls}"
                )
        other = _overlapping(conn, bay, start, end)
        if other is not None:
            raise _conflict(bay, start, end, other)
        try:
            with conn.begin_nested():
                new_id = inserted_id(
                    conn.execute(
                        station_bay_bookings.insert().values(
                            bay_id=bay,
                            voyage_id=voyage,
                            starts_at=start,
                            ends_at=end,
                            booked_by=who,
                            created_at=now(),
                        )
                    )
                )
        except IntegrityError as exc:
            if getattr(exc.orig, "pgcode", None) == _EXCLUSION_VIOLATION:
                raise _conflict(bay, start, end, None) from exc
            raise
        record(
            conn,
            "station.bay_booked",
            actor=who,
            role="spaceline_dispatcher",
            subject_type="bay_booking",
            subject_id=new_id,
            details={
                "bay_id": bay,
                "voyage_id": voyage,
                "starts_at": start.isoformat(),
                "ends_at": end.isoformat(),
            },
        )
        return BayBooking(
            id=new_id, bay_id=bay, voyage_id=voyage, starts_at=start, ends_at=end, booked_by=who
        )


def list_bookings(bay_id: int | None = None, db: DatabaseLike = None) -> list[BayBooking]:
    """The bay bookings (of one bay), by start time."""
    b = station_bay_bookings.c
    query = sa.select(station_bay_bookings).order_by(b.bay_id, b.starts_at, b.id)
    if bay_id is not None:
        query = query.where(b.bay_id == record_id(bay_id, "bay id"))
    with transaction(db) as conn:
        return [_to_booking(r) for r in conn.execute(query).mappings()]


def file_manifest(
    voyage_id: int,
    entries: Iterable[tuple[int, int]],
    *,
    actor: str,
    db: DatabaseLike = None,
) -> int:
    """File the passenger manifest of a voyage: ``(passenger_id, document_id)`` pairs.

    Returns the manifest id. Each document must be its passenger's.
    """
    voyage, who = record_id(voyage_id, "voyage id"), name(actor, "actor")
    pairs = [(record_id(p, "passenger id"), record_id(d, "document id")) for p, d in entries]
    with transaction(db, write=True) as conn:
        if pairs:
            docs = dict(
                conn.execute(
                    sa.select(
                        station_travel_documents.c.id, station_travel_documents.c.passenger_id
                    ).where(station_travel_documents.c.id.in_([d for _, d in pairs]))
                ).all()
            )
            wrong = [(p, d) for p, d in pairs if docs.get(d) != p]
            if wrong:
                raise ValidationError(
                    f"manifest entries {wrong[:5]!r} name documents that are not their "
                    "passenger's (or do not exist); list each passenger with their own document"
                )
        manifest_id = inserted_id(
            conn.execute(
                station_manifests.insert().values(
                    voyage_id=voyage, submitted_by=who, created_at=now()
                )
            )
        )
        if pairs:
            conn.execute(
                station_manifest_entries.insert(),
                [
                    {"manifest_id": manifest_id, "passenger_id": p, "document_id": d}
                    for p, d in pairs
                ],
            )
        record(
            conn,
            "station.manifest_filed",
            actor=who,
            role="spaceline_dispatcher",
            subject_type="voyage",
            subject_id=voyage,
            details={"manifest_id": manifest_id, "passengers": len(pairs)},
        )
        return manifest_id


def manifest_passengers(voyage_id: int, db: DatabaseLike = None) -> list[tuple[int, int]]:
    """The ``(passenger_id, document_id)`` pairs on a voyage's manifest."""
    voyage = record_id(voyage_id, "voyage id")
    e, m = station_manifest_entries.c, station_manifests.c
    query: sa.Select[Any] = (
        sa.select(e.passenger_id, e.document_id)
        .join(station_manifests, m.id == e.manifest_id)
        .where(m.voyage_id == voyage)
        .order_by(e.id)
    )
    with transaction(db) as conn:
        return [(int(p), int(d)) for p, d in conn.execute(query).all()]
