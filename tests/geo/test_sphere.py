"""Spherical geometry against pyproj.Geod on the Mars sphere."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

import marsgis
from marsgis.crs import MARS_RADIUS_M
from marsgis.geo import (
    MARS_SURFACE_KM2,
    cell_area_m2,
    destination,
    ellipse_polygon,
    great_circle_m,
    initial_bearing,
    line_length_m,
)

GEOD = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)
RNG = np.random.default_rng(42)
LAT1, LON1 = RNG.uniform(-89, 89, 500), RNG.uniform(0, 360, 500)
LAT2, LON2 = RNG.uniform(-89, 89, 500), RNG.uniform(-180, 180, 500)


def test_great_circle_and_bearing_equal_geod() -> None:
    az, _, dist = GEOD.inv(LON1, LAT1, LON2, LAT2)
    np.testing.assert_allclose(great_circle_m(LAT1, LON1, LAT2, LON2), dist, rtol=1e-9, atol=1e-6)
    near = dist > 1.0
    diff = (
        initial_bearing(LAT1, LON1, LAT2, LON2) - np.asarray(az) % 360.0 + 180.0
    ) % 360.0 - 180.0
    np.testing.assert_allclose(diff[near], 0.0, atol=1e-7)


def test_destination_equals_geod_fwd() -> None:
    bearing = RNG.uniform(0, 360, 500)
    dist = RNG.uniform(0, 3e6, 500)
    lon_ref, lat_ref, _ = GEOD.fwd(LON1, LAT1, bearing, dist)
    lat, lon = destination(LAT1, LON1, bearing, dist)
    np.testing.assert_allclose(lat, lat_ref, atol=1e-9)
    np.testing.assert_allclose((lon - lon_ref + 180) % 360 - 180, 0.0, atol=1e-8)


def test_line_length_equals_geod_line_length() -> None:
    lats, lons = LAT1[:50], LON1[:50]
    assert line_length_m(lats, lons) == pytest.approx(GEOD.line_length(lons, lats), rel=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "az", "lat"), [(39, 5, 75, -14.57), (12.5, 10, 90, -4.59), (65, 13.5, 10, 80.0)]
)
def test_ellipse_polygon_area_and_axes(a: float, b: float, az: float, lat: float) -> None:
    poly = ellipse_polygon(lat, 137.4, a, b, az, n=720)
    lon, la = np.asarray(poly.exterior.xy)
    area, _ = GEOD.polygon_area_perimeter(lon, la)
    assert abs(area) / 1e6 == pytest.approx(np.pi * a * b, rel=2e-4)
    # the vertices at the ends of the axes lie at a and b km from the centre
    _, _, d = GEOD.inv(np.full(lon.size, 137.4), np.full(lon.size, lat), lon, la)
    assert d.max() / 1000 == pytest.approx(a, rel=1e-9)
    assert d.min() / 1000 == pytest.approx(b, rel=1e-4)


def test_cell_areas_sum_to_the_sphere() -> None:
    mola = marsgis.open_dem("mola")
    area = cell_area_m2(mola)
    assert float(area.sum()) * mola.sizes["x"] / 1e6 == pytest.approx(MARS_SURFACE_KM2, rel=1e-12)
    assert MARS_SURFACE_KM2 == pytest.approx(4 * np.pi * 3396.19**2, rel=1e-15)


def test_projected_cell_area_equals_lonlat_quadrangle() -> None:
    """gale-1m is equirectangular: a 1 m cell spans 1/R rad; its true area is R²Δλ(sinφ₂−sinφ₁)."""
    dem = marsgis.open_dem("gale-1m")
    area = cell_area_m2(dem)
    y = dem["y"].values
    phi_n = (y + 0.5) / MARS_RADIUS_M
    phi_s = (y - 0.5) / MARS_RADIUS_M
    exact = MARS_RADIUS_M**2 * (1.0 / MARS_RADIUS_M) * (np.sin(phi_n) - np.sin(phi_s))
    np.testing.assert_allclose(area.values, np.broadcast_to(exact[:, None], area.shape), rtol=1e-9)
