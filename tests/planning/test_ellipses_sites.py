"""Landing ellipses and the site search, checked against pyproj.Geod and direct counts."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

import marsgis
from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import CoordinateError, PlanningError, ValidationError
from marsgis.planning import (
    LandingEllipse,
    eligibility_map,
    evaluate_ellipse,
    make_targets,
    search_landing_sites,
)

GEOD = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)


@pytest.fixture(scope="module")
def gale() -> object:
    return marsgis.open_dem("gale-mola")


def _inside_by_geod(e: LandingEllipse, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Inside test written independently: Geod distance/azimuth, then the ellipse equation."""
    az, _, dist = GEOD.inv(np.full(lat.shape, e.lon), np.full(lat.shape, e.lat), lon, lat)
    theta = np.radians(np.asarray(az) - e.azimuth_deg)
    u = dist * np.cos(theta) / (e.semi_major_km * 1000)
    v = dist * np.sin(theta) / (e.semi_minor_km * 1000)
    return u**2 + v**2 <= 1.0


def test_from_constraints_takes_half_the_published_axes() -> None:
    e = LandingEllipse.from_constraints("mer-a", -14.57, 175.48, azimuth_deg=75)
    assert (e.semi_major_km, e.semi_minor_km, e.azimuth_deg) == (39.0, 5.0, 75.0)
    final = LandingEllipse.from_constraints("mars2020", 18.44, 77.45, final=True)
    assert (final.semi_major_km, final.semi_minor_km) == (3.85, 3.3)
    assert e.area_km2 == pytest.approx(np.pi * 39 * 5)
    with pytest.raises(ValidationError, match="major ≥ minor"):
        LandingEllipse(0, 0, 1, 2)


def test_contains_agrees_with_geod() -> None:
    e = LandingEllipse(-4.6, 137.4, 39.0, 5.0, 75.0)
    rng = np.random.default_rng(0)
    lat = rng.uniform(-5.4, -3.8, 4000)
    lon = rng.uniform(136.6, 138.2, 4000)
    mine = e.contains(lat, lon)
    ref = _inside_by_geod(e, lat, lon)
    assert mine.sum() > 100
    assert (mine == ref).mean() > 0.9995  # only points on the boundary may differ by rounding


def test_evaluation_equals_a_direct_area_weighted_count(gale) -> None:
    e = LandingEllipse.from_constraints("mer-a", -4.75, 137.45, azimuth_deg=75)
    ev = evaluate_ellipse(e, gale, "mer-a")
    emap = eligibility_map(gale, "mer-a")
    lon2, lat2 = np.meshgrid(gale["x"].values, gale["y"].values)
    inside = _inside_by_geod(e, lat2, lon2)
    w = np.cos(np.radians(lat2))[inside]
    assert ev.n_cells == int(inside.sum())
    for key in ("latitude", "elevation", "slope_1000m"):
        fail = ~emap[key].values[inside]
        assert ev.fail_fraction[key] == pytest.approx(
            (w * fail).sum() / w.sum(), rel=1e-9, abs=1e-12
        )
    any_fail = ~emap["eligible"].values[inside]
    assert ev.fail_any == pytest.approx((w * any_fail).sum() / w.sum(), rel=1e-9, abs=1e-12)
    elev = gale.values[inside]
    assert ev.stats["relief_m"] == pytest.approx(float(elev.max() - elev.min()))
    assert ev.cell_area_km2 == pytest.approx(e.area_km2, rel=0.02)
    assert set(ev.not_evaluated) == {"slope_100m", "slope_10m", "rocks"}


def test_science_value_inside_and_at_a_distance(gale) -> None:
    e = LandingEllipse(-4.6, 137.4, 12.5, 10.0, 90.0)
    # a point 22.5 km due east of the centre: 10 km beyond the 12.5 km semi-major axis
    lon_t, lat_t, _ = GEOD.fwd(137.4, -4.6, 90.0, 22_500.0)
    targets = [("centre", -4.6, 137.4, 1.0), ("east", lat_t, lon_t, 3.0)]
    ev = evaluate_ellipse(e, gale, "msl", targets=targets, reach_km=20.0)
    assert ev.science_parts["centre"] == 1.0
    assert ev.science_parts["east"] == pytest.approx(1 - 10.0 / 20.0, abs=2e-3)
    assert ev.science == pytest.approx((1.0 + 3.0 * ev.science_parts["east"]) / 4.0)
    poly = make_targets(
        [
            {
                "name": "box",
                "geometry": Polygon([(137.3, -4.7), (137.5, -4.7), (137.5, -4.5), (137.3, -4.5)]),
            }
        ]
    )
    assert evaluate_ellipse(e, gale, "msl", targets=poly).science == 1.0
    named = make_targets(["Aeolis Mons"])
    assert named["name"].tolist() == ["Aeolis Mons"]
    assert isinstance(named.geometry.iloc[0], Point)


def test_ellipse_off_the_dem_is_an_error(gale) -> None:
    with pytest.raises(CoordinateError, match="reaches beyond DEM"):
        evaluate_ellipse(LandingEllipse(-2.0, 137.4, 39, 5, 0), gale, "mer-a")


def test_search_ranks_distinct_sites_inside_the_region(gale) -> None:
    bbox = (136.5, -6.0, 138.5, -4.0)
    sites = search_landing_sites(gale, "msl", bbox=bbox, targets=["Aeolis Mons"], top=5)
    assert sites["rank"].tolist() == [1, 2, 3, 4, 5]
    assert np.all(np.diff(sites["score"].to_numpy()) <= 1e-12)
    assert sites.crs.to_string() == "IAU_2015:49900"
    assert (
        (sites["lon"] >= 136.5)
        & (sites["lon"] <= 138.5)
        & (sites["lat"] >= -6)
        & (sites["lat"] <= -4)
    ).all()
    # distinct sites: centres at least one semi-major axis (12.5 km) apart
    for i in range(len(sites)):
        for j in range(i + 1, len(sites)):
            _, _, d = GEOD.inv(sites.lon[i], sites.lat[i], sites.lon[j], sites.lat[j])
            assert d >= 12_500
    # the ranking's numbers are those of evaluate_ellipse
    best = sites.iloc[0]
    ev = evaluate_ellipse(
        LandingEllipse(
            best.lat, best.lon, best.semi_major_km, best.semi_minor_km, best.azimuth_deg
        ),
        gale,
        "msl",
        targets=["Aeolis Mons"],
    )
    assert ev.safety == pytest.approx(best.safety, abs=1e-12)
    assert ev.science == pytest.approx(best.science, abs=1e-12)
    assert best.score == pytest.approx(0.7 * ev.safety + 0.3 * ev.science)
    assert sites.attrs["candidates"] > 100
    assert "slope_2m" in sites.attrs["not_evaluated"]


def test_search_weights_change_the_winner(gale) -> None:
    bbox = (136.5, -6.0, 138.5, -4.0)
    safe = search_landing_sites(
        gale, "msl", bbox=bbox, targets=["Aeolis Mons"], top=1, weights={"safety": 1, "science": 0}
    )
    sci = search_landing_sites(
        gale, "msl", bbox=bbox, targets=["Aeolis Mons"], top=1, weights={"safety": 0, "science": 1}
    )
    assert safe.safety.iloc[0] >= sci.safety.iloc[0]
    assert sci.science.iloc[0] >= safe.science.iloc[0]
    with pytest.raises(ValidationError, match="unknown weight"):
        search_landing_sites(gale, "msl", bbox=bbox, weights={"danger": 1})


def test_search_across_the_prime_meridian_on_global_mola() -> None:
    mola = marsgis.open_dem("mola")
    sites = search_landing_sites(mola, "mer-b", bbox=(-8.0, -4.0, 4.0, 4.0), top=3)
    lon = sites["lon"].to_numpy()
    assert np.all((lon >= 352.0 - 1e-9) | (lon <= 4.0 + 1e-9))
    with pytest.raises(PlanningError, match="no 85 × 11 km ellipse fits"):
        search_landing_sites(marsgis.open_dem("gale-1m"), "mer-b")


def test_ellipse_statistics_report_their_cells_and_flag_too_few(gale) -> None:
    from marsgis.planning.ellipses import MIN_ELLIPSE_CELLS

    e = LandingEllipse.from_constraints("msl", -4.5895, 137.4417)
    mola = marsgis.open_dem("mola")  # 4 px/deg: 15 km cells, an MSL ellipse is 25 × 20 km
    lon2, lat2 = np.meshgrid(mola["x"].values, mola["y"].values)
    expected = int(_inside_by_geod(e, lat2, lon2).sum())
    assert expected < MIN_ELLIPSE_CELLS == 30
    with pytest.warns(UserWarning, match=rf"statistics from {expected} DEM cell\(s\)"):
        coarse = evaluate_ellipse(e, mola, "msl")
    assert coarse.n_cells == expected
    assert coarse.few_cells is True
    assert len(coarse.warnings) == 1 and "use a finer DEM" in coarse.warnings[0]
    doc = coarse.to_dict()
    assert doc["n_cells"] == expected and doc["few_cells"] is True
    assert doc["warnings"] == list(coarse.warnings)
    # gale-mola, 128 px/deg: hundreds of cells, no flag
    fine = evaluate_ellipse(e, gale, "msl")
    lon2, lat2 = np.meshgrid(gale["x"].values, gale["y"].values)
    assert fine.n_cells == int(_inside_by_geod(e, lat2, lon2).sum()) >= MIN_ELLIPSE_CELLS
    assert fine.few_cells is False and fine.to_dict()["warnings"] == []
