"""The shipped static STAC catalog, checked against the files themselves.

Schema validation runs offline: the STAC core schemas bundled with pystac validate every
object; the extension schemas (proj, file, ssys, timestamps) live on the web, so their fields
are checked here directly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
from pyproj import CRS
from pystac.validation import validate_dict
from pystac.validation.stac_validator import JsonSchemaSTACValidator
from shapely import wkb
from stac_test_server import GALE_MOLA_JSON, MISSION_DEM, lonlat_bbox_of_raster

import marsgis
import marsgis.catalog as cat
from marsgis.data import DATA_DIR, RASTERS, VECTORS
from marsgis.data._registry import FILES

PROJ = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
FILE = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
SSYS = "https://stac-extensions.github.io/ssys/v1.1.0/schema.json"


class CoreOnlyValidator(JsonSchemaSTACValidator):  # type: ignore[misc]
    """pystac's JSON-schema validator with the bundled core schemas, extensions skipped."""

    def validate_extension(self, *args: Any, **kwargs: Any) -> None:
        return None


def _coords(geom: dict[str, Any]) -> list[list[float]]:
    """Every position of a GeoJSON geometry."""

    def walk(c: Any) -> list[list[float]]:
        if isinstance(c[0], (int, float)):
            return [c]
        return [p for sub in c for p in walk(sub)]

    return walk(geom["coordinates"])


def independent_bbox(name: str) -> list[float]:
    """The lon/lat extent of each shipped dataset, read from the files without marsgis."""
    if name == "mola":  # 720×1440 grid of 0.25° cells from 90°N and 0°E (PROVENANCE.md)
        return [0.0, -90.0, 360.0, 90.0]
    if name == "gale-mola":
        b = json.loads(GALE_MOLA_JSON.read_text())["bounds"]
        return [b["west"], b["south"], b["east"], b["north"]]
    if name == "gale-1m":
        return lonlat_bbox_of_raster(MISSION_DEM)
    if name == "gazetteer":
        df = pd.read_csv(DATA_DIR / VECTORS[name].path)
        lon, lat = df["Center_Longitude"], df["Center_Latitude"]
    elif name == "craters":
        df = pd.read_csv(DATA_DIR / VECTORS[name].path, encoding="utf-8-sig")
        lon, lat = df["LON_CIRC_IMG"], df["LAT_CIRC_IMG"]
    elif name in ("msl-traverse", "m20-traverse"):
        doc = json.loads((DATA_DIR / VECTORS[name].path).read_text())
        pts = np.array([p[:2] for f in doc["features"] for p in _coords(f["geometry"])])
        lon, lat = pd.Series(pts[:, 0]), pd.Series(pts[:, 1])
    elif name == "msl-stops":  # local metres from Bradbury Landing, inverse of PROVENANCE.md
        doc = json.loads((DATA_DIR / VECTORS[name].path).read_text())
        x = np.array([p["x"] for p in doc["points"]])
        z = np.array([p["z"] for p in doc["points"]])
        lon = pd.Series(137.4417 + x / (461.0008178752798 * 128))
        lat = pd.Series(-4.5895 - z / (463.05766716974557 * 128))
    elif name == "msl-waypoints":
        df = pd.read_csv(DATA_DIR / VECTORS[name].path)
        geoms = [wkb.loads(bytes.fromhex(h)) for h in df["geom"]]
        lon = pd.Series([g.x for g in geoms])
        lat = pd.Series([g.y for g in geoms])
    else:  # pragma: no cover
        raise AssertionError(name)
    return [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]


@pytest.fixture(scope="module")
def items() -> dict[str, pystac.Item]:
    return {i.id: i for i in cat.shipped_catalog().get_items(recursive=True)}


def test_one_item_per_shipped_dataset(items: dict[str, pystac.Item]) -> None:
    assert set(items) == set(RASTERS) | set(VECTORS)
    catalog = cat.shipped_catalog()
    assert {c.id for c in catalog.get_children()} == {"marsgis-dems", "marsgis-vectors"}
    dems = catalog.get_child("marsgis-dems")
    assert dems is not None
    assert sorted(i.id for i in dems.get_items()) == sorted(RASTERS)


@pytest.mark.parametrize("name", [*RASTERS, *VECTORS])
def test_bbox_and_geometry_match_the_data(items: dict[str, pystac.Item], name: str) -> None:
    item = items[name]
    expected = independent_bbox(name)
    assert item.bbox == pytest.approx(expected, abs=1e-9)
    ring = item.geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert [min(xs), min(ys), max(xs), max(ys)] == pytest.approx(expected, abs=1e-9)
    assert item.properties["ssys:targets"] == ["Mars"]
    assert (
        SSYS in item.stac_extensions
        and PROJ in item.stac_extensions
        and FILE in item.stac_extensions
    )
    has_time = item.datetime is not None or (
        item.properties.get("start_datetime") and item.properties.get("end_datetime")
    )
    assert has_time


@pytest.mark.parametrize("name", [*RASTERS, *VECTORS])
def test_asset_hrefs_exist_and_checksums_match(items: dict[str, pystac.Item], name: str) -> None:
    for asset in items[name].assets.values():
        path = Path(asset.href)
        assert path.is_file()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rel = path.relative_to(DATA_DIR).as_posix()
        assert FILES[rel] == digest == asset.extra_fields["marsgis:sha256"]
        assert asset.extra_fields["file:checksum"] == "1220" + digest
        assert asset.extra_fields["file:size"] == path.stat().st_size
    data = items[name].assets["data"]
    expected = {
        "mola": "mola-megdr-4ppd/megt90n000cb.img",  # the IMG; its .lbl is the "label" asset
        "gale-mola": "gale-mola-128ppd-window/gale-mola.bin",
        "gale-1m": "mmgis-gale-test-mission/missionDEM.tif",
    }.get(name) or VECTORS[name].path
    assert Path(data.href) == DATA_DIR / expected
    assert data.roles == ["data"]


@pytest.mark.parametrize("name", ["mola", "gale-1m"])
def test_dem_data_assets_open_as_the_named_dem(items: dict[str, pystac.Item], name: str) -> None:
    from_asset = marsgis.open_dem(items[name].assets["data"].href)
    by_name = marsgis.open_dem(name)
    np.testing.assert_array_equal(from_asset.values, by_name.values)
    assert from_asset.rio.bounds() == by_name.rio.bounds()
    assert list(items[name].properties["proj:shape"]) == list(from_asset.shape)


def test_projection_fields_of_the_1m_dem(items: dict[str, pystac.Item]) -> None:
    props = items["gale-1m"].properties
    with rasterio.open(MISSION_DEM) as src:
        assert props["proj:shape"] == [src.height, src.width] == [337, 348]
        assert props["proj:transform"] == list(src.transform)[:6]
        assert props["proj:bbox"] == list(src.bounds)
        assert CRS.from_wkt(props["proj:wkt2"]) == CRS.from_wkt(src.crs.to_wkt())
    assert props["proj:code"] == "ESRI:103885"  # Mars 2000 equidistant cylindrical, clon 0


def test_projection_fields_of_the_mola_grids(items: dict[str, pystac.Item]) -> None:
    mola = items["mola"].properties
    assert mola["proj:code"] == "IAU_2015:49900"
    assert mola["proj:shape"] == [720, 1440]
    assert mola["proj:transform"] == [0.25, 0.0, 0.0, 0.0, -0.25, 90.0]
    gale = items["gale-mola"].properties
    b = json.loads(GALE_MOLA_JSON.read_text())["bounds"]
    assert gale["proj:shape"] == [897, 897]
    assert gale["proj:transform"] == pytest.approx(
        [1 / 128, 0.0, b["west"], 0.0, -1 / 128, b["north"]]
    )
    assert CRS.from_wkt(gale["proj:wkt2"]).ellipsoid.semi_major_metre == 3396190.0
    # the product release date from the MEGDR label
    assert items["mola"].properties["published"] == "2003-05-01T00:00:00Z"


def test_written_catalog_validates_offline(tmp_path: Path) -> None:
    root = cat.write_shipped_catalog(tmp_path / "stac")
    assert root == tmp_path / "stac" / "catalog.json"
    validator = CoreOnlyValidator()
    docs = sorted((tmp_path / "stac").rglob("*.json"))
    assert len(docs) == 1 + 2 + len(RASTERS) + len(VECTORS)
    for doc_path in docs:
        doc = json.loads(doc_path.read_text())
        # raises STACValidationError on a violation; returns the core schema it checked
        checked = validate_dict(doc, validator=validator, href=str(doc_path))
        kind = {"Feature": "item", "Catalog": "catalog", "Collection": "collection"}[doc["type"]]
        assert checked == [
            f"https://schemas.stacspec.org/v1.1.0/{kind}-spec/json-schema/{kind}.json"
        ]
        hrefs = [link["href"] for link in doc["links"]]
        assert all(not h.startswith(("/", "http")) for h in hrefs), doc_path  # self-contained
    read = pystac.Catalog.from_file(str(root))
    assert {i.id for i in read.get_items(recursive=True)} == set(RASTERS) | set(VECTORS)


def test_written_catalog_with_copied_assets_is_movable(tmp_path: Path) -> None:
    cat.write_shipped_catalog(tmp_path / "a", copy_assets=True)
    (tmp_path / "a").rename(tmp_path / "b")
    read = pystac.Catalog.from_file(str(tmp_path / "b" / "catalog.json"))
    gale = next(i for i in read.get_items(recursive=True) if i.id == "gale-1m")
    assert not gale.assets["data"].href.startswith("/")
    path = Path(gale.assets["data"].get_absolute_href())
    assert path.is_relative_to(tmp_path / "b")
    assert (
        hashlib.sha256(path.read_bytes()).hexdigest()
        == gale.assets["data"].extra_fields["marsgis:sha256"]
    )
    dem = marsgis.open_dem(path)
    assert dem.shape == (337, 348)


def test_shipped_catalog_is_a_fresh_copy() -> None:
    first = cat.shipped_catalog()
    next(first.get_items(recursive=True)).properties["title"] = "edited"
    assert all(
        i.properties["title"] != "edited" for i in cat.shipped_catalog().get_items(recursive=True)
    )
