"""The planning routes on the real app, on SpatiaLite and PostGIS, for every role.

Every answer is compared with the library function called directly on the same inputs
(``marsgis.planning``), and sizes on the Mars sphere with pyproj's own geodesic.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from api_service import ROLES, Service
from pyproj import Geod
from shapely.geometry import shape

import marsgis
from marsgis import db, planning, terrain
from marsgis.api import create_app
from marsgis.api.routers.planning import MAX_TRAVERSE_SPAN_CELLS, PlanningLimits
from marsgis.db import jobs as job_store

PLANNING = "/api/v1/planning"
MISSIONS = "/api/v1/missions"
R_MARS = 3_396_190.0
MARS = Geod(a=R_MARS, f=0.0)
BRADBURY = (-4.5895, 137.4417)  # lat, lon
AEOLIS_MONS = (-5.08, 137.85)  # Mount Sharp, IAU gazetteer centre

#: route -> roles allowed (written out here, independently of marsgis.api.scopes)
ALLOWED = {
    "check": {"admin", "scientist"},
    "search": {"admin", "scientist"},
    "traverse": {"admin", "scientist"},
    "save-traverse": {"admin", "scientist"},
}


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _toward_mount_sharp(distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from Bradbury Landing toward Aeolis Mons (pyproj, Mars sphere)."""
    azimuth, _, _ = MARS.inv(BRADBURY[1], BRADBURY[0], AEOLIS_MONS[1], AEOLIS_MONS[0])
    lon, lat, _ = MARS.fwd(BRADBURY[1], BRADBURY[0], azimuth, distance_m)
    return float(lat), float(lon)


GOAL_15KM = _toward_mount_sharp(15_000.0)
TRAVERSE_BODY = {
    "dataset": "gale-mola",
    "start": _point(*BRADBURY),
    "goal": _point(*GOAL_15KM),
    "max_slope_deg": 25.0,
}
SEARCH_BOX = (137.2, -5.0, 137.6, -4.6)


def _snapshot(url: str) -> list[dict[str, Any]]:
    """Every mission with its artefacts: what a refused request must leave alone."""
    return [
        {**m.to_dict(), "artefacts": [a.to_dict() for a in db.list_artefacts(m.id, db=url)]}
        for m in db.list_missions(db=url)
    ]


def _check_check(service: Service, role: str) -> None:
    # Bradbury Landing on the 128 px/deg Gale DEM: every MSL constraint with its value
    response = service.call(
        "POST",
        f"{PLANNING}/sites/check",
        role=role,
        json={"dataset": "gale-mola", "site": _point(*BRADBURY), "preset": "msl"},
    )
    assert response.status_code == 200, response.text
    expected = planning.check_site(*BRADBURY, "msl", marsgis.open_dem("gale-mola")).to_dict()
    assert response.json() == {"dataset": "gale-mola", **expected}
    assert [c["constraint"] for c in expected["checks"]] == ["latitude", "elevation", "slope_2m"]
    assert [c["status"] for c in expected["checks"]] == ["pass", "pass", "not evaluated"]


def _check_search(service: Service, role: str) -> None:
    body = {"dataset": "gale-mola", "bbox": list(SEARCH_BOX), "preset": "msl", "top": 3}
    response = service.call("POST", f"{PLANNING}/sites/search", role=role, json=body)
    assert response.status_code == 200, response.text
    found = response.json()
    dem = marsgis.open_dem("gale-mola")
    sites = planning.search_landing_sites(dem, "msl", bbox=SEARCH_BOX, top=3)
    features = found["sites"]["features"]
    assert [f["properties"]["rank"] for f in features] == list(sites["rank"])
    for feature, (_, row) in zip(features, sites.iterrows(), strict=True):
        props = feature["properties"]
        for key in ("lat", "lon", "score", "safety", "science", "relief_m", "slope_p95_deg"):
            assert props[key] == pytest.approx(float(row[key]), rel=1e-12, abs=1e-12), key
        assert shape(feature["geometry"]).equals_exact(row.geometry, 1e-9)
    assert found["candidates"] == sites.attrs["candidates"]
    window = terrain.box_window(dem, SEARCH_BOX)
    area = planning.eligible_area(planning.eligibility_map(window, "msl"))
    assert found["area"]["eligible_km2"] == pytest.approx(area["eligible_km2"], rel=1e-12)
    # the box's area on the Mars sphere, from the window's cell edges: R² Δλ (sin φn − sin φs)
    xs, ys = window["x"].to_numpy(), window["y"].to_numpy()
    dx, dy = abs(xs[1] - xs[0]), abs(ys[1] - ys[0])
    lam = np.radians(xs.max() - xs.min() + dx)
    north, south = np.radians(ys.max() + dy / 2), np.radians(ys.min() - dy / 2)
    zone_km2 = R_MARS**2 * lam * (np.sin(north) - np.sin(south)) / 1e6
    assert found["area"]["total_km2"] == pytest.approx(zone_km2, rel=1e-9)


def _check_traverse(service: Service, role: str) -> None:
    response = service.call("POST", f"{PLANNING}/traverse", role=role, json=TRAVERSE_BODY)
    assert response.status_code == 200, response.text
    _assert_route(response.json(), TRAVERSE_BODY)


def _assert_route(feature: dict[str, Any], body: dict[str, Any]) -> None:
    """The Feature equals ``plan_traverse`` called directly on the request's inputs."""
    (lon0, lat0), (lon1, lat1) = body["start"]["coordinates"], body["goal"]["coordinates"]
    route = planning.plan_traverse(
        marsgis.open_dem(body["dataset"]),
        (lat0, lon0),
        (lat1, lon1),
        max_slope=body.get("max_slope_deg"),
    )
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "LineString"
    got = np.array(feature["geometry"]["coordinates"])
    want = np.array(route.geometry.iloc[0].coords)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    props = feature["properties"]
    for key in ("length_m", "cost", "max_slope_deg", "drive_time_h", "energy_wh"):
        assert props[key] == pytest.approx(route.attrs[key], rel=1e-12), key
    # the length is that of the returned line on the Mars sphere (pyproj's geodesic)
    assert props["length_m"] == pytest.approx(MARS.line_length(got[:, 0], got[:, 1]), rel=1e-9)
    assert props["dataset"] == body["dataset"]


def _check_save_traverse(service: Service, role: str) -> None:
    mission = db.add_mission("Gale drive", lat=BRADBURY[0], lon=BRADBURY[1], db=service.url)
    body = {**TRAVERSE_BODY, "name": "to Mount Sharp"}
    response = service.call(
        "POST",
        f"{MISSIONS}/{mission.id}/plan/traverses",
        role=role,
        json=body,
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"2"'
    assert response.headers["location"] == f"{MISSIONS}/{mission.id}/plan"
    _assert_route(response.json(), TRAVERSE_BODY)
    stored = db.load_plan(mission.id, db=service.url)
    assert stored.mission.version == 2
    [artefact] = stored.artefacts
    assert (artefact.id, artefact.kind, artefact.name) == (
        response.json()["id"],
        "traverse",
        "to Mount Sharp",
    )
    [line] = artefact.geometry.geoms
    np.testing.assert_allclose(
        np.array(line.coords), response.json()["geometry"]["coordinates"], rtol=0, atol=1e-9
    )
    plan = service.call("GET", f"{MISSIONS}/{mission.id}/plan", role=role).json()
    assert [f["id"] for f in plan["traverses"]["features"]] == [artefact.id]


CHECKS = {
    "check": _check_check,
    "search": _check_search,
    "traverse": _check_traverse,
    "save-traverse": _check_save_traverse,
}


def _attempt(service: Service, route: str, role: str) -> int:
    mission = db.add_mission("Refused", lat=BRADBURY[0], lon=BRADBURY[1], db=service.url)
    requests = {
        "check": ("POST", f"{PLANNING}/sites/check", {"site": _point(*BRADBURY)}),
        "search": ("POST", f"{PLANNING}/sites/search", {"bbox": list(SEARCH_BOX)}),
        "traverse": ("POST", f"{PLANNING}/traverse", TRAVERSE_BODY),
        "save-traverse": ("POST", f"{MISSIONS}/{mission.id}/plan/traverses", TRAVERSE_BODY),
    }
    method, path, body = requests[route]
    before = _snapshot(service.url)
    response = service.call(method, path, role=role, json=body)
    assert _snapshot(service.url) == before
    if response.status_code == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert role in response.json()["detail"]
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_planning_route_for_every_role(service: Service, role: str) -> None:
    for route, allowed in ALLOWED.items():
        if role in allowed:
            CHECKS[route](service, role)
        else:
            assert _attempt(service, route, role) == 403, (route, role)


def test_a_15_km_gale_traverse_toward_mount_sharp(service: Service) -> None:
    assert MARS.inv(BRADBURY[1], BRADBURY[0], GOAL_15KM[1], GOAL_15KM[0])[2] == pytest.approx(
        15_000.0, abs=1e-6
    )
    response = service.call("POST", f"{PLANNING}/traverse", role="scientist", json=TRAVERSE_BODY)
    assert response.status_code == 200, response.text
    feature = response.json()
    _assert_route(feature, TRAVERSE_BODY)
    line = np.array(feature["geometry"]["coordinates"])
    # from the exact start to the exact goal, no shorter than the great circle, under the limit
    assert tuple(line[0]) == (BRADBURY[1], BRADBURY[0])
    assert tuple(line[-1]) == (GOAL_15KM[1], GOAL_15KM[0])
    props = feature["properties"]
    assert 15_000.0 <= props["length_m"] < 1.5 * 15_000.0
    assert props["great_circle_m"] == pytest.approx(15_000.0, rel=1e-9)
    assert 0.0 < props["max_slope_deg"] <= props["max_slope_limit_deg"] == 25.0
    assert props["method"] == "exact"
    # without max_slope_deg: the library's default limit, same route
    default = {k: v for k, v in TRAVERSE_BODY.items() if k != "max_slope_deg"}
    again = service.call("POST", f"{PLANNING}/traverse", role="admin", json=default)
    assert again.status_code == 200, again.text
    _assert_route(again.json(), default)


def test_site_check_default_dataset_and_a_failing_site(service: Service) -> None:
    """Olympus Mons on the global MOLA grid (the finest DEM there): too high for MER-A."""
    lat, lon = 18.65, -133.8
    response = service.call(
        "POST",
        f"{PLANNING}/sites/check",
        role="scientist",
        json={"site": _point(lat, lon), "preset": "mer-a"},
    )
    assert response.status_code == 200, response.text
    expected = planning.check_site(lat, lon, "mer-a", marsgis.open_dem("mola")).to_dict()
    assert response.json() == {"dataset": "mola", **expected}
    by_key = {c["constraint"]: c for c in response.json()["checks"]}
    assert by_key["elevation"]["status"] == "fail"
    assert by_key["elevation"]["value"] > 20_000.0  # metres above the areoid
    assert response.json()["verdict"].startswith("not eligible")
    # a mapping of constraints instead of a preset
    custom = {"name": "low", "latitude": [-30, 30], "max_elevation_m": -5000}
    response = service.call(
        "POST",
        f"{PLANNING}/sites/check",
        role="scientist",
        json={"dataset": "gale-mola", "site": _point(*BRADBURY), "constraints": custom},
    )
    assert response.status_code == 200, response.text
    direct = planning.check_site(
        *BRADBURY, planning.constraint_set_from_dict(custom), marsgis.open_dem("gale-mola")
    )
    assert response.json() == {"dataset": "gale-mola", **direct.to_dict()}
    assert response.json()["verdict"] == "not eligible (fails elevation)"


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        # a preset is a name, never a file
        (
            "sites/check",
            {"site": _point(*BRADBURY), "preset": "/etc/passwd.yaml"},
            422,
            "not a constraint preset",
        ),
        # a dataset is a catalog name, never a path
        (
            "traverse",
            {**TRAVERSE_BODY, "dataset": "../../etc/passwd"},
            404,
            "../../etc/passwd",
        ),
        # outside the DEM
        (
            "sites/check",
            {"dataset": "gale-mola", "site": _point(40.0, 10.0), "preset": "msl"},
            422,
            "outside",
        ),
        # start and goal in the same cell
        (
            "traverse",
            {**TRAVERSE_BODY, "goal": _point(*BRADBURY)},
            400,
            "same",
        ),
    ],
)
def test_bad_planning_requests_are_problems(
    service: Service, path: str, body: dict[str, Any], status: int, words: str
) -> None:
    response = service.call("POST", f"{PLANNING}/{path}", role="scientist", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


def _with_limits(service: Service, limits: PlanningLimits) -> Service:
    """The same database and tokens, served by an app with other planning size limits."""
    return Service(
        url=service.url, app=create_app(service.url, planning_limits=limits), tokens=service.tokens
    )


def _poll_job(service: Service, location: str, limit: float = 300.0) -> dict[str, Any]:
    """GET the job until it finishes (a bounded loop, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while True:
        body: dict[str, Any] = service.call("GET", location, role="scientist").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"job still {body['status']} after {limit} s: {body}")
        time.sleep(0.2)


def _gale_corner_to_corner() -> tuple[dict[str, Any], int, int]:
    """A traverse corner to corner of the 897 × 897 Gale window, and its rows and columns."""
    dem = marsgis.open_dem("gale-mola")
    ys, xs = dem["y"].to_numpy(), dem["x"].to_numpy()
    body = {
        "dataset": "gale-mola",
        "start": _point(float(ys[2]), float(xs[2])),
        "goal": _point(float(ys[-3]), float(xs[-3])),
    }
    return body, len(ys) - 4, len(xs) - 4


def test_a_traverse_over_the_hard_limit_is_413(service: Service) -> None:
    body, rows, cols = _gale_corner_to_corner()
    assert rows > MAX_TRAVERSE_SPAN_CELLS
    capped = _with_limits(service, PlanningLimits(traverse_job_span=MAX_TRAVERSE_SPAN_CELLS))
    response = capped.call("POST", f"{PLANNING}/traverse", role="scientist", json=body)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"{rows} × {cols} cells" in response.json()["detail"]
    assert job_store.list_jobs(db=service.url) == []
    # the mission plan's traverse is planned at once: over the limit it stays 413
    mission = db.add_mission("Long drive", lat=BRADBURY[0], lon=BRADBURY[1], db=service.url)
    response = service.call(
        "POST", f"{MISSIONS}/{mission.id}/plan/traverses", role="scientist", json=body
    )
    assert response.status_code == 413, response.text
    assert db.load_plan(mission.id, db=service.url).artefacts == ()


@pytest.mark.usefixtures("job_cluster")
def test_a_long_traverse_runs_as_a_job(service: Service) -> None:
    # the 15 km drive spans about 30 cells: over a threshold of 8, it becomes a job
    small = _with_limits(service, PlanningLimits(traverse_sync_span=8))
    for role in ("viewer", "operator"):
        refused = small.call("POST", f"{PLANNING}/traverse", role=role, json=TRAVERSE_BODY)
        assert refused.status_code == 403 and role in refused.json()["detail"]
    assert job_store.list_jobs(db=service.url) == []

    response = small.call("POST", f"{PLANNING}/traverse", role="scientist", json=TRAVERSE_BODY)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "planning.traverse" and job["owner"] == "scientist-user"
    assert job["parameters"]["dataset"] == "gale-mola"
    assert job["parameters"]["start"] == TRAVERSE_BODY["start"]
    done = _poll_job(small, response.headers["location"])
    assert done["status"] == "succeeded", done
    (link,) = [x for x in done["links"] if x["rel"] == "result"]
    assert link["type"] == "application/json"
    result = small.call("GET", link["href"], role="scientist")
    assert result.status_code == 200
    _assert_route(result.json(), TRAVERSE_BODY)  # plan_traverse called directly
    # the same document the 200 answer of an app with the default limits carries
    direct = service.call("POST", f"{PLANNING}/traverse", role="scientist", json=TRAVERSE_BODY)
    assert direct.status_code == 200 and result.json() == direct.json()
    assert [j.id for j in job_store.list_jobs(db=service.url)] == [job["id"]]


@pytest.mark.usefixtures("job_cluster")
def test_a_large_site_search_runs_as_a_job(service: Service) -> None:
    body = {"dataset": "gale-mola", "bbox": list(SEARCH_BOX), "preset": "msl", "top": 3}
    small = _with_limits(service, PlanningLimits(search_sync_cells=(16, 16)))
    refused = small.call("POST", f"{PLANNING}/sites/search", role="viewer", json=body)
    assert refused.status_code == 403
    assert job_store.list_jobs(db=service.url) == []
    response = small.call("POST", f"{PLANNING}/sites/search", role="scientist", json=body)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["kind"] == "planning.sites.search"
    window = terrain.box_window(marsgis.open_dem("gale-mola"), SEARCH_BOX)
    assert job["parameters"]["cells"] == list(window.shape) and min(window.shape) > 16
    done = _poll_job(small, response.headers["location"])
    assert done["status"] == "succeeded", done
    result = small.call("GET", f"{response.headers['location']}/result", role="scientist")
    # the document of the 200 answer (itself checked against the library in _check_search)
    direct = service.call("POST", f"{PLANNING}/sites/search", role="scientist", json=body)
    assert direct.status_code == 200 and result.json() == direct.json()
    # over the hard limit: 422 as before, no job
    capped = _with_limits(
        service, PlanningLimits(search_sync_cells=(8, 8), search_job_cells=(16, 16))
    )
    response = capped.call("POST", f"{PLANNING}/sites/search", role="scientist", json=body)
    assert response.status_code == 422 and "the limit is 16 × 16" in response.json()["detail"]
    assert len(job_store.list_jobs(db=service.url)) == 1


def test_openapi_documents_planning_jobs(service: Service) -> None:
    spec = service.call("GET", "/api/v1/openapi.json").json()
    for path in ("/api/v1/planning/traverse", "/api/v1/planning/sites/search"):
        accepted = spec["paths"][path]["post"]["responses"]["202"]
        ref = accepted["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/JobOut", path


def test_saving_a_traverse_with_a_stale_if_match_is_412_and_stores_nothing(
    service: Service,
) -> None:
    mission = db.add_mission("Gale drive", lat=BRADBURY[0], lon=BRADBURY[1], db=service.url)
    db.update_mission(mission.id, expected_version=1, name="Gale drive (renamed)", db=service.url)
    before = _snapshot(service.url)
    response = service.call(
        "POST",
        f"{MISSIONS}/{mission.id}/plan/traverses",
        role="scientist",
        json=TRAVERSE_BODY,
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 412, response.text
    assert _snapshot(service.url) == before
    missing = service.call(
        "POST",
        f"{MISSIONS}/1b4e28ba-2fa1-41d2-883f-0016d3cca427/plan/traverses",
        role="scientist",
        json=TRAVERSE_BODY,
    )
    assert missing.status_code == 404, missing.text
