"""``/api/v1/stac``: the shipped catalog as a STAC API, opened by pystac-client on a real server.

Expected answers are computed independently from :func:`marsgis.catalog.shipped_catalog`'s
items (footprints with shapely, times from the item properties).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pystac
import pytest
from api_service import ROLES, Service, marsgis_serve
from pystac_client import Client
from shapely.geometry import box

from marsgis import db
from marsgis.catalog import shipped_catalog

GALE = (137.2, -5.0, 137.6, -4.4)
STAC_CORE = "https://api.stacspec.org/v1.0.0/core"


def _items() -> list[pystac.Item]:
    return list(shipped_catalog().get_items(recursive=True))


def _intersecting(query: tuple[float, float, float, float]) -> set[str]:
    shape = box(*query)
    return {i.id for i in _items() if box(*i.bbox).intersects(shape)}


def _times(item: pystac.Item) -> tuple[datetime, datetime]:
    if item.datetime is not None:
        return item.datetime, item.datetime
    start, end = item.common_metadata.start_datetime, item.common_metadata.end_datetime
    assert start is not None and end is not None
    return start, end


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real ``marsgis serve`` on a free loopback port: (base URL, a viewer's token)."""
    tmp = tmp_path_factory.mktemp("stac-server")
    url = f"sqlite:///{tmp / 'marsgis.sqlite'}"
    db.upgrade(url)
    _, secret = db.tokens.create_token("vera", "viewer", db=url)
    try:
        with marsgis_serve(url, tmp) as base:
            yield base, secret
    finally:
        db.dispose_engines()


def _client(server: tuple[str, str]) -> Client:
    base, secret = server
    return Client.open(f"{base}/stac/", headers={"Authorization": f"Bearer {secret}"})


def test_pystac_client_opens_the_api_and_lists_collections(server: tuple[str, str]) -> None:
    client = _client(server)
    assert client.conforms_to("ITEM_SEARCH") and client.conforms_to("COLLECTIONS")
    assert sorted(c.id for c in client.get_collections()) == ["marsgis-dems", "marsgis-vectors"]
    dems = client.get_collection("marsgis-dems")
    expected = sorted(i.id for i in _items() if i.collection_id == "marsgis-dems")
    assert sorted(i.id for i in dems.get_items()) == expected == ["gale-1m", "gale-mola", "mola"]
    # every link is an absolute URL of this API
    assert client.get_self_href() == f"{server[0]}/stac/"


def test_pystac_client_bbox_search_returns_the_intersecting_items(
    server: tuple[str, str],
) -> None:
    client = _client(server)
    found = client.search(bbox=GALE).item_collection()
    expected = _intersecting(GALE)
    assert {i.id for i in found} == expected
    # Gale: the global and Gale DEMs, the MSL products and the global point sets; not Jezero
    assert expected == {
        "mola",
        "gale-mola",
        "gale-1m",
        "gazetteer",
        "craters",
        "msl-traverse",
        "msl-stops",
        "msl-waypoints",
    }
    item = next(i for i in found if i.id == "gale-1m")
    original = next(i for i in _items() if i.id == "gale-1m")
    assert item.bbox == original.bbox
    assert item.assets["data"].href == original.assets["data"].href
    assert item.get_self_href() == f"{server[0]}/stac/collections/marsgis-dems/items/gale-1m"
    # Jezero in −180–180 and in 0–360 finds the M20 traverse (and the global items) only
    jezero = (77.0, 18.0, 78.0, 19.0)
    assert {i.id for i in client.search(bbox=jezero).items()} == _intersecting(jezero)
    assert "m20-traverse" in _intersecting(jezero)


def test_pystac_client_datetime_and_collection_searches(server: tuple[str, str]) -> None:
    client = _client(server)
    # an instant during the MOLA mission
    when = datetime(1999, 6, 1, tzinfo=UTC)
    found = {i.id for i in client.search(datetime=when).items()}
    expected = {i.id for i in _items() if _times(i)[0] <= when <= _times(i)[1]}
    assert found == expected == {"mola", "gale-mola"}
    # an open-ended interval: everything that ends on or after 2021-01-01
    start = datetime(2021, 1, 1, tzinfo=UTC)
    found = {i.id for i in client.search(datetime=[start, None]).items()}
    assert found == {i.id for i in _items() if _times(i)[1] >= start}
    assert "m20-traverse" in found and "mola" not in found
    # collections and ids
    vectors = {i.id for i in client.search(collections=["marsgis-vectors"]).items()}
    assert vectors == {i.id for i in _items() if i.collection_id == "marsgis-vectors"}
    assert {i.id for i in client.search(ids=["mola", "craters"]).items()} == {"mola", "craters"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paging_with_limit_one_walks_every_item(server: tuple[str, str], method: str) -> None:
    client = _client(server)
    search = client.search(limit=1, method=method)
    pages = list(search.pages())
    assert all(len(page.items) == 1 for page in pages)
    ids = [page.items[0].id for page in pages]
    assert len(ids) == len(set(ids)) == len(_items())
    assert set(ids) == {i.id for i in _items()}


def test_landing_page_and_conformance(service: Service) -> None:
    landing = service.call("GET", "/api/v1/stac/", role="viewer")
    assert landing.status_code == 200, landing.text
    doc = landing.json()
    assert STAC_CORE in doc["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/item-search" in doc["conformsTo"]
    rels = {link["rel"]: link["href"] for link in doc["links"]}
    base = "http://testserver/api/v1/stac"
    assert rels["self"] == rels["root"] == f"{base}/"
    assert rels["data"] == f"{base}/collections"
    assert rels["conformance"] == f"{base}/conformance"
    assert rels["search"] == f"{base}/search"
    assert rels["service-desc"] == "http://testserver/api/v1/openapi.json"
    conformance = service.call("GET", "/api/v1/stac/conformance", role="viewer")
    assert conformance.json()["conformsTo"] == doc["conformsTo"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_catalog_and_no_token_is_401(service: Service, role: str) -> None:
    ok = service.call("GET", "/api/v1/stac/collections", role=role)
    assert ok.status_code == 200
    assert [c["id"] for c in ok.json()["collections"]] == ["marsgis-dems", "marsgis-vectors"]
    refused = service.call("GET", "/api/v1/stac/collections")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


def test_unknown_collection_or_item_is_a_404_problem(service: Service) -> None:
    for path in (
        "/api/v1/stac/collections/nope",
        "/api/v1/stac/collections/nope/items",
        "/api/v1/stac/collections/marsgis-dems/items/nope",
    ):
        response = service.call("GET", path, role="viewer")
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert "nope" in body["detail"] and body["trace_id"] == response.headers["x-request-id"]


def test_bad_search_parameters_are_422_problems(service: Service) -> None:
    for query in ("bbox=1,2,3", "bbox=a,b,c,d", "datetime=yesterday", "limit=0"):
        response = service.call("GET", f"/api/v1/stac/search?{query}", role="viewer")
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"


def test_bbox_crossing_180_and_in_0_360_longitudes(service: Service) -> None:
    """A box across 180° (170 to −170 °E) equals the same box in 0–360 (170 to 190 °E)."""
    expected = _intersecting((170.0, -10.0, 190.0, 10.0))  # the shipped data are 0–360 °E
    assert expected == {"mola", "gazetteer", "craters"}  # only the global items reach 180°
    for bbox in ("170,-10,-170,10", "170,-10,190,10"):
        across = service.call("GET", f"/api/v1/stac/search?bbox={bbox}", role="viewer")
        assert {f["id"] for f in across.json()["features"]} == expected, bbox
    # −30..−20 °E is 330..340 °E
    west = service.call(
        "POST",
        "/api/v1/stac/search",
        role="viewer",
        json={"bbox": [-30.0, -5.0, -20.0, 5.0], "limit": 100},
    )
    assert {f["id"] for f in west.json()["features"]} == _intersecting((330.0, -5.0, 340.0, 5.0))
    assert west.json()["numberMatched"] == 3


def test_collection_items_page_with_next_links(service: Service) -> None:
    expected = [i.id for i in _items() if i.collection_id == "marsgis-vectors"]
    url: str | None = "/api/v1/stac/collections/marsgis-vectors/items?limit=2"
    seen: list[str] = []
    while url is not None:
        page = service.call("GET", url, role="viewer")
        assert page.status_code == 200 and page.headers["content-type"] == "application/geo+json"
        body = page.json()
        assert body["numberMatched"] == len(expected) and body["numberReturned"] <= 2
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].removeprefix("http://testserver") if nxt else None
    assert seen == expected
    assert len(expected) == 6


GALE_CRATER = {
    "type": "Polygon",
    "coordinates": [[[137.0, -5.5], [138.2, -5.5], [138.2, -4.2], [137.0, -4.2], [137.0, -5.5]]],
}
# from Jezero to Gale: crosses the global items and the Gale windows, and both traverses' boxes
JEZERO_TO_GALE = {"type": "LineString", "coordinates": [[77.3, 18.45], [137.4, -4.7]]}
EAST_OF_GALE = {"type": "Point", "coordinates": [139.0, -3.0]}  # the Gale MOLA window only
ELYSIUM_WEST = {"type": "Point", "coordinates": [-170.0, 5.0]}  # 190 °E: global items only


def _footprints_meeting(geometry: dict[str, object]) -> set[str]:
    """Items whose own footprint (0–360 °E) meets ``geometry`` moved into 0–360 °E."""
    from shapely import affinity
    from shapely.geometry import shape

    query = shape(geometry)
    if query.bounds[0] < 0:
        query = affinity.translate(query, xoff=360.0)
    return {i.id for i in _items() if shape(i.geometry).intersects(query)}


@pytest.mark.parametrize(
    "geometry",
    [GALE_CRATER, JEZERO_TO_GALE, EAST_OF_GALE, ELYSIUM_WEST],
    ids=["polygon", "line", "point", "west-longitude"],
)
def test_pystac_client_intersects_search_returns_the_intersecting_footprints(
    server: tuple[str, str], geometry: dict[str, object]
) -> None:
    client = _client(server)
    expected = _footprints_meeting(geometry)
    for method in ("POST", "GET"):
        found = {i.id for i in client.search(intersects=geometry, method=method).items()}
        assert found == expected, method
    assert len(expected) < len(_items())  # each query leaves some items out


def test_intersects_expected_sets_are_the_named_items() -> None:
    """The reference sets above, spelled out (Gale's windows, not Jezero; a line across both)."""
    globals_ = {"mola", "gazetteer", "craters"}
    assert _footprints_meeting(EAST_OF_GALE) == globals_ | {"gale-mola"}
    assert _footprints_meeting(ELYSIUM_WEST) == globals_
    assert {"m20-traverse", "gale-mola", "msl-traverse"} <= _footprints_meeting(JEZERO_TO_GALE)
    assert "m20-traverse" not in _footprints_meeting(GALE_CRATER)


def test_bad_intersects_is_a_422_problem(service: Service) -> None:
    import json

    bad_get = ["not json", json.dumps({"type": "Circle", "coordinates": [0, 0]}), "[1, 2]"]
    for value in bad_get:
        response = service.call(
            "GET", "/api/v1/stac/search", params={"intersects": value}, role="viewer"
        )
        assert response.status_code == 422, value
        assert response.headers["content-type"] == "application/problem+json"
        assert "intersects" in response.json()["detail"]
    both = service.call(
        "POST",
        "/api/v1/stac/search",
        role="viewer",
        json={"bbox": list(GALE), "intersects": EAST_OF_GALE},
    )
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    polar = service.call(
        "POST",
        "/api/v1/stac/search",
        role="viewer",
        json={"intersects": {"type": "Point", "coordinates": [10.0, 95.0]}},
    )
    assert polar.status_code == 422 and "out of range" in polar.json()["detail"]


def test_links_carry_the_hub_service_prefix(service: Service) -> None:
    """Behind the hub's proxy (``/services/marsgis-api``) every STAC link keeps the prefix."""
    from marsgis.api import create_app

    prefix = "/services/marsgis-api"
    prefixed = Service(url=service.url, app=create_app(service.url, prefix=prefix))
    prefixed.tokens.update(service.tokens)
    base = f"http://testserver{prefix}/api/v1/stac"
    landing = prefixed.call("GET", f"{prefix}/api/v1/stac/", role="viewer").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["self"] == rels["root"] == f"{base}/"
    assert rels["data"] == f"{base}/collections"
    assert rels["service-desc"] == f"http://testserver{prefix}/api/v1/openapi.json"
    assert sorted(
        h for r, h in ((x["rel"], x["href"]) for x in landing["links"]) if r == "child"
    ) == [
        f"{base}/collections/marsgis-dems",
        f"{base}/collections/marsgis-vectors",
    ]
    page = prefixed.call(
        "GET", f"{prefix}/api/v1/stac/search?ids=gale-1m,mola&limit=1", role="viewer"
    )
    body = page.json()
    assert body["numberMatched"] == 2 and len(body["features"]) == 1
    feature = body["features"][0]
    self_href = next(x["href"] for x in feature["links"] if x["rel"] == "self")
    assert self_href == f"{base}/collections/marsgis-dems/items/{feature['id']}"
    (next_href,) = (x["href"] for x in body["links"] if x["rel"] == "next")
    assert next_href.startswith(f"{base}/search?") and "token=1" in next_href
    second = prefixed.call("GET", next_href.removeprefix("http://testserver"), role="viewer")
    assert {feature["id"], second.json()["features"][0]["id"]} == {"gale-1m", "mola"}
    # without a token the prefixed STAC routes refuse like every other route
    refused = prefixed.call("GET", f"{prefix}/api/v1/stac/collections")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
