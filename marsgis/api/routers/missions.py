"""``/missions``: list, create, read, edit, delete, change status, tasks and plan.

``POST /missions/{id}/plan/traverses`` plans a traverse (as ``POST /planning/traverse`` does)
and stores it in the mission's plan with :func:`marsgis.db.save_traverse`: a change to the plan
is a change to the mission (its version and ``ETag`` step), and ``If-Match`` makes it
conditional (``412`` and nothing stored when the mission changed).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from shapely.geometry import mapping
from starlette.concurrency import run_in_threadpool

from marsgis import db, events, memo
from marsgis.api.auth import Principal, database, require
from marsgis.api.models import (
    FeatureCollection,
    MissionCreate,
    MissionOut,
    MissionPatch,
    Page,
    PlanOut,
    Problem,
    Risk,
    StatusChangeIn,
    TaskOut,
)
from marsgis.api.models_planning import TraverseFeature, TraverseSaveIn
from marsgis.api.routers import API_PREFIX
from marsgis.api.routers.planning import plan_route, route_feature
from marsgis.api.scopes import MISSIONS_READ, MISSIONS_STATUS, MISSIONS_WRITE
from marsgis.db import idempotency
from marsgis.exceptions import ValidationError
from marsgis.geo import parse_bbox

__all__ = ["router"]

PREFIX = f"{API_PREFIX}/missions"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 409, 412, 422)
}
router = APIRouter(prefix=PREFIX, tags=["missions"], responses=_ERRORS)

Store = Annotated[Any, Depends(database)]
Reader = Annotated[Principal, Depends(require(MISSIONS_READ))]
Writer = Annotated[Principal, Depends(require(MISSIONS_WRITE))]
StatusChanger = Annotated[Principal, Depends(require(MISSIONS_STATUS))]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def etag(mission: db.Mission) -> str:
    """The ``ETag`` of a mission: its version."""
    return f'"{mission.version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (``"3"`` or ``W/"3"``); None without one or for ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ValidationError(
            f"If-Match {if_match!r} is not a mission ETag; send the ETag of your last GET, "
            'e.g. If-Match: "3"'
        )
    return int(text)


def _mission_response(mission: db.Mission, status_code: int = 200) -> JSONResponse:
    body = MissionOut.of(mission).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers={"ETag": etag(mission)})


def _latlon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(p) for p in text.split(","))
    except ValueError:
        raise ValidationError(f"near {text!r} must be LAT,LON degrees (e.g. -4.6,137.4)") from None
    return lat, lon


#: What a mission read depends on: every change to a mission records a ``missions`` event, and a
#: change to its tasks or plan (which can step its version) a ``tasks`` or ``plans`` one, each in
#: its own transaction (docs/cache.md).
MISSION_TOPICS = ("missions", "plans", "tasks")
#: Seconds a cached mission-list page lives (it is dropped sooner once the log moves on).
LIST_CACHE_TTL_S = 600.0
# bump when the list's JSON changes shape, so no cached body of the old shape is served
_LIST_BODY_VERSION = 1


@router.get("", response_model=Page[MissionOut])
async def list_missions(
    store: Store,
    _: Reader,
    *,
    status: str | None = None,
    mission_type: str | None = None,
    bbox: Annotated[str | None, Query(description="W,S,E,N degrees (°E may cross 180)")] = None,
    near: Annotated[str | None, Query(description="LAT,LON degrees; needs radius_m")] = None,
    radius_m: Annotated[float | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Missions, oldest first (nearest first with ``near``), filtered and paged.

    Filters, count and page are computed by the database (:func:`marsgis.db.page_missions`),
    in the thread pool; the page is serialized once, straight to JSON, and that body is cached
    (:mod:`marsgis.memo`) under the event-log position of the mission topics, so a page is
    never served stale.
    """
    if bbox is not None and near is not None:
        raise ValidationError("give bbox or near, not both")
    if (near is None) != (radius_m is None):
        raise ValidationError("near and radius_m go together (near=LAT,LON&radius_m=METRES)")
    query = {
        "status": status,
        "mission_type": mission_type,
        "bbox": None if bbox is None else parse_bbox(bbox),
        "near": None if near is None else _latlon(near),
        "radius_m": radius_m,
        "limit": limit,
        "offset": offset,
    }
    # the log position is read before the page, so a cached body is never older than its key;
    # that one indexed lookup and a memory hit run on the event loop (no thread-pool hop)
    position = events.log_position(MISSION_TOPICS, db=store)
    namespace = f"mission-list.{position.database}"
    key = [_LIST_BODY_VERSION, *(repr(query[k]) for k in sorted(query))]  # repr: inf, nan
    body = memo.peek(namespace, key, generation=position.event_id)
    if body is None:
        body = await run_in_threadpool(
            memo.cached,
            namespace,
            key,
            lambda: _page_body(query, store),
            generation=position.event_id,
            ttl=LIST_CACHE_TTL_S,
        )
    return Response(body, media_type="application/json")


def _page_body(query: dict[str, Any], store: Any) -> bytes:
    found = db.page_missions(**query, db=store)
    page = Page[MissionOut](
        items=[MissionOut.of(m) for m in found.items],
        total=found.total,
        limit=query["limit"],
        offset=query["offset"],
    )
    return page.model_dump_json().encode()


@router.post("", status_code=201, response_model=MissionOut)
def create_mission(
    body: MissionCreate,
    request: Request,
    store: Store,
    principal: Writer,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Create a mission; with ``Idempotency-Key`` a retry returns the first response."""
    lon, lat = body.target.coordinates
    fields = body.model_dump(exclude={"target"})
    if idempotency_key is None:
        mission = db.add_mission(lat=lat, lon=lon, db=store, **fields)
        return _created(request, mission)
    digest = idempotency.request_hash("POST", request.url.path, body.model_dump_json().encode())
    with db.transaction(store, write=True) as conn:
        stored = idempotency.find_response(principal.name, idempotency_key, db=conn)
        if stored is not None:
            if stored.request_hash != digest:
                raise ValidationError(
                    f"Idempotency-Key {idempotency_key!r} was used for a different request; "
                    "use a new key for a new request"
                )
            headers = {**stored.headers, "Idempotent-Replayed": "true"}
            return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
        response = _created(request, db.add_mission(lat=lat, lon=lon, db=conn, **fields))
        idempotency.save_response(
            principal.name,
            idempotency_key,
            request_hash=digest,
            status_code=response.status_code,
            headers={"Location": response.headers["location"], "ETag": response.headers["etag"]},
            body=json.loads(bytes(response.body)),
            db=conn,
        )
        return response


def _created(request: Request, mission: db.Mission) -> JSONResponse:
    response = _mission_response(mission, 201)
    response.headers["Location"] = str(request.url_for("get_mission", mission_id=mission.id).path)
    return response


@router.get("/{mission_id}", response_model=MissionOut)
def get_mission(
    mission_id: str,
    store: Store,
    _: Reader,
) -> JSONResponse:
    """One mission, with its ``ETag``."""
    return _mission_response(db.get_mission(mission_id, db=store))


@router.patch("/{mission_id}", response_model=MissionOut)
def patch_mission(
    mission_id: str,
    body: MissionPatch,
    store: Store,
    _: Writer,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change fields; ``If-Match`` makes it conditional (``412`` if the mission changed)."""
    version = expected_version(if_match)
    if version is None:  # an unconditional write: based on the current version
        version = db.get_mission(mission_id, db=store).version
    mission = db.update_mission(mission_id, expected_version=version, db=store, **body.changes())
    return _mission_response(mission)


@router.delete("/{mission_id}", status_code=204, response_class=Response)
def delete_mission(
    mission_id: str,
    store: Store,
    _: Writer,
    if_match: IfMatch = None,
) -> Response:
    """Delete a mission (with its history, tasks and plan)."""
    db.delete_mission(mission_id, db=store, expected_version=expected_version(if_match))
    return Response(status_code=204)


@router.put("/{mission_id}/status", response_model=MissionOut)
def put_status(
    mission_id: str,
    body: StatusChangeIn,
    store: Store,
    principal: StatusChanger,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Move the mission along its lifecycle (allowed transitions only, recorded with a note)."""
    version = expected_version(if_match)
    if version is None:
        version = db.get_mission(mission_id, db=store).version
    mission = db.set_status(
        mission_id,
        body.status,
        expected_version=version,
        note=body.note,
        changed_by=principal.name,
        db=store,
    )
    return _mission_response(mission)


@router.get("/{mission_id}/tasks", response_model=Page[TaskOut])
def list_tasks(
    mission_id: str,
    store: Store,
    _: Reader,
) -> Page[TaskOut]:
    """The mission's tasks in order (all of them: ``limit`` is their number)."""
    found = db.list_tasks(mission_id, db=store)
    return Page[TaskOut](
        items=[TaskOut.of(t) for t in found], total=len(found), limit=len(found), offset=0
    )


def _features(artefacts: list[db.Artefact]) -> FeatureCollection:
    return FeatureCollection(
        features=[
            {
                "type": "Feature",
                "id": a.id,
                "geometry": mapping(a.geometry),
                "properties": {"name": a.name, **a.properties},
            }
            for a in artefacts
        ]
    )


#: What a plan read depends on: every change to a mission, its tasks or its artefacts records
#: an event of one of these topics in its own transaction (docs/cache.md).
PLAN_TOPICS = MISSION_TOPICS
#: Seconds a cached plan lives (it is dropped sooner once the log moves on).
PLAN_CACHE_TTL_S = 600.0
# bump when the plan's JSON changes shape, so no cached body of the old shape is served
_PLAN_BODY_VERSION = 1


@router.get("/{mission_id}/plan", response_model=PlanOut)
def get_plan(
    mission_id: str,
    store: Store,
    _: Reader,
) -> Response:
    """The stored plan: landing ellipses and traverses as GeoJSON, tasks, risk."""
    # the log position is read before the plan, so a cached body is never older than its key
    position = events.log_position(PLAN_TOPICS, db=store)
    body = memo.cached(
        f"mission-plan.{position.database}",
        [mission_id, _PLAN_BODY_VERSION],
        lambda: _plan_out(mission_id, store).model_dump_json().encode(),
        generation=position.event_id,
        ttl=PLAN_CACHE_TTL_S,
    )
    return Response(body, media_type="application/json")


def _plan_out(mission_id: str, store: Any) -> PlanOut:
    plan = db.load_plan(mission_id, db=store)
    mission = plan.mission
    return PlanOut(
        mission=MissionOut.of(mission),
        tasks=[TaskOut.of(t) for t in plan.tasks],
        ellipses=_features([a for a in plan.artefacts if a.kind == "ellipse"]),
        traverses=_features([a for a in plan.artefacts if a.kind == "traverse"]),
        risk=Risk(
            safety_score=mission.safety_score,
            scientific_priority=mission.scientific_priority,
            risk_assessment=mission.risk_assessment,
        ),
    )


@router.post("/{mission_id}/plan/traverses", status_code=201, response_model=TraverseFeature)
def add_plan_traverse(
    mission_id: str,
    body: TraverseSaveIn,
    request: Request,
    store: Store,
    _: Writer,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Plan a traverse and store it in the mission's plan (``201``, the mission's new ``ETag``)."""
    version = expected_version(if_match)
    db.get_mission(mission_id, db=store)  # a 404 before planning
    route, dataset = plan_route(body)
    artefact = db.save_traverse(
        mission_id, route, name=body.name, expected_version=version, db=store
    )
    feature = route_feature(route, dataset, feature_id=artefact.id)
    mission = db.get_mission(mission_id, db=store)
    location = str(request.url_for("get_plan", mission_id=mission_id).path)
    return JSONResponse(
        feature.model_dump(mode="json"),
        status_code=201,
        headers={"Location": location, "ETag": etag(mission)},
    )
