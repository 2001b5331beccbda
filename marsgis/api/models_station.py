"""Pydantic models of the ``/station`` routes: what they take and what they return.

Outputs mirror the records of :mod:`marsgis.station.records` (built with ``of``); times are
ISO 8601 UTC. Records that change carry ``version`` (also their ``ETag``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marsgis.station.audit import AuditVerification
from marsgis.station.records import (
    AuditRecord,
    Bay,
    BayBooking,
    Colony,
    EntryEvent,
    Visa,
    VisaApplication,
    Voyage,
)

__all__ = [
    "AdmissionIn",
    "ApplicationIn",
    "ApplicationOut",
    "AuditRecordOut",
    "AuditVerificationOut",
    "BayIn",
    "BayOut",
    "BookingIn",
    "BookingOut",
    "CapacityIn",
    "ColonyFeature",
    "ColonyOut",
    "EntryEventOut",
    "IssueVisaIn",
    "ReasonIn",
    "TransitionIn",
    "VisaOut",
    "VoyageIn",
    "VoyageOut",
]

_STRICT = ConfigDict(extra="forbid")


class ColonyOut(BaseModel):
    """A colony and its occupancy (``population / capacity``, 0 for a colony of no room)."""

    id: int
    name: str
    site: str
    capacity: int
    population: int
    occupancy: float
    version: int

    @classmethod
    def of(cls, colony: Colony) -> ColonyOut:
        """The model of a colony record."""
        occupancy = colony.population / colony.capacity if colony.capacity else 0.0
        fields = {k: v for k, v in asdict(colony).items() if k != "boundary_wkt"}
        return cls(occupancy=occupancy, **fields)


class ColonyFeature(BaseModel):
    """A colony as a GeoJSON Feature: its boundary (lon/lat °E, ``IAU_2015:49900``)."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: ColonyOut


class CapacityIn(BaseModel):
    """A new capacity for a colony and why (recorded in the audit log)."""

    model_config = _STRICT
    capacity: int = Field(ge=0, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=200)


class BayIn(BaseModel):
    """A new docking bay of a station."""

    model_config = _STRICT
    station_id: int = Field(ge=1, le=2**31 - 1)
    code: str = Field(min_length=1, max_length=200)
    vessel_classes: list[str] = Field(min_length=1)


class BayOut(BaseModel):
    """A docking bay."""

    id: int
    station_id: int
    code: str
    vessel_classes: list[str]

    @classmethod
    def of(cls, bay: Bay) -> BayOut:
        """The model of a bay record."""
        return cls(**asdict(bay))


class BookingIn(BaseModel):
    """A bay booking over ``[starts_at, ends_at)``, optionally for a voyage."""

    model_config = _STRICT
    starts_at: datetime
    ends_at: datetime
    voyage_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class BookingOut(BaseModel):
    """A bay booking."""

    id: int
    bay_id: int
    voyage_id: int | None
    starts_at: datetime
    ends_at: datetime
    booked_by: str

    @classmethod
    def of(cls, booking: BayBooking) -> BookingOut:
        """The model of a booking record."""
        return cls(**asdict(booking))


class VoyageIn(BaseModel):
    """A voyage of a vessel arriving within ``[arrival_start, arrival_end)``."""

    model_config = _STRICT
    vessel_id: int = Field(ge=1, le=2**31 - 1)
    origin: str = Field(min_length=1, max_length=200)
    arrival_start: datetime
    arrival_end: datetime


class VoyageOut(BaseModel):
    """A voyage."""

    id: int
    vessel_id: int
    origin: str
    arrival_start: datetime
    arrival_end: datetime

    @classmethod
    def of(cls, voyage: Voyage) -> VoyageOut:
        """The model of a voyage record."""
        return cls(**asdict(voyage))


class ApplicationIn(BaseModel):
    """A new visa application (the applicant is the caller)."""

    model_config = _STRICT
    passenger_id: int = Field(ge=1, le=2**31 - 1)
    colony_id: int = Field(ge=1, le=2**31 - 1)
    sponsor: str | None = Field(default=None, min_length=1, max_length=200)


class TransitionIn(BaseModel):
    """Move an application to ``status``; decisions and requests for information need a reason."""

    model_config = _STRICT
    status: str
    reason: str | None = Field(default=None, min_length=1, max_length=200)


class ApplicationOut(BaseModel):
    """A visa application."""

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

    @classmethod
    def of(cls, application: VisaApplication) -> ApplicationOut:
        """The model of a application record."""
        return cls(**asdict(application))


class IssueVisaIn(BaseModel):
    """The validity of a visa issued from an approved application."""

    model_config = _STRICT
    valid_from: datetime
    valid_until: datetime


class ReasonIn(BaseModel):
    """Why (a revocation's reason, recorded in the audit log)."""

    model_config = _STRICT
    reason: str = Field(min_length=1, max_length=200)


class VisaOut(BaseModel):
    """A visa."""

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

    @classmethod
    def of(cls, visa: Visa) -> VisaOut:
        """The model of a visa record."""
        return cls(**asdict(visa))


class AdmissionIn(BaseModel):
    """A passenger arriving at ``arrival_at`` with a document, to be admitted to a colony."""

    model_config = _STRICT
    passenger_id: int = Field(ge=1, le=2**31 - 1)
    colony_id: int = Field(ge=1, le=2**31 - 1)
    document_id: int = Field(ge=1, le=2**31 - 1)
    arrival_at: datetime
    voyage_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class EntryEventOut(BaseModel):
    """An entry event at arrival."""

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

    @classmethod
    def of(cls, event: EntryEvent) -> EntryEventOut:
        """The model of a event record."""
        return cls(**asdict(event))


class AuditRecordOut(BaseModel):
    """One hash-chained audit record."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject_type: str
    subject_id: str
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        """The model of a record record."""
        return cls(**asdict(record))


class AuditVerificationOut(BaseModel):
    """The audit chain's verification (what ``marsgis station audit verify --json`` prints)."""

    intact: bool
    records: int
    broken_id: int | None
    problem: str | None
    last_hash: str

    @classmethod
    def of(cls, verification: AuditVerification) -> AuditVerificationOut:
        """The model of a verification record."""
        return cls(**verification.to_dict())
