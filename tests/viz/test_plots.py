"""marsgis.viz.plots: the figures draw the planning results themselves, on the right grid."""

from __future__ import annotations

import numpy as np
import pytest

import marsgis
from marsgis import planning, viz
from marsgis.exceptions import ValidationError
from marsgis.geo import great_circle_m

GALE = (-4.5895, 137.4417)
GOAL = (-4.8214, 137.3858)


@pytest.fixture(scope="module")
def gale() -> object:
    return marsgis.open_dem("gale-mola")


def test_route_figure_draws_the_route_and_its_profile(gale: object) -> None:
    route = planning.plan_traverse(gale, GALE, GOAL, via=[(-4.7, 137.42)])
    fig = viz.route_figure(gale, route)
    map_ax, _colorbar, profile_ax = fig.axes
    drawn = [line for line in map_ax.get_lines() if line.get_label() == "route"]
    xy = np.asarray(route.geometry.iloc[0].coords)
    np.testing.assert_allclose(drawn[0].get_xydata(), xy)
    # the profile: vertex-to-vertex great circles of the whole route, elevations on the DEM
    coords = np.concatenate([np.asarray(g.coords) for g in route.geometry])
    km, z = profile_ax.get_lines()[0].get_data()
    lats, lons = coords[:, 1], coords[:, 0]
    total = float(np.sum(great_circle_m(lats[:-1], lons[:-1], lats[1:], lons[1:])))
    assert km[-1] * 1000 == pytest.approx(total, rel=1e-12)
    assert km[-1] * 1000 == pytest.approx(route.attrs["length_m"], rel=1e-6)
    assert z[0] == pytest.approx(float(marsgis.sample(gale, GALE[0], GALE[1])), abs=1e-6)
    assert z[-1] == pytest.approx(float(marsgis.sample(gale, GOAL[0], GOAL[1])), abs=1e-6)
    # the slope background is the terrain slope of the window, in degrees
    image = map_ax.get_images()[0].get_array()
    assert 0.0 <= float(np.nanmin(image)) and float(np.nanmax(image)) < 60.0


def test_sites_figure_outlines_every_ellipse(gale: object) -> None:
    sites = planning.search_landing_sites(gale, "msl", bbox=(137.0, -5.4, 138.4, -4.4), top=3)
    fig = viz.sites_figure(gale, sites, background="elevation")
    ax = fig.axes[0]
    rings = [line for line in ax.get_lines() if line.get_label().startswith("#")]
    assert [r.get_label().split()[0] for r in rings] == [f"#{k}" for k in sites["rank"]]
    for ring, polygon in zip(rings, sites.geometry, strict=True):
        np.testing.assert_allclose(ring.get_xydata(), np.asarray(polygon.exterior.coords))
    with pytest.raises(ValidationError, match="'contours'"):
        viz.sites_figure(gale, sites, background="contours")


def test_eligibility_figure_shows_the_eligible_cells() -> None:
    emap = planning.eligibility_map(marsgis.open_dem("mola"), "msl")
    fig = viz.eligibility_figure(emap)
    shown = np.asarray(fig.axes[0].get_images()[0].get_array())
    expected = emap["eligible"].values.astype(float)
    if emap["y"].values[0] < emap["y"].values[-1]:
        expected = expected[::-1]
    np.testing.assert_array_equal(shown, expected)
    assert "slope_2m" in fig.axes[0].get_title()  # not evaluated on the 4 px/deg grid
