"""Mars season (Allison & McEwen 2000) against published values; solar power; combined risk."""

from __future__ import annotations

import math

import numpy as np
import pytest

import marsgis
from marsgis.exceptions import ValidationError
from marsgis.planning import (
    LandingEllipse,
    assess_risk,
    dust_storm_season,
    evaluate_ellipse,
    mars_time,
    plan_traverse,
    solar_longitude,
    solar_resource,
)
from marsgis.planning.risk import SOL_SECONDS


def test_mars24_worked_example() -> None:
    """Allison & McEwen (2000) / Mars24 example: 2000 January 6, 00:00:00 UTC."""
    t = mars_time("2000-01-06T00:00:00Z")
    assert t.ls == pytest.approx(277.18758, abs=2e-5)
    assert t.msd == pytest.approx(44795.99976, abs=2e-5)
    assert t.heliocentric_au == pytest.approx(1.39358, abs=2e-5)
    assert t.mars_year == 24


def test_curiosity_landing() -> None:
    """MSL touchdown 2012-08-06 05:17:57 UTC: Ls 150.7°, Mars year 31."""
    t = mars_time("2012-08-06T05:17:57Z")
    assert t.ls == pytest.approx(150.7, abs=0.05)
    assert t.mars_year == 31


def test_perseverance_landing() -> None:
    """Mars 2020 landed on 2021-02-18 (Ls ≈ 5.2° at 0 h UTC that day), early Mars year 36."""
    assert solar_longitude("2021-02-18") == pytest.approx(5.2, abs=0.1)
    landing = mars_time("2021-02-18T20:55:00Z")
    assert 5.2 < landing.ls < 5.8  # Ls advances ~0.5° per day near Ls 0
    assert landing.mars_year == 36
    assert mars_time("2021-02-07").mars_year == 35  # MY 36 begins on 2021-02-08


def test_dates_and_errors() -> None:
    from datetime import date, datetime

    assert mars_time(date(2012, 8, 6)).ls == pytest.approx(mars_time("2012-08-06T00:00:00").ls)
    assert mars_time(datetime(2012, 8, 6)).utc.tzinfo is not None
    with pytest.raises(ValidationError, match="not ISO 8601"):
        mars_time("6 Aug 2012")
    assert dust_storm_season(270.0) and not dust_storm_season(90.0) and dust_storm_season(180.0)


def test_insolation_equals_numerical_integration() -> None:
    """Daily mean TOA insolation = average over the sol of S·max(0, cos zenith)."""
    for lat, ls in [(-4.6, 150.7), (45.0, 90.0), (-60.0, 251.0), (80.0, 90.0)]:
        res = solar_resource(lat, ls, tau=0.0)
        h = np.linspace(-np.pi, np.pi, 200_001)
        phi, d = math.radians(lat), math.radians(res.declination_deg)
        cosz = np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(h)
        s = 1361.0 / res.heliocentric_au**2
        expected = float(np.mean(s * np.clip(cosz, 0.0, None)))
        assert res.toa_w_m2 == pytest.approx(expected, rel=1e-4)
        assert res.daylight_h == pytest.approx((cosz > 0).mean() * SOL_SECONDS / 3600, abs=0.01)
    assert solar_resource(80.0, 270.0).toa_w_m2 == 0.0  # polar night
    assert solar_resource(0.0, 0.0).daylight_h == pytest.approx(SOL_SECONDS / 7200, rel=1e-2)
    assert SOL_SECONDS == pytest.approx(88775.244)


def test_risk_components_and_weights() -> None:
    gale = marsgis.open_dem("gale-mola")
    route = plan_traverse(gale, (-4.5895, 137.4417), (-4.82143, 137.385815))
    aphelion = assess_risk(lat=-4.6, lon=137.4, when="2012-08-06", traverse=route)
    perihelion = assess_risk(lat=-4.6, lon=137.4, when="2013-06-01", traverse=route)
    assert aphelion.details["ls_deg"] < 180 <= perihelion.details["ls_deg"]
    assert perihelion.components["season"] > aphelion.components["season"]
    for r in (aphelion, perihelion):
        assert all(0.0 <= v <= 1.0 for v in r.components.values())
        expected = (
            0.5 * r.components["terrain"]
            + 0.25 * r.components["season"]
            + 0.25 * r.components["resources"]
        )
        assert r.score == pytest.approx(expected)
        assert r.level in {"low", "medium", "high"}
    limit = route.attrs["max_slope_limit_deg"]
    assert aphelion.components["terrain"] == pytest.approx(
        0.5 * route.attrs["max_slope_deg"] / limit
        + 0.5 * float((route.mean_slope_deg * route.length_m).sum() / route.length_m.sum()) / limit
    )
    ev = evaluate_ellipse(LandingEllipse.from_constraints("msl", -4.5895, 137.4417), gale, "msl")
    on_ellipse = assess_risk(
        lat=-4.59, lon=137.44, when="2012-08-06", ellipse=ev, weights={"terrain": 1}
    )
    assert on_ellipse.score == pytest.approx(on_ellipse.components["terrain"])
    assert on_ellipse.to_dict()["details"]["terrain_source"] == "ellipse"
    with pytest.raises(ValidationError, match="unknown risk weight"):
        assess_risk(lat=0, lon=0, when="2012-08-06", weights={"luck": 1})


def test_risk_components_without_input_are_not_evaluated() -> None:
    risk = assess_risk(lat=-4.6, lon=137.4, when="2012-08-06")
    assert risk.not_evaluated == {"terrain": "no traverse or ellipse evaluation given"}
    assert set(risk.components) == {"season", "resources"}
    assert risk.weights == {"terrain": 0.0, "season": 0.25, "resources": 0.25}
    assert risk.details["weights_given"] == {"terrain": 0.5, "season": 0.25, "resources": 0.25}
    # the score is the mean of the evaluated components, their weights renormalised (½, ½)
    season, resources = risk.components["season"], risk.components["resources"]
    assert risk.score == pytest.approx((season + resources) / 2)
    # the same season and resources as an assessment with terrain, where terrain is evaluated
    gale = marsgis.open_dem("gale-mola")
    route = plan_traverse(gale, (-4.5895, 137.4417), (-4.82143, 137.385815))
    with_terrain = assess_risk(lat=-4.6, lon=137.4, when="2012-08-06", traverse=route)
    assert with_terrain.not_evaluated == {}
    assert with_terrain.components["season"] == season
    assert with_terrain.components["resources"] == resources
    stored = risk.to_dict()
    assert stored["not_evaluated"] == {"terrain": "no traverse or ellipse evaluation given"}
    assert "terrain" not in stored["components"]
    # custom weights are renormalised over what was evaluated
    tilted = assess_risk(
        lat=-4.6, lon=137.4, when="2012-08-06", weights={"terrain": 2, "season": 1, "resources": 3}
    )
    assert tilted.score == pytest.approx((1 * season + 3 * resources) / 4)
    with pytest.raises(ValidationError, match=r"all the weight on components that are not"):
        assess_risk(lat=-4.6, lon=137.4, when="2012-08-06", weights={"terrain": 1})
