"""`marsgis demo` (what `make demo` runs): plan at Gale, run the mission-plan report, print its HTML;
build the demo station and run its arrivals report, print that HTML too."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import marsgis
from marsgis import planning
from marsgis.cli.demo import DEMO_MISSION, plan_demo_mission
from marsgis.db import get_engine
from marsgis.station.seed import generate_station

CLI = [str(Path(sys.executable).parent / "marsgis")]


@pytest.mark.slow  # ~40 s: the whole `make demo` (make test-slow)
def test_demo_runs_the_mission_plan_report(tmp_path: Path) -> None:
    out = subprocess.run(
        [*CLI, "demo", "--out", str(tmp_path / "demo"), "--json"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["database_url_setting"] == "default"  # the embedded SpatiaLite store
    assert summary["database"].startswith("sqlite:///") and "user-data" in summary["database"]
    assert len(summary["terrain_products"]) == 10
    run = summary["report_run"]
    assert run["status"] == "succeeded", run["error"]
    html_path = Path(summary["report_html"])
    assert html_path.is_file() and html_path.suffix == ".html"
    assert html_path.is_relative_to(tmp_path / "demo" / "reports" / "mission-plan")
    html = html_path.read_text(encoding="utf-8")
    assert DEMO_MISSION in html

    # the plan the demo stored, made again here: the report shows its risk at landing
    stops = marsgis.open_features("msl-stops")
    stop = stops.iloc[int((stops["sol"] - 746).abs().argmin())]
    plan = planning.plan_mission(
        DEMO_MISSION, lat=-4.5895, lon=137.4417, dem=marsgis.open_dem("gale-mola"),
        constraints="msl", when="2012-08-06T05:17:57Z", waypoints=[(stop.lat, stop.lon)],
    )  # fmt: skip
    assert plan.risk is not None
    assert summary["demo_mission"]["risk_assessment"]["score"] == plan.risk.score
    assert f"<td>{plan.risk.score:.4f}</td>" in html
    assert plan.traverse is not None
    assert f"{plan.traverse.attrs['length_m']:.2f}" in html  # the leg length, 2 decimals

    # text mode ends with the HTML path; a second demo reuses the stored mission
    assert plan_demo_mission().mission.id == summary["demo_mission"]["id"]

    # the demo station: the seeded generator's plan, stored in the same database
    station = summary["station"]
    assert station["reused"] is False
    assert station["plan_sha256"] == generate_station(seed=2031, passengers=3000).digest
    arrivals = summary["arrivals_run"]
    assert arrivals["status"] == "succeeded", arrivals["error"]
    arrivals_html = Path(summary["arrivals_html"])
    assert arrivals_html.is_file()
    assert arrivals_html.is_relative_to(tmp_path / "demo" / "reports" / "station-arrivals")
    # its figures, counted with SQL in the demo's database: the day of the latest arrivals
    with get_engine(summary["database"]).connect() as conn:
        rows = conn.execute(sa.text("SELECT outcome, arrival_at FROM station_entry_events")).all()
        colonies = conn.execute(
            sa.text("SELECT name, capacity, population FROM station_colonies ORDER BY id")
        ).all()
    arrived = [(o, datetime.fromisoformat(str(at)).replace(tzinfo=UTC)) for o, at in rows]
    day = max(at for _, at in arrived).date()
    outcomes = Counter(o for o, at in arrived if at.date() == day)
    assert outcomes["admitted"] > 0
    assert sum(o == "admitted" for o, _ in arrived) == station["admitted"]
    assert arrivals["parameters"] == {"day": day.isoformat()}
    doc = json.loads((arrivals_html.parent / "arrivals.json").read_text(encoding="utf-8"))
    assert doc["totals"]["admitted"] == outcomes["admitted"]
    assert doc["totals"]["refused"] == outcomes["refused"]
    assert [(r["colony"], r["capacity"], r["population"]) for r in doc["occupancy"]] == [
        tuple(c) for c in colonies
    ]
    page = arrivals_html.read_text(encoding="utf-8")
    assert f"{day.isoformat()} (UTC)" in page
    assert f"{outcomes['admitted']} admitted, {outcomes['refused']} refused" in page
    for name, capacity, population in colonies:
        assert all(f"<td>{v}</td>" in page for v in (name, capacity, population))

    # text mode: the arrivals report's path on the line before the mission report's
    again = subprocess.run(
        [*CLI, "demo", "--out", str(tmp_path / "demo2")],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    *_, before_last, last = again.stdout.strip().splitlines()
    assert before_last.startswith("Arrivals report HTML: ")
    assert Path(before_last.removeprefix("Arrivals report HTML: ")).is_file()
    assert last.startswith("Report HTML: ")
    assert "Demo station (seed 2031, reused)" in again.stdout
