"""The report routes on the real app, on SpatiaLite and PostGIS, for every role.

Runs are real: a trigger executes the shipped ``mission-plan`` notebook with papermill in the
server's background, and the test polls the run until it has finished (few runs: they cost a
kernel each).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from api_service import ROLES, Service

from marsgis import db, reports
from marsgis.events import read_events

REPORTS = "/api/v1/reports"
POLL_DEADLINE_S = 600.0

#: route -> roles allowed (written out here, independently of marsgis.api.scopes)
READERS = set(ROLES)
RUNNERS = {"admin", "operator"}


@pytest.fixture(autouse=True)
def _reports_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_REPORTS_DIR", str(tmp_path / "reports"))


def _snapshot(url: str) -> dict[str, Any]:
    """Runs, schedules and missions: what a refused request must leave alone."""
    return {
        "runs": [r.to_dict() for r in reports.list_runs(limit=None, db=url)],
        "schedules": [s.to_dict() for s in reports.list_schedules(db=url)],
        "missions": [m.to_dict() for m in db.list_missions(db=url)],
    }


def _wait(service: Service, location: str, role: str) -> dict[str, Any]:
    """Poll a run until it is no longer running (bounded)."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    while True:
        response = service.call("GET", location, role=role)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] != "running":
            return run
        assert time.monotonic() < deadline, f"run {run['id']} still running: {run}"
        time.sleep(0.5)


def test_trigger_poll_and_fetch_the_html(service: Service) -> None:
    mission = db.add_mission(
        "API report: Bradbury Landing", lat=-4.5895, lon=137.4417, db=service.url
    )
    other = db.add_mission("Another mission", lat=18.4447, lon=77.4508, db=service.url)
    triggered = {}
    for role in sorted(RUNNERS):  # both roles that may run reports, running at once
        response = service.call(
            "POST",
            f"{REPORTS}/runs",
            role=role,
            json={"report": "mission-plan", "mission_id": mission.id},
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "running" and body["html_url"] is None
        assert body["parameters"] == {"mission_id": mission.id}
        assert response.headers["location"] == f"{REPORTS}/runs/{body['id']}"
        stored = reports.get_run(body["id"], db=service.url)
        assert (stored.report, stored.parameters) == ("mission-plan", {"mission_id": mission.id})
        triggered[role] = response.headers["location"]
        # the HTML is a 404 problem while the run has not written it
        early = service.call("GET", f"{triggered[role]}/html", role="viewer")
        state = service.call("GET", triggered[role], role="viewer").json()
        if state["status"] == "running":
            assert early.status_code == 404, early.text
            assert early.headers["content-type"] == "application/problem+json"
            assert "no HTML yet" in early.json()["detail"]
    for role, location in triggered.items():
        run = _wait(service, location, role)
        assert run["status"] == "succeeded", run["error"]
        stored = reports.get_run(run["id"], db=service.url)
        assert stored.status == "succeeded" and stored.html is not None
        assert run["html_url"] == f"{location}/html"
        html = service.call("GET", run["html_url"], role="viewer")
        assert html.status_code == 200, html.text
        assert html.headers["content-type"].startswith("text/html")
        assert "API report: Bradbury Landing" in html.text
        assert mission.id in html.text
        assert html.text == stored.html.read_text(encoding="utf-8")
    # the runs' events name the caller, the run's own thread included (auth.require)
    for role, location in triggered.items():
        run_id = location.rsplit("/", 1)[1]
        recorded = [
            (e.type, e.actor)
            for e in read_events(0, "reports", db=service.url)
            if e.subject == run_id
        ]
        user = f"{role}-user"
        assert recorded == [("report_run.started", user), ("report_run.succeeded", user)]
    # the run list and its filters, against the library's list
    ids = sorted(int(loc.rsplit("/", 1)[1]) for loc in triggered.values())
    page = service.call("GET", f"{REPORTS}/runs", role="viewer").json()
    assert [r["id"] for r in page["items"]] == [
        r.id for r in reports.list_runs(limit=None, db=service.url)
    ]
    assert sorted(r["id"] for r in page["items"]) == ids
    assert (page["total"], page["limit"], page["offset"]) == (2, 100, 0)
    filtered = service.call(
        "GET",
        f"{REPORTS}/runs",
        role="viewer",
        params={"mission_id": mission.id, "status": "succeeded", "report": "mission-plan"},
    ).json()
    assert sorted(r["id"] for r in filtered["items"]) == ids
    for params in ({"mission_id": other.id}, {"status": "failed"}, {"report": "nothing"}):
        none = service.call("GET", f"{REPORTS}/runs", role="viewer", params=params).json()
        assert (none["items"], none["total"]) == ([], 0), params
    second = service.call("GET", f"{REPORTS}/runs", role="viewer", params={"limit": 1, "offset": 1})
    assert [r["id"] for r in second.json()["items"]] == [page["items"][1]["id"]]


def _check_list_reports(service: Service, role: str) -> None:
    response = service.call("GET", REPORTS, role=role)
    assert response.status_code == 200, response.text
    expected = reports.list_reports()
    items = response.json()["items"]
    assert (
        [r["name"] for r in items]
        == [r.name for r in expected]
        == [
            "mission-plan",
            "station-arrivals",
        ]
    )
    assert items[0]["required"] == list(expected[0].required) == ["mission_id"]
    assert items[0]["parameters"] == expected[0].parameters


def _check_reads(service: Service, role: str) -> None:
    mission = db.add_mission("Runs to read", lat=0.0, lon=0.0, db=service.url)
    run = reports.start_run("mission-plan", {"mission_id": mission.id}, db=service.url)
    listed = service.call("GET", f"{REPORTS}/runs", role=role)
    assert listed.status_code == 200, listed.text
    assert run.id in [r["id"] for r in listed.json()["items"]]
    one = service.call("GET", f"{REPORTS}/runs/{run.id}", role=role)
    assert one.status_code == 200, one.text
    assert (one.json()["id"], one.json()["status"]) == (run.id, "running")
    html = service.call("GET", f"{REPORTS}/runs/{run.id}/html", role=role)
    assert html.status_code == 404, html.text  # never executed: no HTML
    schedule = reports.add_schedule(
        f"read by {role}", "mission-plan", "0 6 * * *", {"mission_id": mission.id}, db=service.url
    )
    schedules = service.call("GET", f"{REPORTS}/schedules", role=role)
    assert schedules.status_code == 200, schedules.text
    assert schedule.id in [s["id"] for s in schedules.json()["items"]]
    got = service.call("GET", f"{REPORTS}/schedules/{schedule.id}", role=role)
    assert got.status_code == 200, got.text
    assert got.json()["cron"] == "0 6 * * *"
    assert got.json()["next_run_at"] == schedule.next_run_at.isoformat().replace("+00:00", "Z")


def _check_schedules(service: Service, role: str) -> None:
    mission = db.add_mission("Scheduled", lat=-4.5895, lon=137.4417, db=service.url)
    body = {
        "name": f"gale daily ({role})",
        "report": "mission-plan",
        "cron": "0  6 * * *",
        "parameters": {"mission_id": mission.id},
    }
    response = service.call("POST", f"{REPORTS}/schedules", role=role, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    stored = reports.get_schedule(created["id"], db=service.url)
    assert response.headers["location"] == f"{REPORTS}/schedules/{stored.id}"
    assert (stored.name, stored.cron, stored.parameters, stored.enabled) == (
        f"gale daily ({role})",
        "0 6 * * *",
        {"mission_id": mission.id},
        True,
    )
    assert (stored.next_run_at.hour, stored.next_run_at.minute) == (6, 0)
    again = service.call("POST", f"{REPORTS}/schedules", role=role, json=body)
    assert again.status_code == 422, again.text  # the name is taken
    deleted = service.call("DELETE", f"{REPORTS}/schedules/{stored.id}", role=role)
    assert deleted.status_code == 204, deleted.text
    assert stored.id not in [s.id for s in reports.list_schedules(db=service.url)]
    gone = service.call("DELETE", f"{REPORTS}/schedules/{stored.id}", role=role)
    assert gone.status_code == 404, gone.text


def _attempt(service: Service, route: str, role: str) -> int:
    mission = db.add_mission("Refused", lat=-4.5895, lon=137.4417, db=service.url)
    schedule = reports.add_schedule(
        f"keep {route} {role}", "mission-plan", "@daily", {"mission_id": mission.id}, db=service.url
    )
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "trigger": (
            "POST",
            f"{REPORTS}/runs",
            {"json": {"report": "mission-plan", "mission_id": mission.id}},
        ),
        "add-schedule": (
            "POST",
            f"{REPORTS}/schedules",
            {"json": {"name": "x", "report": "mission-plan", "cron": "@daily"}},
        ),
        "delete-schedule": ("DELETE", f"{REPORTS}/schedules/{schedule.id}", {}),
    }
    method, path, kwargs = requests[route]
    before = _snapshot(service.url)
    response = service.call(method, path, role=role, **kwargs)
    assert _snapshot(service.url) == before
    if response.status_code == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert role in response.json()["detail"]
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_report_route_for_every_role(service: Service, role: str) -> None:
    # reading: every role
    assert role in READERS
    _check_list_reports(service, role)
    _check_reads(service, role)
    # changing schedules: admin and operator (triggering runs: see the end-to-end test)
    if role in RUNNERS:
        _check_schedules(service, role)
    else:
        for route in ("trigger", "add-schedule", "delete-schedule"):
            assert _attempt(service, route, role) == 403, (route, role)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"report": "../../etc/passwd.ipynb", "parameters": {}}, 422, "is a path"),
        ({"report": "no-such-report"}, 404, "no report named 'no-such-report'"),
        ({"report": "mission-plan"}, 422, "needs parameter(s) 'mission_id'"),
        (
            {"report": "mission-plan", "mission_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
            404,
            "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        ),
        ({"report": "mission-plan", "parameters": {"mission_id": "x", "nope": 1}}, 422, "nope"),
    ],
)
def test_a_refused_trigger_records_nothing(
    service: Service, body: dict[str, Any], status: int, words: str
) -> None:
    before = _snapshot(service.url)
    response = service.call("POST", f"{REPORTS}/runs", role="operator", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert _snapshot(service.url) == before


def test_unknown_runs_and_schedules_are_404(service: Service) -> None:
    for path in ("runs/999", "runs/999/html", "schedules/999"):
        response = service.call("GET", f"{REPORTS}/{path}", role="viewer")
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
