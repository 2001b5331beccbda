"""The tile grid: Leaflet's EPSG4326 tiling in degrees, on the Mars sphere."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import CRS

from marsgis.crs import MARS_RADIUS_M, require_mars_crs
from marsgis.exceptions import ValidationError
from marsgis.viz.tiling import (
    MARS_MAP_CRS,
    MAX_ZOOM,
    TILE_SIZE,
    pixel_centres,
    resolution_deg,
    resolution_m,
    tile_bounds,
    tile_of,
    tile_range,
)


def leaflet_epsg4326_pixel(lat: float, lon: float, z: int) -> tuple[float, float]:
    """Leaflet's L.CRS.EPSG4326: Transformation(1/180, 1, -1/180, 0.5), scale 256 * 2**z."""
    scale = 256 * 2**z
    return (lon / 180 + 1) * scale, (-lat / 180 + 0.5) * scale


def proj4leaflet_pixel(lat: float, lon: float, z: int) -> tuple[float, float]:
    """Proj4Leaflet with our origin and resolutions: ((x - x0) / res, (y0 - y) / res)."""
    x0, y0 = MARS_MAP_CRS["origin"]
    res = MARS_MAP_CRS["resolutions"][z]
    return (lon - x0) / res, (y0 - lat) / res


@pytest.mark.parametrize("z", range(MAX_ZOOM + 1))
def test_tile_bounds_match_the_leaflet_epsg4326_grid(z: int) -> None:
    cols, rows = tile_range(z)
    assert (cols, rows) == (2 ** (z + 1), 2**z)
    rng = np.random.default_rng(z)
    picks = {(0, 0), (cols - 1, rows - 1), (cols // 2, rows // 2)}
    picks |= {(int(rng.integers(cols)), int(rng.integers(rows))) for _ in range(5)}
    for x, y in picks:
        b = tile_bounds(z, x, y)
        # the north-west corner of tile (x, y) is pixel (256 x, 256 y) in both CRS definitions
        for pixel in (
            leaflet_epsg4326_pixel(b.north, b.west, z),
            proj4leaflet_pixel(b.north, b.west, z),
        ):
            assert pixel[0] == pytest.approx(TILE_SIZE * x, abs=1e-6)
            assert pixel[1] == pytest.approx(TILE_SIZE * y, abs=1e-6)
        se = proj4leaflet_pixel(b.south, b.east, z)
        assert se == pytest.approx((TILE_SIZE * (x + 1), TILE_SIZE * (y + 1)), abs=1e-6)
        assert b.east - b.west == pytest.approx(180.0 / 2**z)
        assert b.north - b.south == pytest.approx(180.0 / 2**z)


def test_the_grid_covers_the_planet_once() -> None:
    z = 3
    cols, rows = tile_range(z)
    wests = sorted({tile_bounds(z, x, 0).west for x in range(cols)})
    assert wests[0] == -180.0
    assert tile_bounds(z, cols - 1, 0).east == 180.0
    assert np.allclose(np.diff(wests), 360.0 / cols)
    assert tile_bounds(z, 0, 0).north == 90.0
    assert tile_bounds(z, 0, rows - 1).south == -90.0


def test_resolution_and_pixel_centres() -> None:
    assert resolution_deg(0) == pytest.approx(180.0 / 256)
    # metres per pixel on the Mars sphere (never an Earth radius): R * pi / 180 * deg
    assert resolution_m(10) == pytest.approx(MARS_RADIUS_M * math.pi / 180 * 180 / 256 / 1024)
    lats, lons = pixel_centres(2, 5, 1)
    b = tile_bounds(2, 5, 1)
    step = 45.0 / 256
    assert lats[0] == pytest.approx(b.north - step / 2)
    assert lons[-1] == pytest.approx(b.east - step / 2)
    assert np.allclose(np.diff(lons), step) and np.allclose(np.diff(lats), -step)


@pytest.mark.parametrize(
    ("lat", "lon", "z", "expected"),
    [
        (-4.5895, 137.4417, 0, (1, 0)),
        (
            -4.5895,
            137.4417,
            6,
            (int((137.4417 + 180) // (180 / 64)), int((90 + 4.5895) // (180 / 64))),
        ),
        (
            18.65,
            226.2,
            4,
            (int((226.2 - 360 + 180) // (180 / 16)), int((90 - 18.65) // (180 / 16))),
        ),
        (-90.0, 180.0, 2, (0, 3)),  # 180 °E is -180 °E: the first column
    ],
)
def test_tile_of(lat: float, lon: float, z: int, expected: tuple[int, int]) -> None:
    assert tile_of(lat, lon, z) == expected
    b = tile_bounds(z, *expected)
    lon180 = ((lon + 180) % 360) - 180
    assert b.south <= lat <= b.north
    assert b.west <= lon180 <= b.east or (lon180 == -180 and b.east == 180)


@pytest.mark.parametrize(
    ("z", "x", "y"), [(-1, 0, 0), (MAX_ZOOM + 1, 0, 0), (0, 2, 0), (0, 0, 1), (3, -1, 0)]
)
def test_tiles_outside_the_grid_are_refused(z: int, x: int, y: int) -> None:
    with pytest.raises(ValidationError, match="zoom|outside"):
        tile_bounds(z, x, y)


def test_map_crs_is_the_mars_sphere_not_earth() -> None:
    crs = CRS.from_proj4(MARS_MAP_CRS["proj4def"])
    require_mars_crs(crs)  # raises for an Earth CRS
    assert crs.ellipsoid.semi_major_metre == MARS_RADIUS_M
    assert crs.is_geographic
    assert "EPSG" not in MARS_MAP_CRS["name"] and MARS_MAP_CRS["custom"] is True
    assert MARS_MAP_CRS["resolutions"] == [180 / 256 / 2**z for z in range(MAX_ZOOM + 1)]
