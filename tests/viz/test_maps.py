"""Maps, layers and tools, without a browser: what goes to Leaflet, and the values shown."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from pyproj import Geod

import marsgis
from marsgis import db, planning
from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import CoordinateError, ValidationError
from marsgis.viz import (
    MARS_MAP_CRS,
    STATUS_COLORS,
    add_missions,
    elevation_at,
    elevation_profile,
    ellipse_layer,
    mars_map,
    mask_overlay,
    route_profile,
    traverse_layer,
)

MARS_SPHERE = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)


def test_map_is_mars_degrees_on_the_local_basemap_only() -> None:
    m = mars_map(center=(-4.6, 222.5), zoom=5)
    assert m.crs == MARS_MAP_CRS
    assert m.center == [-4.6, -137.5]  # 222.5 °E on a map running -180…180
    (base,) = [layer for layer in m.layers if layer.base]
    assert base.url.startswith("http://127.0.0.1:")
    for layer in m.layers:  # no Earth tile server anywhere, not even as a hidden default
        assert "openstreetmap" not in getattr(layer, "url", "")
    assert m.marsgis_readout is not None and m.marsgis_measure is not None
    with pytest.raises(ValidationError, match="zoom"):
        mars_map(zoom=40)
    with pytest.raises(CoordinateError):
        mars_map(center=(95, 0))


@pytest.mark.parametrize(
    ("lat", "lon", "dem"),
    [(-42.4, 70.5, "mola"), (-5.1, 137.8, "gale-mola"), (-4.6668, 137.3699, "gale-1m")],
)
def test_click_readout_is_marsgis_sample_of_the_finest_dem(
    lat: float, lon: float, dem: str
) -> None:
    m = mars_map()
    last = m.marsgis_readout.show(lat, lon)
    assert last["dem"] == dem
    assert last["elevation_m"] == marsgis.sample(marsgis.open_dem(dem), lat, lon)
    assert f"data-elevation='{last['elevation_m']!r}'" in m.marsgis_readout.html.value
    assert elevation_at(lat, lon) == (last["elevation_m"], dem)
    bad = m.marsgis_readout.show(91.0, 0.0)
    assert "outside [-90, 90]" in bad["error"]
    assert "marsgis-error" in m.marsgis_readout.html.value


def test_measure_tool_distance_and_profile_on_the_mars_sphere() -> None:
    m = mars_map()
    a, b = (-4.5895, 137.4417), (18.4447, 77.4508)  # Curiosity to Perseverance
    distance = m.marsgis_measure.measure(*a, *b)
    _, _, ref = MARS_SPHERE.inv(a[1], a[0], b[1], b[0])
    assert distance == pytest.approx(ref, rel=1e-9)
    profile = m.marsgis_measure.profile
    assert profile["distance_m"].iloc[-1] == pytest.approx(ref, rel=1e-9)
    # the profile's points lie on the great circle (pyproj's intermediate points)
    mids = MARS_SPHERE.npts(a[1], a[0], b[1], b[0], 198)
    np.testing.assert_allclose(profile["lat"].to_numpy()[1:-1], [p[1] for p in mids], atol=1e-7)
    np.testing.assert_allclose(profile["lon"].to_numpy()[1:-1], [p[0] for p in mids], atol=1e-7)
    (line,) = [layer for layer in m.layers if layer.name == "measure"]
    assert len(line.locations) == 200
    assert "km</b>" in m.marsgis_measure.text.value
    assert m.marsgis_measure.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_elevation_profile_values_are_samples_of_the_named_dem() -> None:
    profile = elevation_profile(-4.5, 137.2, -4.9, 137.6, n=50)
    assert len(profile) == 50 and set(profile["dem"]) <= {"gale-mola", "gale-1m"}
    for name, part in profile.groupby("dem"):
        ref = marsgis.sample(marsgis.open_dem(name), part["lat"].to_numpy(), part["lon"].to_numpy())
        np.testing.assert_allclose(part["elevation_m"], ref)
    assert np.all(np.diff(profile["distance_m"]) > 0)
    with pytest.raises(ValidationError, match="n ≥ 2"):
        elevation_profile(0, 0, 1, 1, n=1)


def test_route_profile_follows_the_planned_traverse() -> None:
    dem = marsgis.open_dem("gale-mola")
    route = planning.plan_traverse(dem, (-4.5895, 137.4417), (-4.82, 137.39))
    profile = route_profile(route, dem=dem)
    assert profile.attrs["length_m"] == pytest.approx(route.attrs["length_m"], rel=1e-9)
    coords = np.asarray(route.geometry.iloc[0].coords)
    np.testing.assert_allclose(profile["lat"], coords[:, 1])
    np.testing.assert_allclose(
        profile["elevation_m"], marsgis.sample(dem, coords[:, 1], coords[:, 0])
    )
    layer = traverse_layer(route)
    assert layer.layers[0].locations == [[lat, lon] for lon, lat in coords]


def test_eligibility_overlay_is_rotated_to_the_map_and_dims_what_fails() -> None:
    mola = marsgis.open_dem("mola")
    emap = planning.eligibility_map(mola, "msl")
    overlay = mask_overlay(emap["eligible"])
    assert overlay.bounds == [[-90.0, -180.0], [90.0, 180.0]]
    assert overlay.url.startswith("data:image/png;base64,")
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(overlay.url.split(",", 1)[1]))))
    assert img.shape == (720, 1440, 4)

    def pixel(lat: float, lon: float) -> np.ndarray:
        lon180 = ((lon + 180) % 360) - 180
        return img[int((90 - lat) / 0.25), int((lon180 + 180) / 0.25)]

    for lat, lon in [(-4.5895, 137.4417), (18.65, 226.2), (-42.4, 70.5), (60.0, 300.0)]:
        expected = bool(emap["eligible"].sel(y=lat, x=lon, method="nearest"))
        assert (pixel(lat, lon)[3] == 0) == expected, (lat, lon)
    assert pixel(-4.5895, 137.4417)[3] == 0  # Gale: eligible for MSL, left clear
    assert pixel(18.65, 226.2)[3] > 0  # Olympus Mons: far too high, dimmed


def test_ellipse_layer_is_the_planning_polygon() -> None:
    ellipse = planning.LandingEllipse.from_constraints("msl", -4.5895, 137.4417)
    layer = ellipse_layer(ellipse)
    coords = list(ellipse.polygon().exterior.coords)
    assert layer.locations == [[lat, lon] for lon, lat in coords]


def test_add_missions_colours_markers_by_status(spatialite_url: str) -> None:
    a = db.add_mission("Gale", lat=-4.5895, lon=137.4417, db=spatialite_url)
    b = db.add_mission("Olympus", lat=18.65, lon=226.2, db=spatialite_url)
    db.set_status(b.id, "active", expected_version=b.version, db=spatialite_url)
    m = mars_map(readout=False, measure=False)
    clicked = []
    group = add_missions(m, db=spatialite_url, on_click=clicked.append)
    markers = {mk.name: mk for mk in group.layers}
    assert markers[f"mission {a.id}"].fill_color == STATUS_COLORS["planned"]
    assert markers[f"mission {b.id}"].fill_color == STATUS_COLORS["active"]
    assert markers[f"mission {b.id}"].location == [18.65, 226.2 - 360]
    markers[f"mission {a.id}"]._handle_mouse_events(None, {"type": "click"}, None)
    assert [c.id for c in clicked] == [a.id]
    add_missions(m, [], name="missions")  # replaces, not stacks
    assert [layer.name for layer in m.layers].count("missions") == 1
