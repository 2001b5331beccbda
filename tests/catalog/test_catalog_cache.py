"""marsgis.catalog.fetch / cached_assets / clear_expired: real downloads from the local STAC
API into a temp cache, indexed in SpatiaLite and PostGIS (the ``db_url`` fixture)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import sqlalchemy as sa
from shapely import wkt
from shapely.geometry import box
from stac_test_server import MISSION_DEM, StacServer, lonlat_bbox_of_raster

import marsgis
import marsgis.catalog as cat
from marsgis.data._registry import FILES
from marsgis.db import cache as db_cache
from marsgis.db.engine import get_engine
from marsgis.db.schema import MARS_SRID, mars_data_cache
from marsgis.exceptions import DatasetIntegrityError, RemoteCatalogError

pytestmark = pytest.mark.network


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def item(server: StacServer, item_id: str) -> pystac.Item:
    found = cat.search(collections=None, max_items=None, url=server.base + "/")
    return next(i for i in found if i.id == item_id)


def files_in(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def db_row(db_url: str, href: str) -> tuple[str, int]:
    """ST_AsText and ST_SRID of the stored bounds, read with SQL (not through marsgis)."""
    with get_engine(db_url).connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT ST_AsText(bounds), ST_SRID(bounds) FROM mars_data_cache WHERE href = :h"
            ),
            {"h": href},
        ).one()
    return str(row[0]), int(row[1])


def test_fetch_downloads_the_real_file_and_indexes_it(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    gale = item(stac_server, "gale-1m")
    path = cat.fetch(gale, db=db_url)
    assert path.is_file()
    assert path.parent.parent.parent == cache_env  # <cache>/assets/<key>/missionDEM.tif
    assert path.name == "missionDEM.tif"
    assert (
        sha256_of(path) == sha256_of(MISSION_DEM) == FILES["mmgis-gale-test-mission/missionDEM.tif"]
    )
    assert not [p for p in files_in(cache_env) if p.name.startswith(".part-")]

    href = f"{stac_server.base}/files/missionDEM.tif"
    row = db_cache.find_asset(href, db=db_url)
    assert row is not None
    assert row.path == path
    assert row.sha256 == sha256_of(MISSION_DEM)
    assert row.data_type == "dem"
    assert row.expires_at is not None
    assert row.expires_at - row.cached_at == timedelta(days=30)
    assert row.metadata["item_id"] == "gale-1m"
    assert row.metadata["collection"] == "gale-dtm"
    assert row.metadata["media_type"] == "image/tiff; application=geotiff"
    assert row.metadata["properties"]["ssys:targets"] == ["Mars"]
    assert row.metadata["size"] == MISSION_DEM.stat().st_size

    text, srid = db_row(db_url, href)
    assert srid == MARS_SRID == 949900
    expected = box(*lonlat_bbox_of_raster(MISSION_DEM))
    # SpatiaLite's ST_AsText prints 6 decimals (0.06 m on Mars; a 1 m pixel is 1.7e-5 degrees)
    assert wkt.loads(text).normalize().equals_exact(expected.normalize(), tolerance=1e-6)
    assert row.bounds is not None  # read back as WKB: full precision
    assert row.bounds.normalize().equals_exact(expected.normalize(), tolerance=1e-12)


def test_second_fetch_makes_no_http_request(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    gale = item(stac_server, "gale-1m")
    first = cat.fetch(gale, db=db_url)
    before = stac_server.count()
    assert cat.fetch(gale, db=db_url) == first
    # by the asset href too
    assert cat.fetch(f"{stac_server.base}/files/missionDEM.tif", db=db_url) == first
    assert stac_server.count() == before
    # refresh=True downloads again: exactly one request, for the file
    files_before = stac_server.count("/files/missionDEM.tif")
    assert cat.fetch(gale, db=db_url, refresh=True) == first
    assert stac_server.count("/files/missionDEM.tif") == files_before + 1
    assert stac_server.count() == before + 1


def test_corrupt_download_raises_and_leaves_nothing(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    broken = item(stac_server, "gale-1m-corrupt")
    with pytest.raises(DatasetIntegrityError) as err:
        cat.fetch(broken, db=db_url)
    href = f"{stac_server.base}/files/corrupt/missionDEM.tif"
    assert href in str(err.value)
    assert sha256_of(MISSION_DEM) in str(err.value)  # the checksum the item promised
    assert files_in(cache_env) == []
    assert db_cache.find_asset(href, db=db_url) is None
    assert cat.cached_assets(db=db_url) == []


def _expire(db_url: str, href: str) -> None:
    row = db_cache.find_asset(href, db=db_url)
    assert row is not None
    with get_engine(db_url).begin() as conn:
        conn.execute(
            sa.update(mars_data_cache)
            .where(mars_data_cache.c.href == href)
            .values(expires_at=row.cached_at - timedelta(seconds=1))
        )


def test_expired_entry_is_downloaded_again(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    gale = item(stac_server, "gale-1m")
    href = gale.assets["data"].href
    path = cat.fetch(gale, db=db_url)
    first = db_cache.find_asset(href, db=db_url)
    assert first is not None
    _expire(db_url, href)
    expired = db_cache.find_asset(href, db=db_url)
    assert expired is not None and expired.is_expired()

    before = stac_server.count("/files/missionDEM.tif")
    assert cat.fetch(gale, db=db_url) == path
    assert stac_server.count("/files/missionDEM.tif") == before + 1
    again = db_cache.find_asset(href, db=db_url)
    assert again is not None
    assert again.id == first.id  # the row was updated, not duplicated
    assert again.cached_at > first.cached_at
    assert again.expires_at is not None and again.expires_at - again.cached_at == timedelta(days=30)
    assert len(cat.cached_assets(db=db_url)) == 1
    assert sha256_of(path) == sha256_of(MISSION_DEM)


def test_missing_or_tampered_file_is_downloaded_again(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    gale = item(stac_server, "gale-1m")
    path = cat.fetch(gale, db=db_url)
    before = stac_server.count("/files/missionDEM.tif")
    path.unlink()
    assert cat.fetch(gale, db=db_url) == path
    assert stac_server.count("/files/missionDEM.tif") == before + 1
    with open(path, "r+b") as fh:  # flip one byte: the recorded sha256 no longer matches
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert cat.fetch(gale, db=db_url) == path
    assert stac_server.count("/files/missionDEM.tif") == before + 2
    assert sha256_of(path) == sha256_of(MISSION_DEM)


def test_ttl_from_environment_and_clear_expired(
    stac_server: StacServer, cache_env: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARSGIS_CACHE_TTL_DAYS", "0.5")
    gale = item(stac_server, "gale-1m")
    window = item(stac_server, "gale-mola-window")
    kept = cat.fetch(gale, db=db_url)
    dropped = cat.fetch(window, db=db_url)
    row = db_cache.find_asset(gale.assets["data"].href, db=db_url)
    assert row is not None and row.expires_at is not None
    assert row.expires_at - row.cached_at == timedelta(hours=12)
    _expire(db_url, window.assets["data"].href)
    assert cat.clear_expired(db=db_url) == [window.assets["data"].href]
    assert not dropped.exists()
    assert kept.exists()
    assert [a.href for a in cat.cached_assets(db=db_url)] == [gale.assets["data"].href]


def test_cached_assets_spatial_and_type_filters(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    ids = ["gale-1m", "gale-mola-window", "megt90n000cb"]
    items = {i: item(stac_server, i) for i in ids}
    for it in items.values():
        cat.fetch(it, db=db_url)
    by_href = {it.assets["data"].href: it for it in items.values()}
    # the global 0–360 grid is stored in −180–180 °E like every marsgis geometry
    glob = db_cache.find_asset(items["megt90n000cb"].assets["data"].href, db=db_url)
    assert glob is not None and glob.bounds is not None
    assert glob.bounds.bounds == (-180.0, -90.0, 180.0, 90.0)

    def expected(bbox: tuple[float, float, float, float]) -> set[str]:
        # shapely on the served item bboxes; a 0–360 query is also tried shifted by −360
        q = [box(*bbox), box(bbox[0] - 360, bbox[1], bbox[2] - 360, bbox[3])]
        out = set()
        for href, it in by_href.items():
            b = it.bbox
            boxes = [
                box(*b),
                box(b[0] - 360, b[1], b[2] - 360, b[3]),
                box(b[0] + 360, b[1], b[2] + 360, b[3]),
            ]
            if any(x.intersects(y) for x in boxes for y in q):
                out.add(href)
        return out

    for bbox in [
        (137.36, -4.67, 137.38, -4.66),  # the 1 m DEM
        (135.0, -8.0, 136.0, -7.0),  # inside the 128 px/deg window only
        (77.0, 18.0, 78.0, 19.0),  # Jezero
        (200.0, 10.0, 210.0, 20.0),  # 0–360 °E west of Tharsis
        (-160.0, 10.0, -150.0, 20.0),  # the same place in −180–180 °E
    ]:
        got = {a.href for a in cat.cached_assets(bbox, db=db_url)}
        assert got == expected(bbox), bbox
    assert [a.metadata["item_id"] for a in cat.cached_assets(data_type="dem", db=db_url)] == [
        "gale-1m"
    ]
    assert len(cat.cached_assets(db=db_url)) == 3


def test_marsgis_sha256_field_is_verified(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    window = item(stac_server, "gale-mola-window")
    assert "file:checksum" not in window.assets["data"].extra_fields
    path = cat.fetch(window, db=db_url)
    assert sha256_of(path) == FILES["gale-mola-128ppd-window/gale-mola.bin"]


def test_open_dem_on_a_fetched_cog(
    stac_server: StacServer, cache_env: Path, db_url: str, mission_cog: Path
) -> None:
    path = cat.fetch(item(stac_server, "gale-1m-cog"), db=db_url)
    assert sha256_of(path) == sha256_of(mission_cog)
    dem = marsgis.open_dem(path)
    with rasterio.open(MISSION_DEM) as src:
        ref = src.read(1, masked=True).astype("float64").filled(np.nan)
        assert dem.rio.bounds() == tuple(src.bounds)
    np.testing.assert_array_equal(dem.values.astype("float64"), ref)
    assert dem.attrs["units"] == "m"


def test_fetch_by_item_url_and_by_raw_asset_href(
    stac_server: StacServer, cache_env: Path, db_url: str, mission_cog: Path
) -> None:
    item_url = f"{stac_server.base}/collections/gale-dtm/items/gale-1m"
    path = cat.fetch(item_url, db=db_url)
    assert sha256_of(path) == sha256_of(MISSION_DEM)
    row = db_cache.find_asset(f"{stac_server.base}/files/missionDEM.tif", db=db_url)
    assert row is not None and row.metadata["item_id"] == "gale-1m"

    raw = f"{stac_server.base}/files/missionDEM-cog.tif"
    cog_path = cat.fetch(raw, db=db_url)
    assert sha256_of(cog_path) == sha256_of(mission_cog)
    cog_row = db_cache.find_asset(raw, db=db_url)
    assert cog_row is not None
    assert cog_row.data_type == "dem"  # one float band
    assert cog_row.bounds is not None
    assert cog_row.bounds.bounds == pytest.approx(lonlat_bbox_of_raster(mission_cog), abs=1e-9)


def test_fetch_a_shipped_item_copies_the_local_file(cache_env: Path, db_url: str) -> None:
    shipped = next(i for i in cat.shipped_catalog().get_items(recursive=True) if i.id == "gale-1m")
    path = cat.fetch(shipped, db=db_url)
    assert path != MISSION_DEM
    assert sha256_of(path) == FILES["mmgis-gale-test-mission/missionDEM.tif"]
    row = db_cache.find_asset(str(MISSION_DEM), db=db_url)
    assert row is not None and row.data_type == "dem"
    assert row.bounds is not None
    assert row.bounds.bounds == pytest.approx(lonlat_bbox_of_raster(MISSION_DEM), abs=1e-9)


def test_fetch_from_a_server_that_went_away(cache_env: Path, db_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    href = f"http://127.0.0.1:{port}/files/missionDEM.tif"
    with pytest.raises(RemoteCatalogError) as err:
        cat.fetch(href, db=db_url)
    assert href in str(err.value)
    assert files_in(cache_env) == []


def test_fetch_a_missing_asset_raises_with_the_status(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    href = f"{stac_server.base}/files/no-such-dtm.tif"
    with pytest.raises(RemoteCatalogError, match="HTTP 404") as err:
        cat.fetch(href, db=db_url)
    assert href in str(err.value)
    assert files_in(cache_env) == []
    assert db_cache.find_asset(href, db=db_url) is None


def test_parse_multihash() -> None:
    from marsgis.catalog._cache import parse_multihash

    digest = hashlib.sha256(b"Mars").hexdigest()
    assert parse_multihash("1220" + digest) == ("sha256", digest)
    md5 = hashlib.md5(b"Mars").hexdigest()
    assert parse_multihash("d50110" + md5) == ("md5", md5)
    with pytest.raises(marsgis.exceptions.ValidationError, match="0x99"):
        parse_multihash("990120" + "00" * 32)


def test_json_assets_vector_item_and_bare_json_href(
    stac_server: StacServer, cache_env: Path, db_url: str
) -> None:
    traverse = item(stac_server, "msl-traverse")
    path = cat.fetch(traverse, db=db_url)
    assert sha256_of(path) == FILES["rover-traverses-mmgis/MSL_traverse.json"]
    row = db_cache.find_asset(traverse.assets["data"].href, db=db_url)
    assert row is not None and row.data_type == "vector"
    assert row.bounds is not None and row.bounds.bounds == pytest.approx(traverse.bbox)
    gdf = marsgis.open_features(path, crs="IAU_2015:49900")
    assert len(gdf) == 1273
    # a JSON file that is not a STAC Item, fetched by its bare href, is stored as it is
    href = f"{stac_server.base}/files/gale-mola.json"
    json_path = cat.fetch(href, db=db_url)
    assert sha256_of(json_path) == FILES["gale-mola-128ppd-window/gale-mola.json"]
    bare = db_cache.find_asset(href, db=db_url)
    assert bare is not None and bare.bounds is None and bare.data_type == "other"
    assert [a.href for a in cat.cached_assets(data_type="vector", db=db_url)] == [row.href]
