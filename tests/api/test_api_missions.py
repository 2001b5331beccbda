"""The mission routes on the real app, on SpatiaLite and PostGIS, for every role."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from api_service import ROLES, Service, run_async
from shapely.geometry import shape

import marsgis
from marsgis import db
from marsgis.api.app import MAX_BODY_BYTES
from marsgis.exceptions import NotFoundError

MISSIONS = "/api/v1/missions"
NO_MISSION = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "trace_id"}
R_MARS = 3_396_190.0

#: route -> roles allowed (written out here, independently of marsgis.api.scopes)
ALLOWED: dict[str, set[str]] = {
    "list": set(ROLES),
    "get": set(ROLES),
    "tasks": set(ROLES),
    "plan": set(ROLES),
    "create": {"admin", "scientist"},
    "patch": {"admin", "scientist"},
    "delete": {"admin", "scientist"},
    "status": {"admin", "operator"},
}

CREATE_BODY = {
    "name": "Jezero delta",
    "description": "sample the delta front",
    "mission_type": "landing",
    "target": {"type": "Point", "coordinates": [77.4508, 18.4447]},
    "objectives": ["Core the delta", "Cache samples"],
    "constraints": {"max_slope_deg": 15},
}


def _snapshot(url: str) -> list[dict[str, Any]]:
    """Every mission with its status history: what a refused request must leave alone."""
    return [
        {**m.to_dict(), "history": [h.to_dict() for h in db.status_history(m.id, db=url)]}
        for m in db.list_missions(db=url)
    ]


def _seed(url: str) -> db.Mission:
    return db.add_mission(
        "Gale", lat=-4.5895, lon=137.4417, objectives=["Reach Mount Sharp"], db=url
    )


def _check_list(service: Service, role: str) -> None:
    response = service.call("GET", MISSIONS, role=role)
    assert response.status_code == 200, response.text
    stored = db.list_missions(db=service.url)
    body = response.json()
    assert [item["id"] for item in body["items"]] == [m.id for m in stored]
    assert (body["total"], body["limit"], body["offset"]) == (len(stored), 100, 0)


def _check_get(service: Service, role: str) -> None:
    mission = _seed(service.url)
    response = service.call("GET", f"{MISSIONS}/{mission.id}", role=role)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == mission.id
    assert body["target"] == {"type": "Point", "coordinates": [137.4417, -4.5895]}
    assert body["objectives"] == ["Reach Mount Sharp"]
    assert response.headers["etag"] == '"1"'


def _check_tasks(service: Service, role: str, plan: Any) -> None:
    stored = db.save_plan(plan, db=service.url)
    response = service.call("GET", f"{MISSIONS}/{stored.mission.id}/tasks", role=role)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [t["title"] for t in body["items"]] == [t.title for t in stored.tasks]
    assert [t["position"] for t in body["items"]] == list(range(len(stored.tasks)))
    assert body["total"] == len(stored.tasks) > 0


def _check_plan(service: Service, role: str, plan: Any) -> None:
    stored = db.save_plan(plan, db=service.url)
    response = service.call("GET", f"{MISSIONS}/{stored.mission.id}/plan", role=role)
    assert response.status_code == 200, response.text
    body = response.json()
    ellipses = [a for a in stored.artefacts if a.kind == "ellipse"]
    traverses = [a for a in stored.artefacts if a.kind == "traverse"]
    assert len(body["ellipses"]["features"]) == len(ellipses) == 1
    assert len(body["traverses"]["features"]) == len(traverses) == 1
    line = body["traverses"]["features"][0]["geometry"]
    assert line["type"] == traverses[0].geometry.geom_type == "MultiLineString"
    assert shape(line).equals_exact(traverses[0].geometry, 1e-9)
    # the drive ends at the waypoint (-4.7, 137.38) within a DEM cell
    end = np.array(line["coordinates"][-1][-1])
    assert np.abs(end - [137.38, -4.7]).max() < 0.05
    ring = np.array(body["ellipses"]["features"][0]["geometry"]["coordinates"][0])
    assert (-180 <= ring[:, 0]).all() and (ring[:, 0] < 180).all()
    # the MSL ellipse is centred on the target
    np.testing.assert_allclose(ring[:-1].mean(axis=0), [137.4417, -4.5895], atol=0.02)
    assert body["risk"]["risk_assessment"] == stored.mission.risk_assessment
    assert body["mission"]["id"] == stored.mission.id


def _check_create(service: Service, role: str) -> None:
    before = len(db.list_missions(db=service.url))
    response = service.call("POST", MISSIONS, role=role, json=CREATE_BODY)
    assert response.status_code == 201, response.text
    body = response.json()
    stored = db.get_mission(body["id"], db=service.url)
    assert response.headers["location"] == f"{MISSIONS}/{stored.id}"
    assert (stored.name, stored.lat, stored.lon) == ("Jezero delta", 18.4447, 77.4508)
    assert stored.objectives == ("Core the delta", "Cache samples")
    assert stored.constraints == {"max_slope_deg": 15}
    assert body["version"] == 1 and body["status"] == "planned"
    assert len(db.list_missions(db=service.url)) == before + 1


def _check_patch(service: Service, role: str) -> None:
    mission = _seed(service.url)
    response = service.call(
        "PATCH",
        f"{MISSIONS}/{mission.id}",
        role=role,
        json={"name": "Gale north", "target": {"type": "Point", "coordinates": [222.5, 5.0]}},
    )
    assert response.status_code == 200, response.text
    stored = db.get_mission(mission.id, db=service.url)
    assert (stored.name, stored.lat, stored.lon, stored.version) == ("Gale north", 5.0, -137.5, 2)
    assert response.json()["target"]["coordinates"] == [-137.5, 5.0]
    assert response.headers["etag"] == '"2"'


def _check_delete(service: Service, role: str) -> None:
    mission = _seed(service.url)
    response = service.call("DELETE", f"{MISSIONS}/{mission.id}", role=role)
    assert response.status_code == 204, response.text
    with pytest.raises(NotFoundError):
        db.get_mission(mission.id, db=service.url)


def _check_status(service: Service, role: str) -> None:
    mission = _seed(service.url)
    response = service.call(
        "PUT",
        f"{MISSIONS}/{mission.id}/status",
        role=role,
        json={"status": "active", "note": "landed"},
    )
    assert response.status_code == 200, response.text
    stored = db.get_mission(mission.id, db=service.url)
    assert (stored.status, stored.version) == ("active", 2)
    last = db.status_history(mission.id, db=service.url)[-1]
    assert (last.from_status, last.to_status, last.note, last.changed_by) == (
        "planned",
        "active",
        "landed",
        f"{role}-user",
    )


def _attempt(service: Service, route: str, role: str, plan: Any) -> int:
    """Send the route's request for a refused role; return its status code."""
    mission = _seed(service.url)
    path = f"{MISSIONS}/{mission.id}"
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "create": ("POST", MISSIONS, {"json": CREATE_BODY}),
        "patch": ("PATCH", path, {"json": {"name": "renamed"}}),
        "delete": ("DELETE", path, {}),
        "status": ("PUT", f"{path}/status", {"json": {"status": "aborted"}}),
    }
    method, target, kwargs = requests[route]
    before = _snapshot(service.url)
    response = service.call(method, target, role=role, **kwargs)
    assert _snapshot(service.url) == before
    if response.status_code == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert role in response.json()["detail"]
    return response.status_code


CHECKS: dict[str, Callable[..., None]] = {
    "list": _check_list,
    "get": _check_get,
    "tasks": _check_tasks,
    "plan": _check_plan,
    "create": _check_create,
    "patch": _check_patch,
    "delete": _check_delete,
    "status": _check_status,
}


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(service: Service, role: str, gale_landing_plan: Any) -> None:
    for route, allowed in ALLOWED.items():
        if role in allowed:
            check = CHECKS[route]
            if route in ("tasks", "plan"):
                check(service, role, gale_landing_plan)
            else:
                check(service, role)
        else:
            assert _attempt(service, route, role, gale_landing_plan) == 403, (route, role)


def test_missing_bad_and_revoked_tokens_are_401(service: Service) -> None:
    mission = _seed(service.url)
    before = _snapshot(service.url)
    token, secret = db.tokens.create_token("ada", "admin", db=service.url)
    db.tokens.revoke_token(token.id, db=service.url)
    for headers in (
        {},
        {"Authorization": "Bearer mgs_not-a-token"},
        {"Authorization": "Basic YWRhOnB3"},
        {"Authorization": f"Bearer {secret}"},
    ):
        for method, path, kwargs in (
            ("GET", MISSIONS, {}),
            ("POST", MISSIONS, {"json": CREATE_BODY}),
            ("DELETE", f"{MISSIONS}/{mission.id}", {}),
        ):
            response = service.call(method, path, headers=headers, **kwargs)
            assert response.status_code == 401, (headers, method, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["status"] == 401
    assert _snapshot(service.url) == before


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"name": "late edit"}),
        ("PUT", "/status", {"status": "aborted"}),
        ("DELETE", "", None),
    ],
)
def test_stale_if_match_is_412_and_writes_nothing(
    service: Service, method: str, suffix: str, body: Any
) -> None:
    mission = _seed(service.url)
    db.update_mission(mission.id, expected_version=1, description="edited", db=service.url)
    before = _snapshot(service.url)
    kwargs: dict[str, Any] = {"headers": {"If-Match": '"1"'}}
    if body is not None:
        kwargs["json"] = body
    role = "operator" if suffix == "/status" else "scientist"
    response = service.call(method, f"{MISSIONS}/{mission.id}{suffix}", role=role, **kwargs)
    assert response.status_code == 412, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "is at version 2, you edited version 1" in response.json()["detail"]
    assert _snapshot(service.url) == before
    # the current ETag is accepted (weak form too)
    kwargs["headers"] = {"If-Match": 'W/"2"'}
    response = service.call(method, f"{MISSIONS}/{mission.id}{suffix}", role=role, **kwargs)
    assert response.status_code == (204 if method == "DELETE" else 200), response.text
    if method != "DELETE":
        assert response.headers["etag"] == '"3"'


def test_idempotency_key_replays_the_first_response(service: Service) -> None:
    key = {"Idempotency-Key": "8b1e0c7e-create-jezero"}
    first = service.call("POST", MISSIONS, role="scientist", json=CREATE_BODY, headers=key)
    again = service.call("POST", MISSIONS, role="scientist", json=CREATE_BODY, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert [m.id for m in db.list_missions(db=service.url)] == [first.json()["id"]]
    # the same key for another body is refused, and creates nothing
    other = {**CREATE_BODY, "name": "Other"}
    refused = service.call("POST", MISSIONS, role="scientist", json=other, headers=key)
    assert refused.status_code == 422
    assert "was used for a different request" in refused.json()["detail"]
    # another principal's key space is its own
    admin = service.call("POST", MISSIONS, role="admin", json=CREATE_BODY, headers=key)
    assert admin.status_code == 201 and admin.json()["id"] != first.json()["id"]
    assert len(db.list_missions(db=service.url)) == 2


def test_concurrent_retries_with_one_key_create_one_mission(service: Service) -> None:
    import asyncio

    import httpx

    headers = {
        "Authorization": f"Bearer {service.tokens['scientist']}",
        "Idempotency-Key": "race-1",
    }

    async def race() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return list(
                await asyncio.gather(
                    *[client.post(MISSIONS, json=CREATE_BODY, headers=headers) for _ in range(8)]
                )
            )

    responses = run_async(race())
    stored = db.list_missions(db=service.url)
    assert len(stored) == 1
    created = [r for r in responses if r.status_code == 201]
    assert {r.json()["id"] for r in created} == {stored[0].id}
    # a request that lost the race is told to retry (409), never a second mission or a 5xx
    assert {r.status_code for r in responses} <= {201, 409}
    for r in responses:
        if r.status_code == 409:
            assert "retry it" in r.json()["detail"]


def test_errors_are_problem_documents_with_the_request_id(service: Service) -> None:
    response = service.call(
        "GET", f"{MISSIONS}/{NO_MISSION}", role="viewer", headers={"X-Request-ID": "req-42"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-42"
    body = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["trace_id"] == "req-42"
    assert body["instance"] == f"{MISSIONS}/{NO_MISSION}"
    assert (body["status"], body["title"]) == (404, "Not Found")
    assert body["type"] == "urn:marsgis:error:NotFoundError"
    assert f"no mission with id {NO_MISSION!r}" in body["detail"]
    # a marsgis ValidationError (bad coordinates) keeps its message
    bad = {**CREATE_BODY, "target": {"type": "Point", "coordinates": [0.0, 99.0]}}
    response = service.call("POST", MISSIONS, role="admin", json=bad)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:marsgis:error:CoordinateError"
    assert "99" in response.json()["detail"]
    # request validation (a missing field) is a problem document too
    response = service.call("POST", MISSIONS, role="admin", json={"name": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"loc": ["body", "target"], "msg": "Field required"}]
    # a disallowed transition is a conflict, nothing changed
    mission = _seed(service.url)
    before = _snapshot(service.url)
    response = service.call(
        "PUT", f"{MISSIONS}/{mission.id}/status", role="operator", json={"status": "completed"}
    )
    assert response.status_code == 409
    assert "cannot go from 'planned' to 'completed'" in response.json()["detail"]
    assert _snapshot(service.url) == before
    # a generated request id is on successes too
    ok = service.call("GET", "/api/v1/health")
    assert len(ok.headers["x-request-id"]) == 32
    int(ok.headers["x-request-id"], 16)


def test_an_unexpected_error_is_500_without_internals(service: Service) -> None:
    @service.app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret.py line 7")

    response = service.call("GET", "/api/v1/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    body = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["trace_id"] == "trace-500" == response.headers["x-request-id"]
    assert body["detail"] == "internal error; report it with trace id trace-500"
    assert "hunter2" not in response.text and "secret.py" not in response.text


def test_a_body_over_the_limit_is_413_and_creates_nothing(service: Service) -> None:
    big = {**CREATE_BODY, "description": "x" * MAX_BODY_BYTES}
    response = service.call("POST", MISSIONS, role="admin", json=big)
    assert response.status_code == 413
    assert response.json()["detail"].startswith(f"the request body is larger than {MAX_BODY_BYTES}")

    async def chunks() -> Any:  # no Content-Length: counted as it arrives
        payload = json.dumps(big).encode()
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    response = service.call(
        "POST",
        MISSIONS,
        role="admin",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert db.list_missions(db=service.url) == []


def test_health_names_version_dialect_and_revision(service: Service) -> None:
    response = service.call("GET", "/api/v1/health")
    assert response.status_code == 200
    dialect = "sqlite" if service.url.startswith("sqlite") else "postgresql"
    assert response.json() == {
        "status": "ok",
        "version": marsgis.__version__,
        "database": {"dialect": dialect, "revision": db.head_revision()},
    }


def test_list_filters_bbox_near_status_and_paging(service: Service) -> None:
    url = service.url
    a = db.add_mission("A", lat=0.0, lon=179.5, mission_type="survey", db=url)
    b = db.add_mission("B", lat=0.5, lon=-179.5, db=url)
    c = db.add_mission("C", lat=-4.5895, lon=137.4417, db=url)
    db.set_status(c.id, "active", expected_version=1, db=url)

    def ids(query: str) -> list[str]:
        response = service.call("GET", f"{MISSIONS}?{query}", role="viewer")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("bbox=179,-1,-179,1") == [a.id, b.id]  # across the 180° meridian
    assert ids("status=active") == [c.id]
    assert ids("mission_type=survey") == [a.id]
    assert ids("bbox=179,-1,-179,1&mission_type=landing") == [b.id]
    # near: great circle on the Mars sphere (haversine, R = 3 396 190 m), nearest first
    lat0, lon0 = 0.2, 179.9
    lat, lon = np.radians([0.0, 0.5]), np.radians([179.5, -179.5])
    h = (
        np.sin((lat - np.radians(lat0)) / 2) ** 2
        + np.cos(lat) * np.cos(np.radians(lat0)) * np.sin((lon - np.radians(lon0)) / 2) ** 2
    )
    dist = 2 * R_MARS * np.arcsin(np.sqrt(h))
    radius = float(dist.min() + 1.0)  # only the nearer one
    nearer = [a.id, b.id][int(np.argmin(dist))]
    assert ids(f"near={lat0},{lon0}&radius_m={radius}") == [nearer]
    assert ids(f"near={lat0},{lon0}&radius_m={dist.max() + 1}") == [
        [a.id, b.id][i] for i in np.argsort(dist)
    ]
    response = service.call("GET", f"{MISSIONS}?limit=1&offset=1", role="viewer")
    assert response.json()["items"][0]["id"] == b.id
    assert (response.json()["total"], response.json()["limit"]) == (3, 1)
    response = service.call("GET", f"{MISSIONS}?near=1,2", role="viewer")
    assert response.status_code == 422
    assert "near and radius_m go together" in response.json()["detail"]
    response = service.call("GET", f"{MISSIONS}?bbox=1,2,3", role="viewer")
    assert response.status_code == 422 and "W,S,E,N" in response.json()["detail"]


def test_openapi_lists_every_route_and_docs_are_served(service: Service) -> None:
    document = service.call("GET", "/api/v1/openapi.json").json()
    routes = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == {
        ("/api/v1/health", "get"),
        ("/api/v1/missions", "get"),
        ("/api/v1/missions", "post"),
        ("/api/v1/missions/{mission_id}", "get"),
        ("/api/v1/missions/{mission_id}", "patch"),
        ("/api/v1/missions/{mission_id}", "delete"),
        ("/api/v1/missions/{mission_id}/status", "put"),
        ("/api/v1/missions/{mission_id}/tasks", "get"),
        ("/api/v1/missions/{mission_id}/plan", "get"),
        ("/api/v1/mars-data/datasets", "get"),
        ("/api/v1/mars-data/terrain/{dataset}/elevation", "get"),
        ("/api/v1/mars-data/terrain/{dataset}/elevation", "post"),
        ("/api/v1/mars-data/terrain/{dataset}/profile", "post"),
        ("/api/v1/mars-data/terrain/{dataset}/stats", "post"),
        ("/api/v1/mars-data/terrain/{dataset}/{product}.tif", "get"),
        ("/api/v1/stac/", "get"),
        ("/api/v1/stac/conformance", "get"),
        ("/api/v1/stac/collections", "get"),
        ("/api/v1/stac/collections/{collection_id}", "get"),
        ("/api/v1/stac/collections/{collection_id}/items", "get"),
        ("/api/v1/stac/collections/{collection_id}/items/{item_id}", "get"),
        ("/api/v1/stac/search", "get"),
        ("/api/v1/stac/search", "post"),
        ("/api/v1/tiles/{dataset}/{tms}/{z}/{x}/{y}.png", "get"),
        ("/api/v1/tiles/{dataset}/{tms}/tilejson.json", "get"),
        ("/api/v1/tiles/{dataset}/WMTSCapabilities.xml", "get"),
        ("/api/v1/missions/{mission_id}/plan/traverses", "post"),
        ("/api/v1/planning/sites/check", "post"),
        ("/api/v1/planning/sites/search", "post"),
        ("/api/v1/planning/traverse", "post"),
        ("/api/v1/reports", "get"),
        ("/api/v1/reports/runs", "get"),
        ("/api/v1/reports/runs", "post"),
        ("/api/v1/reports/runs/{run_id}", "get"),
        ("/api/v1/reports/runs/{run_id}/html", "get"),
        ("/api/v1/reports/schedules", "get"),
        ("/api/v1/reports/schedules", "post"),
        ("/api/v1/reports/schedules/{schedule_id}", "get"),
        ("/api/v1/reports/schedules/{schedule_id}", "delete"),
        ("/api/v1/jobs", "get"),
        ("/api/v1/jobs/{job_id}", "get"),
        ("/api/v1/jobs/{job_id}/result", "get"),
        ("/api/v1/inference/models", "get"),
        ("/api/v1/inference/predict", "post"),
        ("/api/v1/inference/batch", "post"),
        ("/api/v1/streams/sse", "get"),  # (WS /api/v1/streams/ws: OpenAPI has no WebSocket)
        ("/api/v1/station/colonies", "get"),
        ("/api/v1/station/colonies/{colony_id}", "get"),
        ("/api/v1/station/colonies/{colony_id}/capacity", "put"),
        ("/api/v1/station/bays", "get"),
        ("/api/v1/station/bays", "post"),
        ("/api/v1/station/bays/{bay_id}/bookings", "get"),
        ("/api/v1/station/bays/{bay_id}/bookings", "post"),
        ("/api/v1/station/voyages", "get"),
        ("/api/v1/station/voyages", "post"),
        ("/api/v1/station/applications", "get"),
        ("/api/v1/station/applications", "post"),
        ("/api/v1/station/applications/{application_id}", "get"),
        ("/api/v1/station/applications/{application_id}/transitions", "post"),
        ("/api/v1/station/applications/{application_id}/visa", "post"),
        ("/api/v1/station/visas", "get"),
        ("/api/v1/station/visas/{visa_id}/revocation", "post"),
        ("/api/v1/station/visas/{visa_id}/revoke", "post"),
        ("/api/v1/station/admissions", "get"),
        ("/api/v1/station/admissions", "post"),
        ("/api/v1/station/audit", "get"),
        ("/api/v1/station/audit/verify", "get"),
    }
    assert document["paths"]["/api/v1/missions"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"] == {"$ref": "#/components/schemas/MissionCreate"}
    docs = service.call("GET", "/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text


def test_cors_is_closed_by_default(service: Service) -> None:
    response = service.call(
        "OPTIONS",
        MISSIONS,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    response = service.call("GET", "/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_access_log_is_one_json_line_per_request(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    mission = _seed(service.url)
    with caplog.at_level(logging.INFO, logger="marsgis.api.access"):
        service.call(
            "GET", f"{MISSIONS}/{mission.id}", role="viewer", headers={"X-Request-ID": "log-1"}
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "marsgis.api.access"]
    assert len(lines) == 1
    line = lines[0]
    assert {k: line[k] for k in ("principal", "method", "route", "status", "request_id")} == {
        "principal": "viewer-user",
        "method": "GET",
        "route": "/api/v1/missions/{mission_id}",
        "status": 200,
        "request_id": "log-1",
    }
    assert line["duration_ms"] >= 0


def test_every_marsgis_error_has_a_status_that_keeps_its_message() -> None:
    from marsgis import exceptions
    from marsgis.api.problems import status_for

    expected = {
        "ValidationError": 422,
        "CoordinateError": 422,
        "InvalidOptionError": 422,
        "ConfigurationError": 422,
        "OutOfBoundsError": 422,
        "StateTransitionError": 409,
        "ConcurrencyError": 409,
        "NotFoundError": 404,
        "DataNotFoundError": 404,
        "PermissionDeniedError": 403,
        "DatabaseError": 503,
        # the station (docs/api.md "Station"): conflicts 409, duties 403, a refused entry 422
        "StationError": 409,
        "BookingConflictError": 409,
        "CapacityExceededError": 409,
        "AuditIntegrityError": 409,
        "SeparationOfDutiesError": 403,
        "AdmissionRefusedError": 422,
    }
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert status_for(cls("m")) == expected.get(name, 400), name
    assert status_for(RuntimeError("x")) == 500


def test_a_malformed_request_id_is_replaced(service: Service) -> None:
    for given in ("has space", "x" * 129, "new\\nline"):
        response = service.call("GET", "/api/v1/health", headers={"X-Request-ID": given})
        assert response.headers["x-request-id"] != given
        assert len(response.headers["x-request-id"]) == 32


def test_list_pages_equal_the_full_list_sliced(service: Service) -> None:
    url = service.url
    rng = np.random.default_rng(7)
    kinds = ("landing", "survey")
    with db.transaction(url, write=True) as conn:
        for i in range(180):
            db.add_mission(
                f"m{i}",
                lat=float(rng.uniform(-20, 20)),
                lon=float(rng.uniform(160, 200)),
                mission_type=kinds[i % 2],
                status="aborted" if i % 3 == 0 else "planned",
                db=conn,
            )
    everything = db.list_missions(db=url)  # oldest first
    for query, keep in (
        ("", lambda m: True),
        ("status=aborted", lambda m: m.status == "aborted"),
        (
            "mission_type=survey&status=planned",
            lambda m: (m.mission_type, m.status) == ("survey", "planned"),
        ),
        ("bbox=175,-5,-175,10", lambda m: -5 <= m.lat <= 10 and (m.lon >= 175 or m.lon <= -175)),
    ):
        expected = [m.id for m in everything if keep(m)]
        for limit, offset in ((25, 0), (25, 25), (1000, 0), (10, len(expected) - 3)):
            response = service.call(
                "GET", f"{MISSIONS}?{query}&limit={limit}&offset={offset}", role="viewer"
            )
            assert response.status_code == 200, response.text
            page = response.json()
            assert (page["total"], page["limit"], page["offset"]) == (len(expected), limit, offset)
            assert [item["id"] for item in page["items"]] == expected[offset : offset + limit]
    first = service.call("GET", f"{MISSIONS}?limit=1", role="viewer").json()["items"][0]
    assert first == service.call("GET", f"{MISSIONS}/{first['id']}", role="viewer").json()
