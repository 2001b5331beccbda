"""`marsgis demo` (what `make demo` runs): plan at Gale, run the mission-plan report, print its HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import marsgis
from marsgis import planning
from marsgis.cli.demo import DEMO_MISSION, plan_demo_mission

CLI = [str(Path(sys.executable).parent / "marsgis")]


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
