"""Fixtures of the catalog tests: the local STAC API (see stac_test_server.py), a COG made by
GDAL from the shipped 1 m Gale DEM, and a private download cache."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stac_test_server import (
    GALE_MOLA_BIN,
    GALE_MOLA_JSON,
    MISSION_DEM,
    MOLA_IMG,
    MSL_TRAVERSE,
    StacServer,
    lonlat_bbox_of_raster,
    sha256_bytes,
)


@pytest.fixture(scope="session")
def mission_cog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A COG made by GDAL from the shipped 1 m Gale DEM."""
    out = tmp_path_factory.mktemp("cog") / "missionDEM-cog.tif"
    gdal = shutil.which("gdal_translate")
    assert gdal is not None, "gdal_translate (gdal-bin) is needed for the catalog tests"
    subprocess.run([gdal, "-q", "-of", "COG", str(MISSION_DEM), str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def stac_server(mission_cog: Path) -> Iterator[StacServer]:
    """The local STAC API: collections ``gale-dtm`` (1 m DEM, its COG), ``mola-megdr``
    (global 4 px/deg, Gale 128 px/deg window) and ``broken`` (bytes that do not match)."""
    srv = StacServer()
    tif = MISSION_DEM.read_bytes()
    cog = mission_cog.read_bytes()
    gale_bin = GALE_MOLA_BIN.read_bytes()
    mola = MOLA_IMG.read_bytes()
    corrupt = bytearray(tif)
    corrupt[len(corrupt) // 2] ^= 0xFF
    geotiff = "image/tiff; application=geotiff"

    def asset(href: str, data: bytes, mtype: str, *, checksum: str = "file") -> dict[str, Any]:
        out: dict[str, Any] = {
            "href": href,
            "type": mtype,
            "roles": ["data"],
            "file:size": len(data),
        }
        if checksum == "file":
            out["file:checksum"] = "1220" + sha256_bytes(data)
        else:
            out["marsgis:sha256"] = sha256_bytes(data)
        return out

    srv.add_collection("gale-dtm", "MMGIS 1 m Gale DTM")
    dem_bbox = lonlat_bbox_of_raster(MISSION_DEM)
    srv.add_item(
        "gale-dtm",
        "gale-1m",
        bbox=dem_bbox,
        datetime="2019-10-02T00:00:00Z",
        assets={"data": asset(srv.add_file("missionDEM.tif", tif), tif, geotiff)},
        extra={"proj:code": "ESRI:103885"},
    )
    srv.add_item(
        "gale-dtm",
        "gale-1m-cog",
        bbox=lonlat_bbox_of_raster(mission_cog),
        datetime="2019-10-02T00:00:00Z",
        assets={
            "data": asset(
                srv.add_file("missionDEM-cog.tif", cog), cog, geotiff + "; profile=cloud-optimized"
            )
        },
    )
    meta = json.loads(GALE_MOLA_JSON.read_text())["bounds"]
    srv.add_collection("mola-megdr", "MOLA MEGDR")
    srv.add_item(
        "mola-megdr",
        "gale-mola-window",
        bbox=[meta["west"], meta["south"], meta["east"], meta["north"]],
        datetime="2003-05-01T00:00:00Z",
        assets={
            "data": asset(
                srv.add_file("gale-mola.bin", gale_bin),
                gale_bin,
                "application/octet-stream",
                checksum="plain",
            )
        },
    )
    srv.add_item(
        "mola-megdr",
        "megt90n000cb",
        bbox=[0.0, -90.0, 360.0, 90.0],
        datetime="2003-05-01T00:00:00Z",
        assets={
            "data": asset(srv.add_file("megt90n000cb.img", mola), mola, "application/octet-stream")
        },
    )
    srv.add_collection("broken", "Served bytes differ from the checksum")
    bad = asset(srv.add_file("corrupt/missionDEM.tif", bytes(corrupt)), tif, geotiff)
    srv.add_item(
        "broken",
        "gale-1m-corrupt",
        bbox=dem_bbox,
        datetime="2019-10-02T00:00:00Z",
        assets={"data": bad},
    )
    traverse = MSL_TRAVERSE.read_bytes()
    points = [
        xy[:2]
        for feature in json.loads(traverse)["features"]
        for line in (
            feature["geometry"]["coordinates"]
            if feature["geometry"]["type"] == "MultiLineString"
            else [feature["geometry"]["coordinates"]]
        )
        for xy in line
    ]
    srv.add_collection("traverses", "Rover traverses (MMGIS)")
    srv.add_item(
        "traverses",
        "msl-traverse",
        bbox=[
            min(p[0] for p in points),
            min(p[1] for p in points),
            max(p[0] for p in points),
            max(p[1] for p in points),
        ],
        datetime="2026-04-25T00:00:00Z",
        assets={
            "data": asset(
                srv.add_file("MSL_traverse.geojson", traverse), traverse, "application/geo+json"
            )
        },
    )
    # served, but described by no item: a JSON file fetched by its bare href
    srv.add_file("gale-mola.json", GALE_MOLA_JSON.read_bytes())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def cache_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache dir (MARSGIS_CACHE_DIR) and a 30-day TTL for the test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(cache))
    monkeypatch.setenv("MARSGIS_CACHE_TTL_DAYS", "30")
    return cache
