"""Global MOLA: true-metre cell sizes on the Mars sphere, cos φ widths, longitude wrap."""

from __future__ import annotations

import numpy as np
import pytest

import marsgis.terrain as terrain
from marsgis.crs import MARS_RADIUS_M
from marsgis.io import dem_from_array

R = 3_396_190.0  # Mars 2000 / IAU 2015 sphere, written out on purpose


def _reference_gradient(dem) -> tuple[np.ndarray, np.ndarray]:
    """Independent Horn gradient in float64 with np.roll for the 0°/360° wrap.

    Returns (dz/deast, dz/dnorth) with rows 0 and -1 NaN (no row beyond the poles).
    """
    z = dem.values.astype(np.float64)
    lat = dem["y"].values
    dlon = np.radians(0.25)
    dlat = np.radians(0.25)
    width = R * np.cos(np.radians(lat)) * dlon  # per row
    height = R * dlat

    def at(dr: int, dc: int) -> np.ndarray:  # value of the neighbour dr rows down, dc cols east
        return np.roll(np.roll(z, -dr, axis=0), -dc, axis=1)

    nw, n, ne = at(-1, -1), at(-1, 0), at(-1, 1)
    w, e = at(0, -1), at(0, 1)
    sw, s, se = at(1, -1), at(1, 0), at(1, 1)
    ew = ((ne + 2 * e + se) - (nw + 2 * w + sw)) / (8 * width[:, None])
    ns = ((nw + 2 * n + ne) - (sw + 2 * s + se)) / (8 * height)
    ew[[0, -1]] = np.nan
    ns[[0, -1]] = np.nan
    return ew, ns


@pytest.fixture(scope="module")
def reference(mola):
    return _reference_gradient(mola)


def test_mola_grid_is_what_the_reference_assumes(mola) -> None:
    assert mola.shape == (720, 1440)
    np.testing.assert_allclose(np.diff(mola["x"].values), 0.25)
    np.testing.assert_allclose(np.diff(mola["y"].values), -0.25)
    assert mola["y"].values[0] == 89.875


def test_mola_slope_matches_independent_numpy(mola, reference) -> None:
    ew, ns = reference
    ref = np.degrees(np.arctan(np.hypot(ew, ns)))
    ours = terrain.slope(mola)
    assert ours.dtype == np.float32
    # float32 output: 1e-4° covers the rounding of a 0-90° value
    np.testing.assert_allclose(ours.values, ref, rtol=0, atol=1e-4, equal_nan=True)
    assert np.isnan(ours.values[[0, -1]]).all()
    assert np.isfinite(ours.values[1:-1]).all()  # wrapped: no NaN column


def test_mola_aspect_matches_independent_numpy(mola, reference) -> None:
    ew, ns = reference
    ours = terrain.aspect(mola).values
    flat = (ew == 0) & (ns == 0)
    assert flat.sum() > 0  # MOLA MEGDR holds integer metres: some windows are flat
    np.testing.assert_array_equal(np.isnan(ours), flat | np.isnan(ew))
    ref = np.degrees(np.arctan2(-ew, -ns)) % 360.0
    ok = np.isfinite(ours)
    diff = np.abs((ours[ok] - ref[ok] + 180.0) % 360.0 - 180.0)
    assert diff.max() < 1e-3


def test_mola_hillshade_matches_independent_numpy(mola, reference) -> None:
    ew, ns = reference
    az, alt = np.radians(315.0), np.radians(45.0)
    cang = (np.sin(alt) - np.cos(alt) * (ns * np.cos(az) + ew * np.sin(az))) / np.sqrt(
        1 + ew**2 + ns**2
    )
    ref = np.where(cang * 254 <= 0, 1.0, 1.0 + 254 * cang)
    ref[np.isnan(cang)] = np.nan
    np.testing.assert_allclose(terrain.hillshade(mola).values, ref, atol=1e-3, equal_nan=True)


def test_mola_slope_wraps_across_the_0_360_meridian(mola, reference) -> None:
    ours = terrain.slope(mola).values
    ew, ns = reference
    ref = np.degrees(np.arctan(np.hypot(ew, ns)))
    # column 0 (0.125°E) and column 1439 (359.875°E) are neighbours
    np.testing.assert_allclose(ours[1:-1, 0], ref[1:-1, 0], atol=1e-4)
    np.testing.assert_allclose(ours[1:-1, -1], ref[1:-1, -1], atol=1e-4)
    # raising a bump in column 1439 changes the slope of column 0, not of column 2
    bumped = mola.copy(deep=True)
    bumped.values[300:310, 1439] += 2000.0
    after = terrain.slope(bumped).values
    assert (np.abs(after[301:309, 0] - ours[301:309, 0]) > 1.0).all()
    np.testing.assert_array_equal(after[:, 2], ours[:, 2])


@pytest.mark.parametrize("product", ["slope", "aspect", "hillshade"])
def test_flipped_axes_give_the_flipped_result(mola, product) -> None:
    # south-up rows or west-running columns: the same ground, so the same values
    func = getattr(terrain, product)
    expected = func(mola).values
    south_up = func(mola.isel(y=slice(None, None, -1))).values
    np.testing.assert_array_equal(south_up, expected[::-1])
    west = func(mola.isel(x=slice(None, None, -1))).values
    np.testing.assert_array_equal(west, expected[:, ::-1])


def test_regional_geographic_grid_does_not_wrap(gale_mola) -> None:
    s = terrain.slope(gale_mola).values
    assert np.isnan(s[:, [0, -1]]).all()
    assert np.isfinite(s[1:-1, 1:-1]).all()


def test_cell_size_mola_is_cos_lat_on_the_mars_sphere(mola) -> None:
    width, height = terrain.cell_size(mola)
    lat = mola["y"].values
    assert R == MARS_RADIUS_M
    np.testing.assert_allclose(
        width.values, R * np.cos(np.radians(lat)) * np.radians(0.25), rtol=1e-12
    )
    np.testing.assert_allclose(height.values, np.pi * R / 720, rtol=1e-12)
    # ±89.875° rows: small but nonzero (32.33 m); the equator 14.82 km
    assert width.values[0] == pytest.approx(32.3293, abs=1e-3)
    assert width.values[-1] == pytest.approx(width.values[0])
    assert width.values[359] == pytest.approx(14818.64, abs=0.01)
    assert width.dims == ("y",)
    assert width.attrs["units"] == "m"
    np.testing.assert_array_equal(width["y"].values, lat)


def test_cell_size_row_on_a_pole_has_zero_width_and_neighbours_stay_finite(mola) -> None:
    # the same MOLA values on a grid whose first row centre lies on the north pole
    lat = 90.0 - 0.25 * np.arange(720)
    dem = dem_from_array(mola.values, y=lat, x=mola["x"].values)
    width, _ = terrain.cell_size(dem)
    assert width.values[0] == 0.0
    assert (width.values[1:] > 0).all()
    s = terrain.slope(dem).values
    assert np.isnan(s[0]).all()
    assert np.isfinite(s[1]).all()


def test_cell_size_projected_grid_is_the_pixel_size(gale_1m) -> None:
    width, height = terrain.cell_size(gale_1m)
    np.testing.assert_array_equal(width.values, 1.0)
    np.testing.assert_array_equal(height.values, 1.0)
    assert width.shape == (gale_1m.sizes["y"],)
