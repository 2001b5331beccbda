"""Basemap tiles: pixels come from the shipped DEMs at the right places, in the right colours.

References: the pixel-centre coordinates are recomputed here from the equirectangular grid
formula; elevations from the raw MOLA array with scipy's bilinear ``map_coordinates``; the
hillshade from ``gdaldem hillshade``; the ramp colour from its published anchors.
"""

from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import map_coordinates

import marsgis
from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import ValidationError
from marsgis.viz.colors import ELEVATION_RAMP, FLAT_HILLSHADE, elevation_rgb, shade_rgb
from marsgis.viz.sources import BASEMAP_DEMS, exaggeration
from marsgis.viz.tiles import elevation_tile, render_tile, tile_cache_dir, tile_png
from marsgis.viz.tiling import tile_of


def centres(z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre lat/lon of a tile, from the grid formula (not marsgis.viz.tiling)."""
    span = 180.0 / 2**z
    i = (np.arange(256) + 0.5) / 256
    lons = -180.0 + (x + i) * span
    lats = 90.0 - (y + i) * span
    return np.meshgrid(lats, lons, indexing="ij")


def mola_bilinear(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """MOLA MEGDR (0.25°, pixel centres 0.125 … 359.875 °E, 89.875 … -89.875 °N)."""
    z = marsgis.open_dem("mola").values.astype(np.float64)
    rows = (89.875 - lat) / 0.25
    cols = ((lon % 360.0) - 0.125) / 0.25
    return map_coordinates(z, [rows, cols], order=1, mode="nearest")


def test_zoom2_tile_is_mola_at_the_pixel_centres() -> None:
    z, x, y = 2, 5, 2  # lon 45…90 °E, lat -45…-90: Hellas
    elevation, _hs, index = elevation_tile(z, x, y)
    lat, lon = centres(z, x, y)
    ref = mola_bilinear(lat, lon)
    inside = lat > -89.875  # beyond the last row centre both clamp, but differently
    assert (index == 0).all()
    np.testing.assert_allclose(elevation[inside], ref[inside], rtol=0, atol=1e-3)


def test_the_ramp_colour_at_known_places() -> None:
    def ramp(value: float) -> np.ndarray:
        levels = [a[0] for a in ELEVATION_RAMP]
        k = int(np.searchsorted(levels, value)) - 1
        (z0, c0), (z1, c1) = ELEVATION_RAMP[k], ELEVATION_RAMP[k + 1]
        t = (value - z0) / (z1 - z0)
        return np.array(c0) + t * (np.array(c1) - np.array(c0))

    z = 3
    for name, (lat, lon) in {"Hellas floor": (-42.4, 70.5), "Olympus Mons": (18.65, 226.2)}.items():
        x, y = tile_of(lat, lon, z)
        tile = render_tile(z, x, y, shade=False)
        elevation, _, _ = elevation_tile(z, x, y)
        lats, lons = centres(z, x, y)
        lon180 = ((lon + 180) % 360) - 180
        r = int(np.argmin(np.abs(lats[:, 0] - lat)))
        c = int(np.argmin(np.abs(lons[0] - lon180)))
        expected = ramp(float(elevation[r, c]))
        assert np.abs(tile[r, c, :3].astype(float) - expected).max() <= 0.5, name
        assert tile[r, c, 3] == 255
        if name == "Hellas floor":
            assert -8200 < elevation[r, c] < -6000  # the deepest basin: purple-blue
            assert tile[r, c, 2] > tile[r, c, 0] + 60
        else:
            assert elevation[r, c] > 18_000  # the summit: near white
            assert tile[r, c, :3].min() > 200


def test_gale_dems_appear_as_you_zoom_in() -> None:
    gale = (-4.6668, 137.3699)  # inside the 1 m DEM
    seen = {}
    for z in (1, 4, 6, 10, 13):
        x, y = tile_of(*gale, z)
        elevation, _, index = elevation_tile(z, x, y)
        seen[z] = {BASEMAP_DEMS[i] for i in np.unique(index)}
        assert np.isfinite(elevation).all()
    assert seen[1] == {"mola"}
    assert "gale-mola" in seen[4] and "gale-1m" not in seen[10]
    assert "gale-1m" in seen[13]

    # at zoom 6 the Gale window is drawn at full resolution: its pixels are marsgis.sample
    z = 6
    x, y = tile_of(*gale, z)
    elevation, _, index = elevation_tile(z, x, y)
    lat, lon = centres(z, x, y)
    ours = index == 1
    assert ours.sum() > 10_000
    ref = marsgis.sample(marsgis.open_dem("gale-mola"), lat[ours], lon[ours])
    np.testing.assert_allclose(elevation[ours], ref, atol=1e-3)

    # at zoom 15 (1.3 m pixels) the 1 m DEM, projected (equidistant cylindrical), is sampled
    # at full resolution
    z = 15
    x, y = tile_of(*gale, z)
    elevation, _, index = elevation_tile(z, x, y)
    lat, lon = centres(z, x, y)
    ours = index == 2
    assert ours.sum() > 20_000
    dem = marsgis.open_dem("gale-1m")
    xs = np.radians(lon[ours]) * MARS_RADIUS_M  # eqc, lon_0 = 0, lat_ts = 0
    ys = np.radians(lat[ours]) * MARS_RADIUS_M
    grid = dem.values.astype(np.float64)
    rows = (float(dem.y[0]) - ys) / 1.0
    cols = (xs - float(dem.x[0])) / 1.0
    ref = map_coordinates(grid, [rows, cols], order=1, mode="nearest")
    np.testing.assert_allclose(elevation[ours], ref, atol=1e-3)


@pytest.mark.parametrize(("z", "min_colours"), [(14, 10), (17, 2)])
def test_zoomed_past_a_dem_the_tile_is_never_one_flat_colour(z: int, min_colours: int) -> None:
    """Over Gale outside the 1 m patch, beyond the 128 px/deg DEM's resolution (#15).

    A tile at zoom 14 is 0.011° (650 m) wide, about 1.4 cells of gale-mola: its pixels are
    still the DEM's bilinear surface (scipy's ``map_coordinates`` of the raw array here), and
    the rendered colours vary with it instead of filling the tile with one colour.
    """
    where = (-5.2, 137.0)  # Gale's floor, south-west of the 1 m DEM
    x, y = tile_of(*where, z)
    elevation, _, index = elevation_tile(z, x, y)
    assert {BASEMAP_DEMS[i] for i in np.unique(index)} == {"gale-mola"}
    dem = marsgis.open_dem("gale-mola")
    lat, lon = centres(z, x, y)
    lat0, lon0 = float(dem.y[0]), float(dem.x[0])
    dy, dx = float(dem.y[1] - dem.y[0]), float(dem.x[1] - dem.x[0])
    ref = map_coordinates(
        dem.values.astype(np.float64),
        [(lat - lat0) / dy, (lon % 360.0 - lon0) / dx],
        order=1,
        mode="nearest",
    )
    np.testing.assert_allclose(elevation, ref, atol=1e-3)
    assert np.ptp(elevation) > 0.0  # the DEM's slope across the tile, not a constant
    tile = render_tile(z, x, y)
    colours = np.unique(tile.reshape(-1, 4), axis=0)
    # zoom 17 is 82 m across a 463 m cell: a gentle gradient, still not one colour
    assert len(colours) >= min_colours and (tile[..., 3] == 255).all()


def test_hillshade_matches_gdaldem(tmp_path: Path) -> None:
    from marsgis.io.writers import write_dem

    z = 6
    gale = (-5.4, 137.8)
    ex = exaggeration(z)
    dem = marsgis.open_dem("gale-mola")
    src = write_dem(dem, tmp_path / "gale.tif", compress=None)
    out = tmp_path / "hs.tif"
    m_per_deg = math.radians(1.0) * MARS_RADIUS_M
    cmd = [
        "gdaldem",
        "hillshade",
        "-q",
        "-z",
        str(ex),
        "-s",
        f"{m_per_deg:.4f}",
        str(src),
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    import rasterio

    with rasterio.open(out) as ds:
        gdal_hs = ds.read(1).astype(np.float64)
    x, y = tile_of(*gale, z)
    _, hs, index = elevation_tile(z, x, y)
    lat, lon = centres(z, x, y)
    rows = (float(dem.y[0]) - lat) / 0.0078125
    cols = (lon % 360 - float(dem.x[0])) / 0.0078125
    ref = map_coordinates(gdal_hs, [rows, cols], order=1, mode="nearest")
    valid = map_coordinates((gdal_hs > 0).astype(float), [rows, cols], order=1) == 1.0
    ok = (index == 1) & valid
    assert ok.sum() > 20_000
    # gdaldem uses one metre-per-degree scale for both axes; marsgis uses R cos(phi) for x:
    # at Gale (cos 5° = 0.996) the two agree to a few grey levels
    diff = np.abs(hs[ok] - ref[ok])
    assert np.median(diff) < 1.0
    assert np.percentile(diff, 99) < 6.0


def test_render_tile_is_ramp_times_shade() -> None:
    z, x, y = 6, *tile_of(-5.4, 137.8, 6)
    elevation, hs, _ = elevation_tile(z, x, y)
    tile = render_tile(z, x, y)
    expected = np.rint(shade_rgb(elevation_rgb(elevation), hs))
    np.testing.assert_array_equal(tile[..., :3], expected.astype(np.uint8))
    assert (tile[..., 3] == 255).all()
    flat = np.abs(hs - FLAT_HILLSHADE) < 0.5  # flat ground keeps its ramp colour
    plain = render_tile(z, x, y, shade=False)
    assert flat.any()
    assert np.abs(tile[flat, :3].astype(int) - plain[flat, :3].astype(int)).max() <= 1


def test_tile_png_uses_the_disk_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(tmp_path / "c"))
    data = tile_png(1, 2, 0)
    path = tile_cache_dir() / "1" / "2" / "0.png"
    assert path.read_bytes() == data
    assert str(path).startswith(str(tmp_path / "c" / "tiles"))
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(decoded, render_tile(1, 2, 0))
    path.write_bytes(b"cached")  # the cache is read, not re-rendered
    assert tile_png(1, 2, 0) == b"cached"
    assert tile_png(1, 2, 0, cache=False) == data
    with pytest.raises(ValidationError, match="outside"):
        tile_png(1, 4, 0)
