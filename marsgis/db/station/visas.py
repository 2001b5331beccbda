"""Visa applications and visas (tables ``station_visa_applications``, ``station_visas``).

Every change goes through the lifecycle tables of :mod:`marsgis.station.lifecycle` and is
guarded by the record's ``version`` in one conditional ``UPDATE``: a refused or stale call
raises and writes nothing. Decisions append an audit record and a ``station`` event in the same
transaction. The database repeats the rules it can hold itself as ``CHECK`` constraints (the
statuses; the deciding officer is neither applicant nor sponsor; a revoked visa has two
different officers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import DatabaseLike, inserted_id, run_transaction, transaction
from marsgis.db.schema import station_visa_applications, station_visas
from marsgis.db.station._common import (
    moment,
    name,
    not_found,
    now,
    record,
    record_id,
    stale,
    version,
)
from marsgis.exceptions import StateTransitionError, ValidationError
from marsgis.station.lifecycle import (
    APPLICATION_STATUSES,
    check_application_transition,
    check_officer,
    check_second_officer,
    check_visa_transition,
)
from marsgis.station.records import Visa, VisaApplication

__all__ = [
    "create_application",
    "expire_visas",
    "get_application",
    "get_visa",
    "issue_visa",
    "list_applications",
    "list_visas",
    "move_application",
    "propose_revocation",
    "revoke_visa",
]

_ROLE = {"applicant": "passenger", "officer": "immigration_officer"}
_APP_HINT = "list them with marsgis.db.station.list_applications()"
_VISA_HINT = "list them with marsgis.db.station.list_visas()"


def _to_application(r: RowMapping) -> VisaApplication:
    return VisaApplication(
        id=int(r["id"]),
        passenger_id=int(r["passenger_id"]),
        colony_id=int(r["colony_id"]),
        applicant=str(r["applicant"]),
        sponsor=r["sponsor"],
        status=str(r["status"]),
        decided_by=r["decided_by"],
        reason=r["reason"],
        version=int(r["version"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _to_visa(r: RowMapping) -> Visa:
    return Visa(
        id=int(r["id"]),
        application_id=int(r["application_id"]),
        passenger_id=int(r["passenger_id"]),
        colony_id=int(r["colony_id"]),
        status=str(r["status"]),
        valid_from=r["valid_from"],
        valid_until=r["valid_until"],
        issued_by=str(r["issued_by"]),
        revocation_proposed_by=r["revocation_proposed_by"],
        revoked_by=r["revoked_by"],
        revoked_at=r["revoked_at"],
        version=int(r["version"]),
    )


def _load_application(conn: Connection, ident: int) -> VisaApplication:
    row = (
        conn.execute(
            sa.select(station_visa_applications).where(station_visa_applications.c.id == ident)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found("visa application", ident, _APP_HINT)
    return _to_application(row)


def load_visa(conn: Connection, ident: int) -> Visa:
    """A visa read on an open connection (store modules)."""
    row = conn.execute(sa.select(station_visas).where(station_visas.c.id == ident)).mappings()
    first = row.first()
    if first is None:
        raise not_found("visa", ident, _VISA_HINT)
    return _to_visa(first)


def create_application(
    passenger_id: int,
    colony_id: int,
    *,
    applicant: str,
    sponsor: str | None = None,
    db: DatabaseLike = None,
) -> VisaApplication:
    """Start a visa application (status ``draft``) for a passenger to a colony."""
    passenger = record_id(passenger_id, "passenger id")
    colony = record_id(colony_id, "colony id")
    who = name(applicant, "applicant")
    backer = None if sponsor is None else name(sponsor, "sponsor")
    at = now()

    def change(conn: Connection) -> VisaApplication:
        new_id = inserted_id(
            conn.execute(
                station_visa_applications.insert().values(
                    passenger_id=passenger,
                    colony_id=colony,
                    applicant=who,
                    sponsor=backer,
                    status="draft",
                    version=1,
                    created_at=at,
                    updated_at=at,
                )
            )
        )
        record(
            conn,
            "station.application_created",
            actor=who,
            role="passenger",
            subject_type="visa_application",
            subject_id=new_id,
            details={"passenger_id": passenger, "colony_id": colony, "sponsor": backer},
        )
        return _load_application(conn, new_id)

    return run_transaction(db, change)


def get_application(application_id: int, db: DatabaseLike = None) -> VisaApplication:
    """One visa application."""
    ident = record_id(application_id, "application id")
    with transaction(db) as conn:
        return _load_application(conn, ident)


def list_applications(
    *, status: str | None = None, db: DatabaseLike = None
) -> list[VisaApplication]:
    """Visa applications (of one status), oldest first: the officer's queue."""
    a = station_visa_applications.c
    query = sa.select(station_visa_applications).order_by(a.created_at, a.id)
    if status is not None:
        if status not in APPLICATION_STATUSES:
            raise ValidationError(
                f"status {status!r} is not one of {', '.join(APPLICATION_STATUSES)}"
            )
        query = query.where(a.status == status)
    with transaction(db) as conn:
        return [_to_application(r) for r in conn.execute(query).mappings()]


def move_application(
    application_id: int,
    status: str,
    *,
    actor: str,
    expected_version: int,
    reason: str | None = None,
    db: DatabaseLike = None,
) -> VisaApplication:
    """Move an application to ``status`` (submit, review, request information, decide, ...).

    The transition must be in :data:`~marsgis.station.lifecycle.APPLICATION_TRANSITIONS` and
    belong to ``actor``: the applicant's own steps (submit, answer, withdraw) or an officer's
    (review, request information, approve, reject), the officer never being the applicant or
    the sponsor. Decisions (approve, reject) and requests for information need a ``reason``.

    Raises
    ------
    StateTransitionError
        Not a transition of the lifecycle, or not the actor's to make.
    SeparationOfDutiesError
        The officer is the applicant or the sponsor.
    ConcurrencyError
        The application is no longer at ``expected_version``.
    """
    ident = record_id(application_id, "application id")
    expected = version(expected_version)
    who = name(actor, "actor")
    why = None if reason is None else name(reason, "reason")
    if not isinstance(status, str) or status not in APPLICATION_STATUSES:
        raise ValidationError(f"status {status!r} is not one of {', '.join(APPLICATION_STATUSES)}")

    def change(conn: Connection) -> VisaApplication:
        current = _load_application(conn, ident)
        if current.version != expected:
            raise stale(conn, station_visa_applications, ident, expected, "visa application")
        side = check_application_transition(
            current.status,
            status,
            actor=who,
            applicant=current.applicant,
            sponsor=current.sponsor,
        )
        if status in ("approved", "rejected", "info_requested") and why is None:
            raise ValidationError(
                f"moving application {ident} to {status!r} needs a reason (it is recorded in "
                "the audit log and shown to the applicant)"
            )
        a = station_visa_applications.c
        values: dict[str, Any] = {"status": status, "version": a.version + 1, "updated_at": now()}
        if status in ("approved", "rejected"):
            values["decided_by"] = who
        if why is not None:
            values["reason"] = why
        result = conn.execute(
            station_visa_applications.update()
            .where(a.id == ident, a.version == expected, a.status == current.status)
            .values(**values)
        )
        if result.rowcount != 1:
            raise stale(conn, station_visa_applications, ident, expected, "visa application")
        changed = _load_application(conn, ident)
        record(
            conn,
            "station.application_changed",
            actor=who,
            role=_ROLE[side],
            subject_type="visa_application",
            subject_id=ident,
            reason=why,
            details={"from": current.status, "to": status, "version": changed.version},
        )
        return changed

    return run_transaction(db, change)


def issue_visa(
    application_id: int,
    *,
    officer: str,
    valid_from: datetime,
    valid_until: datetime,
    db: DatabaseLike = None,
) -> Visa:
    """Issue the visa of an **approved** application, valid over ``[valid_from, valid_until)``.

    One visa per application; the issuing officer is neither applicant nor sponsor.
    """
    ident = record_id(application_id, "application id")
    who = name(officer, "officer")
    start, end = moment(valid_from, "valid_from"), moment(valid_until, "valid_until")
    if end <= start:
        raise ValidationError(f"valid_until {end.isoformat()} is not after valid_from")

    def change(conn: Connection) -> Visa:
        application = _load_application(conn, ident)
        if application.status != "approved":
            raise StateTransitionError(
                f"application {ident} is {application.status!r}; a visa is issued only from an "
                "approved application (move_application(..., 'approved', ...) first)"
            )
        check_officer(who, applicant=application.applicant, sponsor=application.sponsor)
        existing = conn.execute(
            sa.select(station_visas.c.id).where(station_visas.c.application_id == ident)
        ).scalar()
        if existing is not None:
            raise StateTransitionError(
                f"application {ident} already has visa {existing}; one application, one visa"
            )
        visa_id = inserted_id(
            conn.execute(
                station_visas.insert().values(
                    application_id=ident,
                    passenger_id=application.passenger_id,
                    colony_id=application.colony_id,
                    status="issued",
                    valid_from=start,
                    valid_until=end,
                    issued_by=who,
                    version=1,
                )
            )
        )
        record(
            conn,
            "station.visa_issued",
            actor=who,
            role="immigration_officer",
            subject_type="visa",
            subject_id=visa_id,
            details={
                "application_id": ident,
                "passenger_id": application.passenger_id,
                "colony_id": application.colony_id,
                "valid_from": start.isoformat(),
                "valid_until": end.isoformat(),
            },
        )
        return load_visa(conn, visa_id)

    return run_transaction(db, change)


def get_visa(visa_id: int, db: DatabaseLike = None) -> Visa:
    """One visa."""
    ident = record_id(visa_id, "visa id")
    with transaction(db) as conn:
        return load_visa(conn, ident)


def list_visas(
    *, passenger_id: int | None = None, status: str | None = None, db: DatabaseLike = None
) -> list[Visa]:
    """Visas (of a passenger, of a status), by id."""
    v = station_visas.c
    query = sa.select(station_visas).order_by(v.id)
    if passenger_id is not None:
        query = query.where(v.passenger_id == record_id(passenger_id, "passenger id"))
    if status is not None:
        query = query.where(v.status == status)
    with transaction(db) as conn:
        return [_to_visa(r) for r in conn.execute(query).mappings()]


def propose_revocation(
    visa_id: int,
    *,
    officer: str,
    reason: str,
    expected_version: int,
    db: DatabaseLike = None,
) -> Visa:
    """First step of a revocation: one officer proposes it (the visa stays ``issued``)."""
    ident = record_id(visa_id, "visa id")
    who, why, expected = name(officer, "officer"), name(reason, "reason"), version(expected_version)
    v = station_visas.c

    def change(conn: Connection) -> Visa:
        current = load_visa(conn, ident)
        check_visa_transition(current.status, "revoked")
        result = conn.execute(
            station_visas.update()
            .where(v.id == ident, v.version == expected, v.status == "issued")
            .values(revocation_proposed_by=who, version=v.version + 1)
        )
        if result.rowcount != 1:
            raise stale(conn, station_visas, ident, expected, "visa")
        record(
            conn,
            "station.visa_revocation_proposed",
            actor=who,
            role="immigration_officer",
            subject_type="visa",
            subject_id=ident,
            reason=why,
        )
        return load_visa(conn, ident)

    return run_transaction(db, change)


def revoke_visa(
    visa_id: int,
    *,
    officer: str,
    reason: str,
    expected_version: int,
    at: datetime | None = None,
    db: DatabaseLike = None,
) -> Visa:
    """Second step: another officer confirms the proposed revocation (effective ``at``, now).

    Raises
    ------
    SeparationOfDutiesError
        ``officer`` is the one who proposed the revocation.
    StateTransitionError
        No revocation was proposed, or the visa is no longer ``issued``.
    """
    ident = record_id(visa_id, "visa id")
    who, why, expected = name(officer, "officer"), name(reason, "reason"), version(expected_version)
    when = now() if at is None else moment(at, "at")
    v = station_visas.c

    def change(conn: Connection) -> Visa:
        current = load_visa(conn, ident)
        check_visa_transition(current.status, "revoked")
        check_second_officer(current.revocation_proposed_by, who)
        result = conn.execute(
            station_visas.update()
            .where(
                v.id == ident,
                v.version == expected,
                v.status == "issued",
                v.revocation_proposed_by == current.revocation_proposed_by,
            )
            .values(status="revoked", revoked_by=who, revoked_at=when, version=v.version + 1)
        )
        if result.rowcount != 1:
            raise stale(conn, station_visas, ident, expected, "visa")
        record(
            conn,
            "station.visa_revoked",
            actor=who,
            role="immigration_officer",
            subject_type="visa",
            subject_id=ident,
            reason=why,
            details={"proposed_by": current.revocation_proposed_by, "at": when.isoformat()},
        )
        return load_visa(conn, ident)

    return run_transaction(db, change)


def expire_visas(*, at: datetime | None = None, actor: str, db: DatabaseLike = None) -> int:
    """Mark every issued visa whose validity ended by ``at`` (default now) ``expired``.

    Returns how many were expired.
    """
    when = now() if at is None else moment(at, "at")
    who = name(actor, "actor")
    v = station_visas.c

    def change(conn: Connection) -> int:
        ids = [
            int(i)
            for i in conn.execute(
                sa.select(v.id).where(v.status == "issued", v.valid_until <= when).order_by(v.id)
            ).scalars()
        ]
        for ident in ids:
            conn.execute(
                station_visas.update()
                .where(v.id == ident, v.status == "issued")
                .values(status="expired", version=v.version + 1)
            )
            record(
                conn,
                "station.visa_expired",
                actor=who,
                role="system",
                subject_type="visa",
                subject_id=ident,
            )
        return len(ids)

    return run_transaction(db, change)
