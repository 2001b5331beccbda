"""The station's records as plain, frozen dataclasses (what the store returns; no ORM objects).

Times are timezone-aware UTC datetimes; dates of documents are :class:`datetime.date`.
Records that change carry a ``version`` (optimistic concurrency: a change names the version
it is based on, and a stale one is refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

__all__ = [
    "AuditRecord",
    "Bay",
    "BayBooking",
    "Colony",
    "EntryEvent",
    "Passenger",
    "Resident",
    "Station",
    "StationSnapshot",
    "TravelDocument",
    "Visa",
    "VisaApplication",
    "Vessel",
    "Voyage",
]


@dataclass(frozen=True)
class Colony:
    """A settlement: its boundary (WKT, lon/lat °E in ``IAU_2015:49900``) and its room.

    ``site`` is the IAU gazetteer feature it lies at; ``population <= capacity`` always.
    """

    id: int
    name: str
    site: str
    boundary_wkt: str
    capacity: int
    population: int
    version: int


@dataclass(frozen=True)
class Station:
    """A station (spaceport) serving a colony."""

    id: int
    name: str
    colony_id: int


@dataclass(frozen=True)
class Bay:
    """A docking bay of a station and the vessel classes it takes."""

    id: int
    station_id: int
    code: str
    vessel_classes: tuple[str, ...]


@dataclass(frozen=True)
class Vessel:
    """A ship and its class (what decides which bays it can use)."""

    id: int
    name: str
    vessel_class: str


@dataclass(frozen=True)
class Voyage:
    """A vessel's voyage to the station, due within ``[arrival_start, arrival_end)``."""

    id: int
    vessel_id: int
    origin: str
    arrival_start: datetime
    arrival_end: datetime


@dataclass(frozen=True)
class BayBooking:
    """A bay reserved over ``[starts_at, ends_at)`` (never overlapping another of that bay)."""

    id: int
    bay_id: int
    voyage_id: int | None
    starts_at: datetime
    ends_at: datetime
    booked_by: str


@dataclass(frozen=True)
class Passenger:
    """A person travelling to the station."""

    id: int
    surname: str
    given_names: str
    nationality: str
    birth_date: date
    sex: str


@dataclass(frozen=True)
class TravelDocument:
    """A passport (ICAO 9303 TD3) with its machine-readable zone, check digits verified."""

    id: int
    passenger_id: int
    document_number: str
    issuing_state: str
    expires_on: date
    mrz: str


@dataclass(frozen=True)
class VisaApplication:
    """An application for a visa to a colony (lifecycle: :mod:`marsgis.station.lifecycle`)."""

    id: int
    passenger_id: int
    colony_id: int
    applicant: str
    sponsor: str | None
    status: str
    decided_by: str | None
    reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Visa:
    """A visa issued from an approved application, valid over ``[valid_from, valid_until)``.

    A revocation is proposed by one officer (``revocation_proposed_by``) and confirmed by a
    second (``revoked_by``, at ``revoked_at``).
    """

    id: int
    application_id: int
    passenger_id: int
    colony_id: int
    status: str
    valid_from: datetime
    valid_until: datetime
    issued_by: str
    revocation_proposed_by: str | None
    revoked_by: str | None
    revoked_at: datetime | None
    version: int


@dataclass(frozen=True)
class EntryEvent:
    """An officer's decision on a passenger at arrival (``admitted``, ``refused``, ...)."""

    id: int
    passenger_id: int
    colony_id: int
    visa_id: int | None
    document_id: int | None
    voyage_id: int | None
    outcome: str
    officer: str
    reason: str | None
    arrival_at: datetime
    at: datetime


@dataclass(frozen=True)
class Resident:
    """A passenger admitted to live in a colony."""

    id: int
    passenger_id: int
    colony_id: int
    visa_id: int
    since: datetime


@dataclass(frozen=True)
class AuditRecord:
    """One decision in the hash-chained audit log (never updated or deleted).

    ``hash = sha256(prev_hash + canonical JSON of the other fields)``; see
    :mod:`marsgis.station.audit`.
    """

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject_type: str
    subject_id: str
    reason: str | None
    details: dict[str, object]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class StationSnapshot:
    """The station's records read in one transaction: what reports and forecasts work on.

    ``manifests`` maps a voyage id to the number of passengers on its manifest. Built by
    :func:`marsgis.db.station.station_snapshot`; read by :mod:`marsgis.station.arrivals`.
    """

    taken_at: datetime
    colonies: tuple[Colony, ...] = ()
    stations: tuple[Station, ...] = ()
    bays: tuple[Bay, ...] = ()
    vessels: tuple[Vessel, ...] = ()
    voyages: tuple[Voyage, ...] = ()
    bookings: tuple[BayBooking, ...] = ()
    entries: tuple[EntryEvent, ...] = ()
    manifests: Mapping[int, int] = field(default_factory=dict)
