"""``/api/v1/tiles``: XYZ tiles, TileJSON and WMTS capabilities, read by GDAL's WMTS driver."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from api_service import ROLES, Service, marsgis_serve
from PIL import Image

from marsgis.data import FILES, RASTERS
from marsgis.viz.sources import BASEMAP_DEMS
from marsgis.viz.tiles import TILE_VERSION, render_tile, tile_stack
from marsgis.viz.tiling import MAX_ZOOM, tile_of
from marsgis.viz.tms import MARS_TMS, TMS_ID

TILES = "/api/v1/tiles"
GALE = (-4.5895, 137.4417)


def _expected_etag(dataset: str, z: int, x: int, y: int) -> str:
    """The tile's cache key, from the shipped files' registered sha256 (not from the bytes)."""
    digest = hashlib.sha256(f"marsgis tiles {TILE_VERSION} {dataset}".encode())
    names = BASEMAP_DEMS if dataset == "relief" else (dataset,)
    for name in names:
        entry = Path(RASTERS[name].path)
        for rel in sorted(FILES):
            if Path(rel).parent == entry.parent and Path(rel).stem == entry.stem:
                digest.update(f"\n{name} {rel} {FILES[rel]}".encode())
    return f'"{TILE_VERSION}-{digest.hexdigest()[:24]}-{z}-{x}-{y}"'


def _png(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGBA"))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_a_tile_equal_to_render_tile(service: Service, role: str) -> None:
    x, y = tile_of(*GALE, 3)
    got = service.call("GET", f"{TILES}/relief/{TMS_ID}/3/{x}/{y}.png", role=role)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "image/png"
    pixels = _png(got.content)
    assert pixels.shape == (256, 256, 4)
    np.testing.assert_array_equal(pixels, render_tile(3, x, y))
    assert got.headers["etag"] == _expected_etag("relief", 3, x, y)
    assert "max-age=86400" in got.headers["cache-control"]
    again = service.call(
        "GET",
        f"{TILES}/relief/{TMS_ID}/3/{x}/{y}.png",
        role=role,
        headers={"If-None-Match": got.headers["etag"]},
    )
    assert (again.status_code, again.content) == (304, b"")


def test_a_single_dem_tile_is_rendered_from_that_dem_alone(service: Service) -> None:
    z = 7
    west, _, _, north = tile_stack("gale-mola").source("gale-mola").lonlat_box
    x, y = tile_of(north - 1e-6, west + 1e-6, z)  # the tile of the DEM's north-west corner
    got = service.call("GET", f"{TILES}/gale-mola/{TMS_ID}/{z}/{x}/{y}.png", role="viewer")
    assert got.status_code == 200, got.text
    expected = render_tile(z, x, y, stack=tile_stack("gale-mola"))
    np.testing.assert_array_equal(_png(got.content), expected)
    assert (expected[..., 3] == 255).any() and (expected[..., 3] == 0).any()  # the DEM's edge


def test_tilejson_fields(service: Service) -> None:
    got = service.call("GET", f"{TILES}/gale-mola/{TMS_ID}/tilejson.json", role="viewer")
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"http://testserver{TILES}/gale-mola/{TMS_ID}/{{z}}/{{x}}/{{y}}.png"]
    src = tile_stack("gale-mola").source("gale-mola")
    west, south, east, north = src.lonlat_box
    np.testing.assert_allclose(doc["bounds"], [west, south, east, north])
    assert west < GALE[1] < east and south < GALE[0] < north
    assert doc["maxzoom"] == MAX_ZOOM
    minzoom = doc["minzoom"]
    assert src.visible_at(minzoom) and (minzoom == 0 or not src.visible_at(minzoom - 1))
    whole = service.call("GET", f"{TILES}/relief/{TMS_ID}/tilejson.json", role="viewer").json()
    assert (whole["bounds"], whole["minzoom"]) == ([-180.0, -90.0, 180.0, 90.0], 0)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/nope/{TMS_ID}/0/0/0.png", 404),
        (f"/..%2F..%2Fetc/{TMS_ID}/0/0/0.png", 404),
        ("/relief/WebMercatorQuad/0/0/0.png", 404),
        ("/nope/WMTSCapabilities.xml", 404),
        (f"/nope/{TMS_ID}/tilejson.json", 404),
        (f"/relief/{TMS_ID}/{MAX_ZOOM + 1}/0/0.png", 422),
        (f"/relief/{TMS_ID}/-1/0/0.png", 422),
        (f"/relief/{TMS_ID}/0/2/0.png", 422),
        (f"/relief/{TMS_ID}/0/x/0.png", 422),
    ],
)
def test_bad_tiles_are_problems(service: Service, path: str, status: int) -> None:
    got = service.call("GET", TILES + path, role="viewer")
    assert got.status_code == status, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["status"] == status


def test_no_token_is_401(service: Service) -> None:
    for path in (f"/relief/{TMS_ID}/0/0/0.png", "/relief/WMTSCapabilities.xml"):
        got = service.call("GET", TILES + path)
        assert got.status_code == 401
        assert got.headers["www-authenticate"] == "Bearer"


def test_gdal_wmts_reads_the_capabilities_and_the_pixels(
    spatialite_url: str, tmp_path: Path
) -> None:
    import rasterio
    from pyproj import CRS

    from marsgis import db
    from marsgis.db import tokens

    db.upgrade(spatialite_url)
    _, secret = tokens.create_token("qgis-user", "viewer", db=spatialite_url)
    gdal_env = {
        **os.environ,
        "GDAL_HTTP_HEADERS": f"Authorization: Bearer {secret}",
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_USE_HEAD": "NO",
        "GDAL_DEFAULT_WMS_CACHE_PATH": str(tmp_path / "gdalwmscache"),  # never the checkout
    }
    z = 3
    x, y = tile_of(*GALE, z)
    out = tmp_path / "gale.tif"
    with marsgis_serve(spatialite_url, tmp_path) as base:
        wmts = f"WMTS:{base.removesuffix('/api/v1')}{TILES}/relief/WMTSCapabilities.xml"
        info = subprocess.run(
            ["gdalinfo", "-json", "-oo", f"TILEMATRIX={z}", wmts],
            check=False,
            cwd=tmp_path,
            env=gdal_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert info.returncode == 0, info.stderr
        translate = subprocess.run(
            [
                *("gdal_translate", "-q", "-oo", f"TILEMATRIX={z}", "-srcwin"),
                *(str(x * 256), str(y * 256), "512", "256", wmts, str(out)),
            ],
            check=False,
            cwd=tmp_path,
            env=gdal_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert translate.returncode == 0, translate.stderr
    import json

    doc = json.loads(info.stdout)
    crs = CRS.from_wkt(doc["coordinateSystem"]["wkt"])
    assert crs.to_authority() == ("IAU_2015", "49900")
    assert crs.ellipsoid.semi_major_metre == 3396190.0
    cols, rows = MARS_TMS.matrix(z).matrixWidth, MARS_TMS.matrix(z).matrixHeight
    assert doc["size"] == [cols * 256, rows * 256]
    cell = MARS_TMS.matrix(z).cellSize
    np.testing.assert_allclose(doc["geoTransform"], [-180.0, cell, 0.0, 90.0, 0.0, -cell])
    with rasterio.open(out) as ds:
        got = np.moveaxis(ds.read(), 0, -1)
        bounds = ds.bounds
    expected = np.concatenate([render_tile(z, x, y), render_tile(z, x + 1, y)], axis=1)
    assert got.shape == (256, 512, 4)
    np.testing.assert_array_equal(got, expected)
    tile = MARS_TMS.xy_bounds(x, y, z)
    np.testing.assert_allclose(
        [bounds.left, bounds.top, bounds.bottom], [tile.left, tile.top, tile.bottom]
    )
