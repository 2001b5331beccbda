"""The map toolkit (marsgis.viz.controls): scale on the Mars sphere, graticule, fit-to-content."""

from __future__ import annotations

from typing import Any

import ipyleaflet
import numpy as np
import pytest
from pyproj import Geod

from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import ValidationError
from marsgis.viz import mars_map
from marsgis.viz.colors import ELEVATION_RAMP
from marsgis.viz.controls import (
    fit_to,
    graticule_lines,
    graticule_spacing,
    nice_length,
    scale_bar,
    typed_slider,
    view_bounds,
)
from marsgis.viz.maps import STATUS_COLORS
from marsgis.viz.tiling import resolution_deg

MARS = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)


@pytest.mark.parametrize(("zoom", "lat"), [(3, 0.0), (8, -4.6), (12, 60.0), (16, -85.0)])
def test_scale_bar_measures_on_the_mars_sphere(zoom: int, lat: float) -> None:
    metres, pixels, label = scale_bar(zoom, lat)
    # pyproj's geodesic on the Mars sphere along the parallel, densified (the bar is short)
    lons = np.linspace(0.0, pixels * resolution_deg(zoom), 200)
    along = MARS.line_length(lons, np.full_like(lons, lat))
    assert along == pytest.approx(metres, rel=1e-4)
    assert pixels <= 120.0 and metres in {m * 10.0**k for m in (1, 2, 5) for k in range(-2, 8)}
    assert label == (f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m")
    # an Earth-radius scale (Leaflet's) would be 1.876× off: this one is not
    assert metres / pixels == pytest.approx(
        np.radians(resolution_deg(zoom)) * MARS_RADIUS_M * np.cos(np.radians(lat)), rel=1e-12
    )


def test_nice_length_picks_the_longest_round_length() -> None:
    assert [nice_length(v) for v in (1.0, 1.9, 2.0, 4.99, 5.0, 9.99, 12_345.0, 0.07)] == [
        1.0, 1.0, 2.0, 2.0, 5.0, 5.0, 10_000.0, 0.05,
    ]  # fmt: skip
    with pytest.raises(ValidationError, match="positive"):
        nice_length(0.0)


def test_graticule_lines_every_step_inside_the_bounds() -> None:
    spacing = graticule_spacing(6)
    assert spacing / resolution_deg(6) >= 80 and spacing in (1.0, 0.5)
    data = graticule_lines((136.3, -5.9, 138.6, -3.2), 0.5)
    lines = data["features"]
    meridians = [
        f for f in lines if f["geometry"]["coordinates"][0][0] == f["geometry"]["coordinates"][1][0]
    ]
    parallels = [f for f in lines if f not in meridians]
    assert [f["geometry"]["coordinates"][0][0] for f in meridians] == list(
        np.arange(136.5, 138.6, 0.5)
    )
    assert [f["geometry"]["coordinates"][0][1] for f in parallels] == list(
        np.arange(-5.5, -3.1, 0.5)
    )
    assert meridians[0]["properties"]["label"] == "136.5°E"
    assert parallels[0]["properties"]["label"] == "5.5°S"
    with pytest.raises(ValidationError):
        graticule_lines((10, 0, 5, 1), 1.0)


def test_fit_to_shows_the_whole_route_at_the_largest_zoom(gale_landing_plan: Any) -> None:
    route = gale_landing_plan.traverse
    pts = [c for g in route.geometry for c in g.coords]
    m = mars_map(center=(0.0, 0.0), zoom=1, height="480px")
    zoom = fit_to(m, pts)
    west, south, east, north = view_bounds(m.center, m.zoom, (900, 480))
    lons = [(p[0] + 180.0) % 360.0 - 180.0 for p in pts]
    lats = [p[1] for p in pts]
    assert west <= min(lons) and max(lons) <= east and south <= min(lats) and max(lats) <= north
    # one zoom further and it would not fit: the largest zoom that shows it all
    w1, s1, e1, n1 = view_bounds(m.center, zoom + 1, (900 - 48, 480 - 48))
    assert not (w1 <= min(lons) and max(lons) <= e1 and s1 <= min(lats) and max(lats) <= n1)
    with pytest.raises(ValidationError, match="nothing to fit"):
        fit_to(m, [])
    # three missions around the planet: zoom 1 (not 0, which leaves most of the map empty)
    spread = [(137.4, -4.6), (77.45, 18.44), (226.2, 18.65)]
    assert fit_to(m, spread) == 1 and m.center == [pytest.approx(7.025), pytest.approx(1.8)]
    # the browser's size, once it told us, wins over the layout's
    m.set_trait("pixel_bounds", ((0.0, 0.0), (400.0, 300.0)))  # as the front end does
    assert fit_to(m, pts) < zoom


def test_every_map_has_the_toolkit() -> None:
    m = mars_map(center=(-4.6, 137.4), zoom=6, legends=("relief", "status"))
    kit = m.marsgis_toolkit
    controls = {type(c).__name__ for c in m.controls}
    assert "LayersControl" in controls
    assert kit["status_legend"].marsgis_entries == STATUS_COLORS
    for label, colour in STATUS_COLORS.items():
        assert f"background:{colour}" in kit["status_legend"].widget.value
        assert f"<td>{label}</td>" in kit["status_legend"].widget.value
    relief = kit["relief_legend"].marsgis_entries
    assert relief["+21.3 km"] == "#{:02x}{:02x}{:02x}".format(*ELEVATION_RAMP[-1][1])
    # the scale bar follows the zoom
    label = kit["scale"].text
    m.zoom = 9
    assert kit["scale"].text != label
    assert kit["scale"].text == scale_bar(9, -4.6)[2]
    # the graticule follows the zoom too, and is a layer the layers control can switch
    assert kit["graticule"].spacing == graticule_spacing(9)
    assert kit["graticule"].layer in m.layers
    # DEM coverage: the Gale DEMs' outlines, not the global MOLA
    names = {f["properties"]["name"] for f in kit["coverage"].data["features"]}
    assert "gale-mola" in names and "mola" not in names
    # cursor coordinates
    kit["cursor"].show(-4.5895, 137.4417)
    assert "-4.5895°, 137.4417°E" in kit["cursor"].html.value
    # an overlay with an opacity gets a slider that drives it
    overlay = ipyleaflet.ImageOverlay(url="data:,", bounds=((-5, 137), (-4, 138)), name="hazard")
    m.add(overlay)
    m.add(ipyleaflet.CircleMarker(location=(-4.6, 137.4), name="a marker"))
    assert list(kit["opacity"].sliders) == ["hazard"]  # rasters only, not vector layers
    slider = kit["opacity"].sliders["hazard"]
    slider.value = 0.25
    assert overlay.opacity == 0.25


def test_typed_slider_links_both_ways() -> None:
    import ipywidgets as w

    slider = w.FloatSlider(min=-8000, max=21000, step=50, value=0)
    box = typed_slider(slider)
    box.marsgis_text.value = -2550.0
    assert slider.value == -2550.0
    slider.value = 1200.0
    assert box.marsgis_text.value == 1200.0
    assert not slider.continuous_update


def test_explorer_saves_the_evaluated_ellipse(spatialite_url: str) -> None:
    from marsgis import db
    from marsgis.viz.dashboards import LandingExplorer

    target = db.add_mission("Gale landing", lat=-4.6, lon=137.4, db=spatialite_url)
    done = db.add_mission("Old", lat=0.0, lon=0.0, db=spatialite_url)
    db.set_status(done.id, "active", expected_version=1, db=spatialite_url)
    db.set_status(done.id, "aborted", expected_version=2, db=spatialite_url)
    explorer = LandingExplorer(preset="msl", db=spatialite_url)
    assert [v for _, v in explorer.mission.options] == [target.id]  # not the aborted one
    assert explorer.save.disabled and "Nothing to save" in explorer.save_note.value
    ev = explorer.evaluate_at(-4.6, 137.4)
    assert not explorer.save.disabled
    stored = explorer.save_to_mission(target.id)
    assert explorer.status.state == "ok"
    arts = db.list_artefacts(target.id, db=spatialite_url)
    assert [a.id for a in arts] == [stored.id] and arts[0].kind == "ellipse"
    assert arts[0].geometry.equals_exact(ev.ellipse.polygon(), 1e-9)
    assert db.get_mission(target.id, db=spatialite_url).version == 2
    # a changed constraint invalidates the ellipse on screen: nothing left to save
    explorer.elevation.value = -2000.0
    assert explorer.evaluation is None and explorer.save.disabled
    assert explorer.save_to_mission(target.id) is None
    assert explorer.status.state == "error"
    assert len(db.list_artefacts(target.id, db=spatialite_url)) == 1
    # the elevation slider takes a typed value exactly
    explorer.elevation_box.marsgis_text.value = -2345.0
    assert explorer.current_constraints().max_elevation_m == -2345.0
