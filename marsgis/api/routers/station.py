"""``/station``: colonies, bays and bookings, voyages, visa applications, visas, admissions, audit.

Thin over :mod:`marsgis.db.station`: the store enforces every invariant (no double-booked bay,
no colony over capacity, separation of duties, the hash-chained audit log); a route checks a
scope, names the caller as the actor of each decision and calls the store. Scopes
(:mod:`marsgis.api.scopes`): ``station:read`` reads, ``station:apply`` lets a passenger create
and move their own applications (and read only those), ``station:decide`` (immigration
officers) reviews, decides, issues and revokes visas and admits, ``station:manage`` adds bays
and overrides a colony's capacity, ``station:dispatch`` announces voyages and books bays,
``station:colony`` sets a colony's capacity and ``station:audit`` reads and verifies the audit
log. Every ``POST``/``PUT`` takes an ``Idempotency-Key`` (a retry replays the first response);
records with a version return it as ``ETag`` and take ``If-Match``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from shapely import wkt
from shapely.geometry import mapping
from starlette.concurrency import run_in_threadpool

from marsgis.api.auth import Principal, authenticate, database, database_role, require
from marsgis.api.models import Problem
from marsgis.api.models_station import (
    AdmissionIn,
    ApplicationIn,
    ApplicationOut,
    AuditRecordOut,
    AuditVerificationOut,
    BayIn,
    BayOut,
    BookingIn,
    BookingOut,
    CapacityIn,
    ColonyFeature,
    ColonyOut,
    EntryEventOut,
    IssueVisaIn,
    ReasonIn,
    TransitionIn,
    VisaOut,
    VoyageIn,
    VoyageOut,
)
from marsgis.api.routers import API_PREFIX
from marsgis.api.routers.missions import expected_version
from marsgis.api.scopes import (
    STATION_APPLY,
    STATION_AUDIT,
    STATION_COLONY,
    STATION_DECIDE,
    STATION_DISPATCH,
    STATION_MANAGE,
    STATION_READ,
)
from marsgis.db import DatabaseLike, idempotency, transaction
from marsgis.db import station as store_api
from marsgis.events import acting_as
from marsgis.exceptions import ValidationError
from marsgis.station import APPLICATION_TRANSITIONS

__all__ = ["router"]

PREFIX = f"{API_PREFIX}/station"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 409, 412, 422)
}
router = APIRouter(prefix=PREFIX, tags=["station"], responses=_ERRORS)


def require_any(*scopes: str) -> Callable[..., Any]:
    """A dependency: the principal, if it holds one of ``scopes`` (else ``403``).

    As :func:`marsgis.api.auth.require`, the request then runs as the principal: its name is
    the events' actor and, with per-caller database roles on, every transaction runs as the
    principal's database group role (:func:`marsgis.api.auth.database_role`).
    """

    async def check(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> AsyncIterator[Principal]:
        held = [s for s in scopes if principal.allows(s)]
        if not held:
            raise HTTPException(403, f"this needs one of the scopes {', '.join(scopes)}")
        with acting_as(principal.name), database_role(request, principal, held[0]):
            yield principal

    return check


Store = Annotated[Any, Depends(database)]
#: A row id of the store (a 32-bit integer above zero, as the store keeps ids; anything else is a ``422``).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
QueryRowId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Reader = Annotated[Principal, Depends(require(STATION_READ))]
ApplicationReader = Annotated[Principal, Depends(require_any(STATION_READ, STATION_APPLY))]
Mover = Annotated[Principal, Depends(require_any(STATION_APPLY, STATION_DECIDE))]
Applicant = Annotated[Principal, Depends(require(STATION_APPLY))]
Officer = Annotated[Principal, Depends(require(STATION_DECIDE))]
Manager = Annotated[Principal, Depends(require(STATION_MANAGE))]
CapacitySetter = Annotated[Principal, Depends(require_any(STATION_COLONY, STATION_MANAGE))]
Dispatcher = Annotated[Principal, Depends(require(STATION_DISPATCH))]
Auditor = Annotated[Principal, Depends(require(STATION_AUDIT))]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

#: What a call does given a database: (status code, JSON body, headers).
Outcome = tuple[int, Any, dict[str, str]]


def _json(model: BaseModel) -> Any:
    return model.model_dump(mode="json")


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _respond(outcome: Outcome) -> JSONResponse:
    status, body, headers = outcome
    return JSONResponse(body, status_code=status, headers=headers)


def _idempotent(
    *,
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel | None,
    store: DatabaseLike,
    action: Callable[[DatabaseLike], Outcome],
    atomic: bool = True,
) -> JSONResponse:
    """Run ``action``; with an ``Idempotency-Key``, once: a retry replays the first response.

    ``atomic``: the action and the stored response commit together. Admissions are not atomic:
    a refused admission is itself recorded (in its own transaction) before the refusal is raised,
    so the action runs on the store and the response is stored right after it.
    """
    if key is None:
        return _respond(action(store))
    payload = b"" if body is None else body.model_dump_json().encode()
    digest = idempotency.request_hash(request.method, request.url.path, payload)

    def replay(conn: DatabaseLike) -> JSONResponse | None:
        stored = idempotency.find_response(principal.name, key, db=conn)
        if stored is None:
            return None
        if stored.request_hash != digest:
            raise ValidationError(
                f"Idempotency-Key {key!r} was used for a different request; use a new key for a "
                "new request"
            )
        headers = {**stored.headers, "Idempotent-Replayed": "true"}
        return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)

    def save(conn: DatabaseLike, outcome: Outcome) -> None:
        status, content, headers = outcome
        idempotency.save_response(
            principal.name,
            key,
            request_hash=digest,
            status_code=status,
            headers=headers,
            body=json.loads(json.dumps(content)),
            db=conn,
        )

    if atomic:
        with transaction(store, write=True) as conn:
            replayed = replay(conn)
            if replayed is not None:
                return replayed
            outcome = action(conn)
            save(conn, outcome)
            return _respond(outcome)
    replayed = replay(store)
    if replayed is not None:
        return replayed
    outcome = action(store)
    with transaction(store, write=True) as conn:
        save(conn, outcome)
    return _respond(outcome)


# -- colonies --------------------------------------------------------------------------------


@router.get("/colonies", response_model=list[ColonyOut])
async def list_colonies(store: Store, _: Reader) -> list[ColonyOut]:
    """Every colony with its occupancy (population / capacity)."""
    colonies = await run_in_threadpool(store_api.list_colonies, db=store)
    return [ColonyOut.of(c) for c in colonies]


@router.get("/colonies/{colony_id}", response_model=ColonyFeature)
def get_colony(colony_id: RowId, store: Store, _: Reader) -> JSONResponse:
    """One colony as a GeoJSON Feature (its boundary), with its ``ETag``."""
    colony = store_api.get_colony(colony_id, db=store)
    feature = ColonyFeature(
        id=colony.id,
        geometry=dict(mapping(wkt.loads(colony.boundary_wkt))),
        properties=ColonyOut.of(colony),
    )
    return JSONResponse(
        _json(feature), headers=_etag(colony.version), media_type="application/geo+json"
    )


@router.put("/colonies/{colony_id}/capacity", response_model=ColonyOut)
def set_capacity(
    *,
    colony_id: RowId,
    body: CapacityIn,
    request: Request,
    store: Store,
    principal: CapacitySetter,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Set a colony's capacity with a reason (colony official; station manager as override)."""

    def act(db: DatabaseLike) -> Outcome:
        version = expected_version(if_match)
        if version is None:
            version = store_api.get_colony(colony_id, db=db).version
        colony = store_api.set_capacity(
            colony_id,
            body.capacity,
            expected_version=version,
            actor=principal.name,
            reason=body.reason,
            db=db,
        )
        return 200, _json(ColonyOut.of(colony)), _etag(colony.version)

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


# -- bays and bookings -------------------------------------------------------------------------


@router.get("/bays", response_model=list[BayOut])
def list_bays(store: Store, _: Reader, station_id: QueryRowId = None) -> list[BayOut]:
    """The docking bays (of one station)."""
    return [BayOut.of(b) for b in store_api.list_bays(station_id, db=store)]


@router.post("/bays", status_code=201, response_model=BayOut)
def add_bay(
    body: BayIn,
    request: Request,
    store: Store,
    principal: Manager,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Add a docking bay to a station (station manager)."""

    def act(db: DatabaseLike) -> Outcome:
        bay = store_api.add_bay(
            body.station_id,
            body.code,
            vessel_classes=body.vessel_classes,
            actor=principal.name,
            db=db,
        )
        return 201, _json(BayOut.of(bay)), {}

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


@router.get("/bays/{bay_id}/bookings", response_model=list[BookingOut])
def list_bookings(bay_id: RowId, store: Store, _: Reader) -> list[BookingOut]:
    """A bay's timeline: its bookings by start time."""
    return [BookingOut.of(b) for b in store_api.list_bookings(bay_id, db=store)]


@router.post("/bays/{bay_id}/bookings", status_code=201, response_model=BookingOut)
def book_bay(
    *,
    bay_id: RowId,
    body: BookingIn,
    request: Request,
    store: Store,
    principal: Dispatcher,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Book a bay over ``[starts_at, ends_at)``; an overlapping booking is a ``409``."""

    def act(db: DatabaseLike) -> Outcome:
        booking = store_api.book_bay(
            bay_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            voyage_id=body.voyage_id,
            actor=principal.name,
            db=db,
        )
        return 201, _json(BookingOut.of(booking)), {}

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


# -- voyages -----------------------------------------------------------------------------------


@router.get("/voyages", response_model=list[VoyageOut])
def list_voyages(store: Store, _: Reader) -> list[VoyageOut]:
    """Every voyage, by arrival."""
    return [VoyageOut.of(v) for v in store_api.list_voyages(db=store)]


@router.post("/voyages", status_code=201, response_model=VoyageOut)
def add_voyage(
    body: VoyageIn,
    request: Request,
    store: Store,
    principal: Dispatcher,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Announce a voyage (spaceline dispatcher)."""

    def act(db: DatabaseLike) -> Outcome:
        voyage = store_api.add_voyage(
            body.vessel_id,
            origin=body.origin,
            arrival_start=body.arrival_start,
            arrival_end=body.arrival_end,
            actor=principal.name,
            db=db,
        )
        return 201, _json(VoyageOut.of(voyage)), {}

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


# -- visa applications -------------------------------------------------------------------------


def _readable(principal: Principal, application: Any) -> bool:
    return principal.allows(STATION_READ) or application.applicant == principal.name


@router.get("/applications", response_model=list[ApplicationOut])
def list_applications(
    store: Store, principal: ApplicationReader, status: str | None = None
) -> list[ApplicationOut]:
    """Visa applications, oldest first (a passenger sees only their own)."""
    found = store_api.list_applications(status=status, db=store)
    return [ApplicationOut.of(a) for a in found if _readable(principal, a)]


@router.post("/applications", status_code=201, response_model=ApplicationOut)
def create_application(
    body: ApplicationIn,
    request: Request,
    store: Store,
    principal: Applicant,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a visa application (``draft``); the caller is its applicant."""

    def act(db: DatabaseLike) -> Outcome:
        application = store_api.create_application(
            body.passenger_id,
            body.colony_id,
            applicant=principal.name,
            sponsor=body.sponsor,
            db=db,
        )
        out = ApplicationOut.of(application)
        return 201, _json(out), _etag(application.version)

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def get_application(
    application_id: RowId, store: Store, principal: ApplicationReader
) -> JSONResponse:
    """One application with its ``ETag`` (a passenger's own only: others are ``403``)."""
    application = store_api.get_application(application_id, db=store)
    if not _readable(principal, application):
        raise HTTPException(403, f"application {application_id} is not yours")
    return JSONResponse(_json(ApplicationOut.of(application)), headers=_etag(application.version))


@router.post("/applications/{application_id}/transitions", response_model=ApplicationOut)
def move_application(
    *,
    application_id: RowId,
    body: TransitionIn,
    request: Request,
    store: Store,
    principal: Mover,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Move an application to another status of its lifecycle.

    The applicant's steps need ``station:apply``, an officer's (review, ask for information,
    approve, reject, with a reason) ``station:decide``.

    A transition the lifecycle does not have is a ``409``; an officer deciding their own or a
    sponsored application a ``403``.
    """
    current = store_api.get_application(application_id, db=store)
    side = APPLICATION_TRANSITIONS.get(current.status, {}).get(body.status)
    needed = STATION_DECIDE if side == "officer" else STATION_APPLY
    if side is not None and not principal.allows(needed):
        raise HTTPException(403, f"moving an application to {body.status!r} needs {needed}")

    def act(db: DatabaseLike) -> Outcome:
        version = expected_version(if_match)
        changed = store_api.move_application(
            application_id,
            body.status,
            actor=principal.name,
            expected_version=current.version if version is None else version,
            reason=body.reason,
            db=db,
        )
        return 200, _json(ApplicationOut.of(changed)), _etag(changed.version)

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


@router.post("/applications/{application_id}/visa", status_code=201, response_model=VisaOut)
def issue_visa(
    *,
    application_id: RowId,
    body: IssueVisaIn,
    request: Request,
    store: Store,
    principal: Officer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue the visa of an approved application (immigration officer)."""

    def act(db: DatabaseLike) -> Outcome:
        visa = store_api.issue_visa(
            application_id,
            officer=principal.name,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            db=db,
        )
        return 201, _json(VisaOut.of(visa)), _etag(visa.version)

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
    )


# -- visas -------------------------------------------------------------------------------------


@router.get("/visas", response_model=list[VisaOut])
def list_visas(
    store: Store,
    _: Reader,
    passenger_id: QueryRowId = None,
    status: str | None = None,
) -> list[VisaOut]:
    """Visas (of a passenger, of a status)."""
    found = store_api.list_visas(passenger_id=passenger_id, status=status, db=store)
    return [VisaOut.of(v) for v in found]


def _visa_step(
    *,
    step: Callable[..., Any],
    visa_id: RowId,
    body: ReasonIn,
    request: Request,
    store: DatabaseLike,
    principal: Principal,
    if_match: str | None,
    key: str | None,
) -> JSONResponse:
    def act(db: DatabaseLike) -> Outcome:
        version = expected_version(if_match)
        if version is None:
            version = store_api.get_visa(visa_id, db=db).version
        visa = step(
            visa_id, officer=principal.name, reason=body.reason, expected_version=version, db=db
        )
        return 200, _json(VisaOut.of(visa)), _etag(visa.version)

    return _idempotent(
        request=request, principal=principal, key=key, body=body, store=store, action=act
    )


@router.post("/visas/{visa_id}/revocation", response_model=VisaOut)
def propose_revocation(
    *,
    visa_id: RowId,
    body: ReasonIn,
    request: Request,
    store: Store,
    principal: Officer,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Propose a visa's revocation (first officer; the visa stays ``issued``)."""
    return _visa_step(
        step=store_api.propose_revocation,
        visa_id=visa_id,
        body=body,
        request=request,
        store=store,
        principal=principal,
        if_match=if_match,
        key=idempotency_key,
    )


@router.post("/visas/{visa_id}/revoke", response_model=VisaOut)
def revoke_visa(
    *,
    visa_id: RowId,
    body: ReasonIn,
    request: Request,
    store: Store,
    principal: Officer,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Confirm a proposed revocation: a second officer (the proposer is a ``403``)."""
    return _visa_step(
        step=store_api.revoke_visa,
        visa_id=visa_id,
        body=body,
        request=request,
        store=store,
        principal=principal,
        if_match=if_match,
        key=idempotency_key,
    )


# -- admissions --------------------------------------------------------------------------------


@router.get("/admissions", response_model=list[EntryEventOut])
def list_entries(
    store: Store,
    _: Reader,
    colony_id: QueryRowId = None,
    outcome: str | None = None,
) -> list[EntryEventOut]:
    """Entry events at arrival (of a colony, of an outcome)."""
    found = store_api.list_entry_events(colony_id=colony_id, outcome=outcome, db=store)
    return [EntryEventOut.of(e) for e in found]


@router.post("/admissions", status_code=201, response_model=EntryEventOut)
def admit(
    body: AdmissionIn,
    request: Request,
    store: Store,
    principal: Officer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Admit an arriving passenger into a colony (immigration officer).

    A refusal is recorded as a ``refused`` entry event and answered ``422`` naming the rule
    that failed (no valid visa, expired document, wrong colony, already resident), or ``409``
    when the colony is full.
    """

    def act(db: DatabaseLike) -> Outcome:
        event = store_api.admit_passenger(
            body.passenger_id,
            body.colony_id,
            document_id=body.document_id,
            arrival_at=body.arrival_at,
            voyage_id=body.voyage_id,
            officer=principal.name,
            db=db,
        )
        return 201, _json(EntryEventOut.of(event)), {}

    return _idempotent(
        request=request,
        principal=principal,
        key=idempotency_key,
        body=body,
        store=store,
        action=act,
        atomic=False,
    )


# -- audit -------------------------------------------------------------------------------------


@router.get("/audit", response_model=list[AuditRecordOut])
def list_audit(
    store: Store,
    _: Auditor,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> list[AuditRecordOut]:
    """The audit records, oldest first (of one subject)."""
    found = store_api.list_audit(subject_type=subject_type, subject_id=subject_id, db=store)
    return [AuditRecordOut.of(r) for r in found]


@router.get("/audit/verify", response_model=AuditVerificationOut)
def verify_audit(store: Store, _: Auditor) -> AuditVerificationOut:
    """Re-compute the audit log's hash chain (as ``marsgis station audit verify --json``)."""
    return AuditVerificationOut.of(store_api.verify_audit(db=store))
