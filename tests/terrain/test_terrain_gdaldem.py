"""slope, aspect, roughness and hillshade against Debian's gdaldem on the same real files."""

from __future__ import annotations

import numpy as np
import pytest

import marsgis.terrain as terrain
from marsgis.io.writers import write_dem

INNER = (slice(1, -1), slice(1, -1))


def _horn64(z: np.ndarray, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Independent float64 Horn gradient (dz/deast, dz/dnorth) of the interior cells."""
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    p = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx)
    q = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * dy)
    return p, q


def _angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def test_slope_matches_gdaldem_on_gale_1m(gale_1m, gdaldem, gale_1m_tif) -> None:
    ours = terrain.slope(gale_1m).values
    gdal = gdaldem("slope", gale_1m_tif)
    # same nodata/edge cells: gdaldem leaves the border without -compute_edges
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(gdal))
    diff = np.abs(ours[INNER] - gdal[INNER])
    assert np.median(diff) < 0.05
    assert diff.max() < 0.1


def test_slope_gale_1m_matches_float64_horn(gale_1m) -> None:
    # gdaldem sums the window in float32 (at -4500 m, 5e-3° median error on a 1 m grid);
    # against an exact float64 Horn slope ours is good to the float32 output.
    p, q = _horn64(gale_1m.values.astype(np.float64), 1.0, 1.0)
    ref = np.degrees(np.arctan(np.hypot(p, q)))
    np.testing.assert_allclose(terrain.slope(gale_1m).values[INNER], ref, rtol=0, atol=1e-4)


def test_aspect_matches_gdaldem_on_gale_1m(gale_1m, gdaldem, gale_1m_tif) -> None:
    ours = terrain.aspect(gale_1m).values
    gdal = gdaldem("aspect", gale_1m_tif)
    both = np.isfinite(ours) & np.isfinite(gdal)
    assert both[INNER].mean() > 0.9999
    diff = _angle_diff(ours[both], gdal[both])
    assert np.median(diff) < 0.1
    # gdaldem's float32 sums blur the direction only where the ground is nearly flat
    p, q = _horn64(gale_1m.values.astype(np.float64), 1.0, 1.0)
    steep = np.zeros_like(both)
    steep[INNER] = np.degrees(np.arctan(np.hypot(p, q))) > 2.0
    assert _angle_diff(ours[both & steep], gdal[both & steep]).max() < 1.0
    # exact float64 aspect, clockwise from north, of the downslope direction
    ref = np.degrees(np.arctan2(-p, -q)) % 360.0
    assert _angle_diff(ours[INNER], ref).max() < 1e-3


def test_aspect_flat_cells_are_nan_where_gdaldem_writes_nodata(
    gale_mola, gdaldem, tmp_path
) -> None:
    # the 128 px/deg MOLA window holds integer metres, so flat 3x3 windows exist
    src = write_dem(gale_mola, tmp_path / "gale-mola.tif", compress=None)
    gdal = gdaldem("aspect", src)
    ours = terrain.aspect(gale_mola).values
    flat_gdal = np.isnan(gdal[INNER])
    assert flat_gdal.sum() > 100
    np.testing.assert_array_equal(np.isnan(ours[INNER]), flat_gdal)


def test_roughness_equals_gdaldem_on_gale_1m(gale_1m, gdaldem, gale_1m_tif) -> None:
    ours = terrain.roughness(gale_1m)
    gdal = gdaldem("roughness", gale_1m_tif)
    np.testing.assert_array_equal(ours.values, gdal.astype(np.float32))
    assert ours.attrs["units"] == "m"


@pytest.mark.parametrize(("azimuth", "altitude"), [(315.0, 45.0), (100.0, 20.0)])
def test_hillshade_matches_gdaldem_on_gale_1m(
    gale_1m, gdaldem, gale_1m_tif, azimuth, altitude
) -> None:
    ours = terrain.hillshade(gale_1m, azimuth=azimuth, altitude=altitude).values
    gdal = gdaldem("hillshade", gale_1m_tif, "-az", str(azimuth), "-alt", str(altitude))
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(gdal))
    # gdaldem rounds the same value into a Byte band
    diff = np.abs(ours[INNER] - gdal[INNER])
    assert diff.max() <= 0.5 + 1e-3
    assert np.mean(np.round(ours[INNER]) == gdal[INNER]) > 0.999
    assert np.nanmin(ours) >= 1.0
    assert np.nanmax(ours) <= 255.0
