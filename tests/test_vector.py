"""Vector datasets: gazetteer, craters, rover traverses and stops, checked against published values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

import marsgis
from marsgis.crs import MARS_RADIUS_M, crs_code
from marsgis.data import DATA_DIR
from marsgis.exceptions import BodyMismatchError, DataNotFoundError

GEOD = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)


@pytest.mark.parametrize(
    ("name", "lat", "lon", "diameter"),
    [
        ("Jezero", 18.41, 77.69, 47.52),
        ("Gale", -5.37, 137.81, 154.08),
        ("Olympus Mons", 18.65, -133.8, 610.13),  # 226.2 °E in the IAU file; returned −180–180
        ("hellas planitia", -42.43, 70.5, 2299.16),
    ],
)
def test_gazetteer_published_values(name: str, lat: float, lon: float, diameter: float) -> None:
    f = marsgis.gazetteer(name)
    assert (f.lat, f.lon, f.diameter_km) == (lat, lon, diameter)
    assert f.centre == (lat, lon)


def test_gazetteer_unknown_suggests() -> None:
    with pytest.raises(DataNotFoundError, match=r"did you mean \['Jezero'"):
        marsgis.gazetteer("Jezer")


def test_gazetteer_frame() -> None:
    gdf = marsgis.gazetteer()
    assert len(gdf) == 1838 and crs_code(gdf.crs) == "IAU_2015:49900"
    assert (gdf["approval_status"] == "Approved").sum() == 1792


def test_craters() -> None:
    gdf = marsgis.open_features("craters")
    assert len(gdf) == 1000 and float(gdf["diameter_km"].min()) >= 10.0
    assert gdf.geometry.x.between(0, 360).all()


def test_m20_traverse_starts_at_octavia_e_butler() -> None:
    gdf = marsgis.open_features("m20-traverse")
    assert len(gdf) == 522 and crs_code(gdf.crs) == "IAU_2015:49900"
    sols = gdf["sol"].astype(int)
    first = gdf.geometry.iloc[int(np.argmin(sols))].coords[0]
    _, _, dist = GEOD.inv(first[0], first[1], 77.4508, 18.4447)
    assert dist < 50  # metres from the published landing site


def test_msl_stops_invert_the_local_frame() -> None:
    stops = marsgis.open_features("msl-stops")
    doc = json.loads((DATA_DIR / "gale-mola-128ppd-window" / "msl-traverse.json").read_text())
    assert len(stops) == doc["count"] == 1371
    # the local frame is metres east/south of Bradbury Landing on a 128 px/deg grid
    last = stops.iloc[-1]
    _, _, d = GEOD.inv(137.4417, -4.5895, last["lon"], last["lat"])
    assert d == pytest.approx(np.hypot(last["x"], last["z"]), rel=0.01)
    assert last["sol"] == 4977 and last["odometry_m"] == pytest.approx(37986.5)


def test_msl_waypoints_flag_known_defects() -> None:
    wp = marsgis.open_features("msl-waypoints")
    assert len(wp) == 548 and int((~wp["valid"]).sum()) == 5
    first = wp.geometry.iloc[0]
    assert (round(first.x, 6), round(first.y, 6)) == (137.441633, -4.589467)


def test_user_geojson_needs_a_mars_crs(tmp_path: Path) -> None:
    src = DATA_DIR / "rover-traverses-mmgis" / "MSL_waypoints.json"
    (tmp_path / "wp.geojson").write_text(src.read_text())
    with pytest.raises(BodyMismatchError, match="not a Mars CRS"):
        marsgis.open_features(tmp_path / "wp.geojson")
    gdf = marsgis.open_features(tmp_path / "wp.geojson", crs="IAU_2015:49900")
    assert crs_code(gdf.crs) == "IAU_2015:49900"
    assert gdf.geometry.iloc[0].x == pytest.approx(137.3817063)
