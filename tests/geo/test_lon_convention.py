"""Every public function that returns a point gives its longitude in −180–180 °E.

A point given at 200 °E comes back at −160 °E (and one given at −160 °E stays there), whatever
the input convention (docs/conventions.md). Rasters keep their own grid coordinates.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import marsgis
from marsgis import geo, planning

EAST = 200.0  # 0–360 °E input
WEST = -160.0  # the same meridian, the returned convention (200 − 360)


@pytest.fixture(scope="module")
def mola():
    return marsgis.open_dem("mola")


def test_geo_lon180_and_destination() -> None:
    assert geo.lon180(EAST) == WEST
    assert geo.lon360(WEST) == EAST
    lat, lon = geo.destination(0.0, EAST, 90.0, 0.0)
    assert (lat, lon) == (0.0, WEST)
    # 1° of the equator eastwards from 200 °E: 201 °E = −159 °E
    _, lon1 = geo.destination(0.0, EAST, 90.0, np.radians(1.0) * marsgis.crs.MARS_RADIUS_M)
    assert lon1 == pytest.approx(-159.0, abs=1e-12)


@pytest.mark.parametrize("lon_in", [EAST, WEST])
def test_ellipse_centre_and_polygon(lon_in: float) -> None:
    ell = planning.LandingEllipse(10.0, lon_in, 60.0, 40.0, 90.0)
    assert ell.lon == WEST
    assert ell.to_dict()["lon"] == WEST
    x, _ = np.asarray(ell.polygon().exterior.xy)
    # 60 km at 10°N is 1.02° of longitude: the polygon lies around −160 °E
    assert x.min() == pytest.approx(
        WEST - np.degrees(60e3 / 3396190.0) / np.cos(np.radians(10)), abs=1e-3
    )
    assert x.max() < -158.9


def test_check_site(mola) -> None:
    a = planning.check_site(0.0, EAST, "msl", mola)
    b = planning.check_site(0.0, WEST, "msl", mola)
    assert a.lon == b.lon == WEST
    assert a.to_dict()["lon"] == WEST
    assert [c.value for c in a.checks] == [c.value for c in b.checks]


def test_evaluate_ellipse(mola) -> None:
    ell = planning.LandingEllipse(0.0, EAST, 60.0, 40.0, 90.0)
    ev = planning.evaluate_ellipse(ell, mola, "msl")
    assert ev.ellipse.lon == WEST
    assert ev.to_dict()["ellipse"]["lon"] == WEST


@pytest.mark.parametrize("bbox", [(199.0, -1.0, 201.0, 1.0), (-161.0, -1.0, -159.0, 1.0)])
def test_search_landing_sites(mola, bbox: tuple[float, float, float, float]) -> None:
    sites = planning.search_landing_sites(mola, "msl", bbox=bbox, ellipse_km=(120.0, 80.0), top=3)
    lon = sites["lon"].to_numpy()
    assert ((lon > -161.0) & (lon < -159.0)).all(), lon
    for (_, row), poly in zip(sites.iterrows(), sites.geometry, strict=True):
        assert poly.centroid.x == pytest.approx(row["lon"], abs=0.05)


def test_plan_traverse_legs_and_line(mola) -> None:
    route = planning.plan_traverse(mola, (0.0, 199.5), (0.5, 200.5))
    leg = route.iloc[0]
    assert (leg.from_lon, leg.to_lon) == (-160.5, -159.5)
    x, _ = np.asarray(leg.geometry.xy)
    assert x[0] == -160.5 and x[-1] == -159.5
    # through MOLA cell centres (0.25° apart) between them, none beyond the next cell
    assert ((x >= -160.5 - 0.25) & (x <= -159.5 + 0.25)).all()


def test_traverse_line_continuous_across_the_antimeridian(mola) -> None:
    route = planning.plan_traverse(mola, (0.0, 179.5), (0.0, 180.5))
    leg = route.iloc[0]
    assert (leg.from_lon, leg.to_lon) == (179.5, -179.5)
    x, _ = np.asarray(leg.geometry.xy)
    # the line runs 179.5 → 180.5 without a jump across the map
    assert np.abs(np.diff(x)).max() <= 0.25 + 1e-9
    assert x[-1] == pytest.approx(180.5, abs=1e-9)
    # a route, not a line around the planet: ≥ the great circle, well under twice it
    gc = geo.great_circle_m(0.0, 179.5, 0.0, 180.5)
    assert gc <= leg.length_m < 2.0 * gc


def test_assess_risk_and_targets() -> None:
    risk = planning.assess_risk(lat=0.0, lon=EAST, when="2012-08-06T05:17:57Z")
    assert risk.details["lon"] == WEST
    tg = planning.make_targets([("t", 0.0, EAST), {"name": "u", "lat": 1.0, "lon": EAST}])
    assert list(tg.geometry.x) == [WEST, WEST]


def test_gazetteer_feature() -> None:
    f = marsgis.gazetteer("Olympus Mons")
    assert f.lon == pytest.approx(226.2 - 360.0, abs=0)  # 226.2 °E in the IAU file


def test_cli_sites_check_and_traverse_json() -> None:
    from marsgis.cli.sites import check_cmd
    from marsgis.cli.traverse import command as traverse_cmd

    out = CliRunner().invoke(
        check_cmd, ["--preset", "msl", "--lat", "0", "--lon", "200", "--dem", "mola", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["lon"] == WEST
    out = CliRunner().invoke(
        traverse_cmd, ["--dem", "mola", "--from", "0,199.5", "--to", "0.5,200.5", "--json"]
    )
    assert out.exit_code == 0, out.output
    leg = json.loads(out.output)["legs"][0]
    assert (leg["from_lon"], leg["to_lon"]) == (-160.5, -159.5)


def test_rasters_keep_their_own_coordinates(mola) -> None:
    assert float(mola["x"].min()) > 0.0  # MOLA stays 0–360 °E: data, not a returned point
    _lat, lon = geo.lonlat_of_grid(mola.isel(y=slice(0, 2), x=slice(800, 802)))
    np.testing.assert_array_equal(lon[0], mola["x"].values[800:802])
