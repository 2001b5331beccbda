"""`marsgis sites` and `marsgis traverse`, run as a user would (subprocesses of the installed CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from pyproj import Geod

import marsgis
from marsgis.crs import MARS_RADIUS_M
from marsgis.planning import eligibility_map, eligible_area

CLI = [str(Path(sys.executable).parent / "marsgis")]
GEOD = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False, env=env)


def test_sites_check_json() -> None:
    out = run(
        "sites",
        "check",
        "--preset",
        "mer-a",
        "--lat",
        "-4.5895",
        "--lon",
        "137.4417",
        "--dem",
        "gale-mola",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    by_key = {c["constraint"]: c for c in doc["checks"]}
    assert by_key["elevation"]["value"] == pytest.approx(-4503.0)
    assert by_key["elevation"]["status"] == "pass"
    assert by_key["elevation"]["limit"] == "≤ -1300 m"
    assert by_key["slope_100m"]["status"] == "not evaluated"
    assert "not evaluated at this resolution" in by_key["slope_100m"]["note"]
    assert by_key["slope_1000m"]["status"] in {"pass", "fail"}
    assert doc["complete"] is False
    text = run("sites", "check", "--preset", "msl", "--lat", "-4.5895", "--lon", "137.4417")
    assert "verdict: eligible on the 2 evaluated constraint(s)" in text.stdout


def test_sites_map_writes_the_map_and_its_area(tmp_path: Path) -> None:
    out_tif = tmp_path / "mer-b.tif"
    out = run("sites", "map", "--preset", "mer-b", "--dem", "mola", "-o", str(out_tif), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    with rasterio.open(out_tif) as ds:
        assert ds.count == 3
        band = ds.read(1)
        assert ds.crs.to_wkt().find("Mars") >= 0
    lat = 90.0 - (np.arange(720) + 0.5) / 4.0
    w = np.cos(np.radians(lat))[:, None]
    assert doc["eligible_fraction"] == pytest.approx(
        float((band * w).sum() / (w.sum() * 1440)), rel=1e-12
    )
    assert doc["eligible_km2"] == pytest.approx(
        eligible_area(eligibility_map(marsgis.open_dem("mola"), "mer-b"))["eligible_km2"]
    )
    assert doc["bands"] == ["eligible", "latitude", "elevation"]
    assert set(doc["not_evaluated"]) == {"slope_1000m", "slope_100m", "slope_10m", "rocks"}


def test_sites_search_json(tmp_path: Path) -> None:
    out = run(
        "sites", "search", "--preset", "msl", "--bbox", "136.5,-6,138.5,-4", "--target", "Aeolis Mons",
        "--top", "3", "-o", str(tmp_path / "sites.geojson"), "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["dem"] == "gale-mola"
    assert [s["rank"] for s in doc["sites"]] == [1, 2, 3]
    scores = [s["score"] for s in doc["sites"]]
    assert scores == sorted(scores, reverse=True)
    back = marsgis.open_features(tmp_path / "sites.geojson", crs="IAU_2015:49900")
    assert len(back) == 3


def test_traverse_writes_geojson_and_totals(tmp_path: Path) -> None:
    route = tmp_path / "route.geojson"
    out = run(
        "traverse", "--dem", "gale-mola", "--from", "-4.5895,137.4417", "--to", "-4.8214,137.3858",
        "--via", "-4.70,137.40", "--max-slope", "25", "-o", str(route), "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    back = marsgis.open_features(route, crs="IAU_2015:49900")
    lengths = [GEOD.line_length(*np.asarray(g.coords.xy)) for g in back.geometry]
    assert doc["length_m"] == pytest.approx(sum(lengths), rel=1e-9)
    assert doc["max_slope_deg"] <= 25
    assert doc["drive_time_h"] == pytest.approx(doc["length_m"] / 144.0)
    assert len(doc["legs"]) == 2


def test_errors_exit_2_without_traceback() -> None:
    out = run(
        "traverse",
        "--dem",
        "gale-mola",
        "--from",
        "-4.5895,137.4417",
        "--to",
        "-5.37,137.86",
        "--max-slope",
        "5",
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: the goal")
    assert "steeper than the limit" in out.stderr
    assert "Traceback" not in out.stderr
    bad = run("sites", "check", "--preset", "viking", "--lat", "0", "--lon", "0")
    assert bad.returncode == 2 and "unknown constraint preset 'viking'" in bad.stderr
    box = run("sites", "search", "--preset", "msl", "--bbox", "1,2,3")
    assert box.returncode == 2 and "W,S,E,N" in box.stderr


def test_mission_plan_command_stores_the_plan(tmp_path: Path) -> None:
    from marsgis.cli.sites import mission_plan

    env = {**os.environ, "MARSGIS_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(
        mission_plan,
        ["--name", "Gale", "--lat", "-4.5895", "--lon", "137.4417", "--preset", "msl", "--date", "2012-08-06",
         "--waypoint", "-4.8214,137.3858", "--json"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["status"] == "planned"
    assert len(doc["artefact_ids"]) == 2
    from marsgis.db import get_mission

    stored = get_mission(doc["mission_id"], db=f"sqlite:///{tmp_path / 'marsgis.sqlite'}")
    assert stored.risk_assessment["level"] == doc["risk"]["level"]


def test_mission_plan_on_coarse_mola_shows_the_cell_count_and_the_warning() -> None:
    from marsgis.cli.sites import mission_plan

    result = CliRunner().invoke(
        mission_plan,
        ["--name", "Gale", "--lat", "-4.5895", "--lon", "137.4417", "--preset", "msl",
         "--dem", "mola", "--no-save", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ellipse = json.loads(result.stdout)["ellipse"]
    assert ellipse["n_cells"] == 2  # 4 px/deg cell centres inside the 25 × 20 km ellipse
    assert ellipse["few_cells"] is True
    assert ellipse["warnings"][0].startswith("statistics from 2 DEM cell(s)")
