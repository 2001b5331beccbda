"""marsgis.sample against scipy's RegularGridInterpolator and the raw grids."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer
from scipy.interpolate import RegularGridInterpolator

import marsgis
from marsgis.data import DATA_DIR
from marsgis.exceptions import CoordinateError


@pytest.fixture(scope="module")
def mola():
    return marsgis.open_dem("mola")


@pytest.fixture(scope="module")
def raw() -> np.ndarray:
    return (
        np.fromfile(DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.img", dtype=">i2")
        .reshape(720, 1440)
        .astype(np.float64)
    )


def test_pixel_centres_return_raw_values(mola, raw) -> None:
    rows = np.array([0, 100, 359, 430, 719])
    cols = np.array([0, 907, 549, 249, 1439])
    lat = 90 - (rows + 0.5) / 4
    lon = (cols + 0.5) / 4
    np.testing.assert_array_equal(marsgis.sample(mola, lat, lon), raw[rows, cols])


def test_bilinear_equals_scipy_inside_the_grid(mola, raw) -> None:
    lat_c = 90 - (np.arange(720) + 0.5) / 4
    lon_c = (np.arange(1440) + 0.5) / 4
    ref = RegularGridInterpolator((lat_c[::-1], lon_c), raw[::-1], method="linear")
    rng = np.random.default_rng(7)
    lat = rng.uniform(-89.8, 89.8, 500)
    lon = rng.uniform(0.2, 359.8, 500)
    np.testing.assert_allclose(marsgis.sample(mola, lat, lon), ref(np.c_[lat, lon]), rtol=1e-12)


def test_seamless_across_the_prime_meridian(mola, raw) -> None:
    """At 0°E the value is the mean of the first and last columns (the grid wraps)."""
    lat = 90 - (359 + 0.5) / 4
    expected = (raw[359, 0] + raw[359, 1439]) / 2
    assert marsgis.sample(mola, lat, 0.0) == pytest.approx(expected)
    assert marsgis.sample(mola, lat, 360.0) == pytest.approx(expected)
    # continuous: approaching from both sides converges to the same value
    assert marsgis.sample(mola, lat, 359.9999) == pytest.approx(expected, abs=0.5)
    assert marsgis.sample(mola, lat, 0.0001) == pytest.approx(expected, abs=0.5)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-89.0, 89.0),
    lon=st.floats(-180.0, 180.0),
)
def test_both_longitude_conventions_agree(mola, lat: float, lon: float) -> None:
    assert marsgis.sample(mola, lat, lon) == marsgis.sample(mola, lat, lon % 360.0)


def test_known_places(mola) -> None:
    # Nearest-cell values reported in the data's PROVENANCE (numpy decoding): Olympus Mons
    # centre cell +20009 m; Bradbury Landing cell −4458 m.
    assert float(mola.sel(y=18.65, x=226.2, method="nearest")) == 20009.0
    jez = marsgis.gazetteer("Jezero")
    # Jezero's floor lies some 2.5 km below the datum
    assert -3000 < marsgis.sample(mola, jez.lat, jez.lon) < -2000


def test_projected_dem_against_rover_elevations() -> None:
    """Curiosity's localised elevations on the 1 m DEM agree to decimetres (PROVENANCE check)."""
    dem = marsgis.open_dem("gale-1m")
    wp = marsgis.open_features("msl-waypoints")
    wp = wp[wp["valid"]]
    elev = marsgis.sample(dem, wp["lat_dd"].to_numpy(), wp["lon_dd"].to_numpy())
    inside = np.isfinite(elev)
    assert inside.sum() >= 30
    diff = elev[inside] - wp["elev_m"].to_numpy()[inside]
    assert abs(float(np.median(diff))) < 0.5
    # the same points sampled with GDAL at the projected coordinates
    crs = CRS.from_user_input(dem.rio.crs)
    tr = Transformer.from_crs("IAU_2015:49900", crs, always_xy=True)
    x, y = tr.transform(wp["lon_dd"].to_numpy()[inside], wp["lat_dd"].to_numpy()[inside])
    with rasterio.open(DATA_DIR / "mmgis-gale-test-mission" / "missionDEM.tif") as ds:
        nearest = np.array([v[0] for v in ds.sample(zip(x, y, strict=True))])
    assert np.max(np.abs(nearest - elev[inside])) < 0.6  # bilinear vs nearest on a 1 m grid


def test_outside_points_nan_or_error() -> None:
    dem = marsgis.open_dem("gale-mola")
    assert np.isnan(marsgis.sample(dem, 0.0, 0.0))
    with pytest.raises(CoordinateError, match="lies outside DEM 'gale-mola'"):
        marsgis.sample(dem, 0.0, 0.0, outside="raise")


@pytest.mark.parametrize(
    ("lat", "lon", "match"),
    [
        (91.0, 0.0, "latitude 91.0 is outside"),
        (float("nan"), 0.0, "latitude nan is not finite"),
        (0.0, float("inf"), "longitude inf is not finite"),
        (0.0, 400.0, "longitude 400.0 is outside"),
        (0.0, -200.0, "longitude -200.0 is outside"),
    ],
)
def test_bad_coordinates(mola, lat: float, lon: float, match: str) -> None:
    with pytest.raises(CoordinateError, match=match):
        marsgis.sample(mola, lat, lon)


def test_dask_backed_dem_gives_same_values(mola) -> None:
    lazy = marsgis.open_dem("mola", chunks=128)
    lat = np.linspace(-80, 80, 50)
    lon = np.linspace(-179, 359, 50)
    np.testing.assert_array_equal(marsgis.sample(lazy, lat, lon), marsgis.sample(mola, lat, lon))


def test_accessor_forwards(mola) -> None:
    assert mola.mars.sample(-4.5895, 137.4417) == marsgis.sample(mola, -4.5895, 137.4417)
