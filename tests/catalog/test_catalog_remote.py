"""marsgis.catalog.search / collections against the local STAC API (pystac-client over HTTP)."""

from __future__ import annotations

import socket

import pystac
import pytest
import requests
from shapely.geometry import box
from stac_test_server import MISSION_DEM, StacServer, lonlat_bbox_of_raster

import marsgis.catalog as cat
from marsgis.config import DEFAULT_STAC_URL, settings
from marsgis.exceptions import RemoteCatalogError

pytestmark = pytest.mark.network


def expected_ids(
    server: StacServer, bbox: tuple[float, float, float, float], colls: list[str] | None = None
) -> set[str]:
    """Items whose bbox polygon intersects ``bbox``, by shapely (independent of the server)."""
    query = box(*bbox)
    return {
        i["id"]
        for i in server.all_items()
        if box(*i["bbox"]).intersects(query) and (colls is None or i["collection"] in colls)
    }


def test_default_url_is_usgs_and_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARSGIS_STAC_URL", raising=False)
    assert settings().stac_url == DEFAULT_STAC_URL == "https://stac.astrogeology.usgs.gov/api/"
    monkeypatch.setenv("MARSGIS_STAC_URL", "http://127.0.0.1:1/stac/")
    assert settings().stac_url == "http://127.0.0.1:1/stac/"


@pytest.mark.parametrize(
    "bbox",
    [
        (137.36, -4.67, 137.38, -4.66),  # the 1 m DEM: everything at Gale
        (134.0, -9.0, 136.0, -2.0),  # west of the 1 m DEM, inside the 128 px/deg window
        (77.0, 18.0, 78.0, 19.0),  # Jezero: only the global grid
        (137.3740, -4.6600, 137.3800, -4.6500),  # north-east of the 1 m DEM, just outside it
    ],
)
def test_search_bbox_matches_shapely(
    stac_server: StacServer,
    monkeypatch: pytest.MonkeyPatch,
    bbox: tuple[float, float, float, float],
) -> None:
    monkeypatch.setenv("MARSGIS_STAC_URL", stac_server.base + "/")
    found = cat.search(bbox=bbox)
    assert all(isinstance(i, pystac.Item) for i in found)
    assert sorted(i.id for i in found) == sorted(expected_ids(stac_server, bbox))
    assert len(found) == len({i.id for i in found})  # pages followed without repeats


def test_search_sees_the_real_dem_footprint(stac_server: StacServer) -> None:
    dem_box = lonlat_bbox_of_raster(MISSION_DEM)
    # 1 m at R = 3396190 m is 1.687e-5 degrees: the 348 px wide DEM spans 0.00587 degrees
    assert dem_box[2] - dem_box[0] == pytest.approx(
        348 * 180 / (3.141592653589793 * 3396190), rel=1e-9
    )
    found = cat.search(bbox=dem_box, collections="gale-dtm", url=stac_server.base + "/")
    assert sorted(i.id for i in found) == ["gale-1m", "gale-1m-cog"]
    item = next(i for i in found if i.id == "gale-1m")
    assert item.bbox == pytest.approx(dem_box)
    assert item.properties["ssys:targets"] == ["Mars"]
    assert item.assets["data"].href == f"{stac_server.base}/files/missionDEM.tif"


def test_search_collections_filter_and_paging(stac_server: StacServer) -> None:
    url = stac_server.base + "/"
    everything = (0.0, -90.0, 360.0, 90.0)
    assert sorted(
        i.id for i in cat.search(bbox=everything, collections=["mola-megdr"], url=url)
    ) == [
        "gale-mola-window",
        "megt90n000cb",
    ]
    all_ids = expected_ids(stac_server, everything)
    assert len(all_ids) == 6
    before = stac_server.count("/search")
    assert {i.id for i in cat.search(bbox=everything, url=url)} == all_ids
    assert stac_server.count("/search") - before == 3  # 6 items, 2 per page
    assert len(cat.search(bbox=everything, url=url, max_items=1)) == 1


def test_search_uses_post_and_get_both_answer(stac_server: StacServer) -> None:
    url = stac_server.base + "/"
    bbox = (137.36, -4.67, 137.38, -4.66)
    cat.search(bbox=bbox, url=url)
    assert ("POST", "/search") in stac_server.log
    resp = requests.get(
        f"{stac_server.base}/search",
        params={"bbox": ",".join(map(str, bbox)), "limit": 10},
        timeout=10,
    )
    assert resp.status_code == 200
    assert {f["id"] for f in resp.json()["features"]} == expected_ids(stac_server, bbox)


def test_collections_lists_the_server_collections(stac_server: StacServer) -> None:
    colls = cat.collections(url=stac_server.base + "/")
    assert sorted(c.id for c in colls) == ["broken", "gale-dtm", "mola-megdr", "traverses"]
    gale = next(c for c in colls if c.id == "gale-dtm")
    assert gale.extent.spatial.bboxes[0] == pytest.approx(lonlat_bbox_of_raster(MISSION_DEM))


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_down_raises_remote_catalog_error(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/"
    monkeypatch.setenv("MARSGIS_STAC_URL", url)
    with pytest.raises(RemoteCatalogError) as err:
        cat.search(bbox=(137.0, -5.0, 138.0, -4.0))
    msg = str(err.value)
    assert url in msg
    assert "MARSGIS_STAC_URL" in msg
    assert "shipped_catalog()" in msg
    with pytest.raises(RemoteCatalogError, match="refused"):
        cat.collections()


@pytest.mark.parametrize(
    ("prefix", "reason"), [("broken-500", "HTTP 500"), ("broken-json", "not valid STAC JSON")]
)
def test_bad_answers_raise_remote_catalog_error(
    stac_server: StacServer, prefix: str, reason: str
) -> None:
    url = f"{stac_server.base}/{prefix}/"
    with pytest.raises(RemoteCatalogError, match=reason) as err:
        cat.search(bbox=(137.0, -5.0, 138.0, -4.0), url=url)
    assert url in str(err.value)
    with pytest.raises(RemoteCatalogError, match=reason):
        cat.collections(url=url)


def test_collection_items_endpoint_pages_with_next_links(stac_server: StacServer) -> None:
    from pystac_client import Client

    client = Client.open(stac_server.base + "/")
    gale = client.get_collection("gale-dtm")
    before = stac_server.count("/collections/gale-dtm/items")
    assert sorted(i.id for i in gale.get_items()) == ["gale-1m", "gale-1m-cog"]
    traverses = client.get_collection("traverses")
    (traverse,) = list(traverses.get_items())
    assert traverse.assets["data"].media_type == "application/geo+json"
    assert stac_server.count("/collections/gale-dtm/items") - before == 1  # 2 items, one page


def test_bad_arguments_are_validation_errors_not_remote_ones(stac_server: StacServer) -> None:
    from marsgis.exceptions import ValidationError

    url = stac_server.base + "/"
    with pytest.raises(ValidationError, match="datetime='last tuesday'"):
        cat.search(bbox=(137.0, -5.0, 138.0, -4.0), datetime="last tuesday", url=url)
    with pytest.raises(ValidationError, match="latitude 95.0"):
        cat.search(bbox=(137.0, -5.0, 138.0, 95.0), url=url)
    # a datetime interval is passed through to the API
    found = cat.search(
        bbox=(137.36, -4.67, 137.38, -4.66), datetime="2000-01-01/2030-01-01", url=url
    )
    assert {i.id for i in found} == expected_ids(stac_server, (137.36, -4.67, 137.38, -4.66))
