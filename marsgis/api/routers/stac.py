"""``/stac``: the shipped data catalog as a STAC API (core, collections, item-search, features).

The catalog is :func:`marsgis.catalog.shipped_catalog` (collections ``marsgis-dems`` and
``marsgis-vectors``), served from memory: landing page, ``/conformance``, ``/collections``,
``/collections/{id}``, ``/collections/{id}/items`` (``limit`` + ``next`` paging),
``/collections/{id}/items/{item_id}`` and ``/search`` (``GET`` and ``POST``: ``bbox``,
``intersects``, ``datetime``, ``collections``, ``ids``, ``limit``, ``token``). ``intersects``
is a GeoJSON geometry (in ``GET``, its JSON text); an item matches when the geometry
intersects the item's footprint, taken as it is and shifted by ±360° so that either longitude
convention finds it. Every link is an absolute URL of
this API, built from the request's base URL; asset hrefs stay the shipped files. Longitudes of
a ``bbox`` may be 0–360 or −180–180 °E, and ``west > east`` crosses the 180° meridian. Errors
are the app's problem documents (an unknown collection or item is a ``404``).

Why the routes are written here rather than with stac-fastapi: ``stac-fastapi.api`` 7.0 builds
its own FastAPI application (``StacApi``) with its own exception handlers (``{"code",
"description"}`` bodies, not RFC 9457 problem documents with a ``trace_id``), its own default
middlewares (brotli, CORS, proxy headers) and stac-pydantic request models, and would add nine
packages (stac-fastapi.api, stac-fastapi.types, stac-pydantic, geojson-pydantic, brotli-asgi,
brotli, pydantic-settings, python-dotenv, iso8601; ``pip install --dry-run``). Mounted as a
sub-application it would bypass this app's problem handlers and CORS policy; taking only its
router would still need its settings and request models. The protocol for a dozen static Items
is a few routes over pystac's own dictionaries, so they live here, behind the same
``require(scope)`` as every other router (a judgement made within the issue's time box, not a
failed integration: stac-fastapi was not installed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from shapely import affinity
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from marsgis.api.auth import require
from marsgis.api.models import Problem
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import DATA_READ
from marsgis.catalog import shipped_catalog
from marsgis.dates import to_utc
from marsgis.exceptions import DataNotFoundError, ValidationError

__all__ = ["CONFORMS_TO", "PREFIX", "SearchBody", "router"]

PREFIX = f"{API_PREFIX}/stac"
STAC_VERSION = "1.0.0"
GEOJSON = "application/geo+json"
#: Conformance classes this API implements.
CONFORMS_TO: tuple[str, ...] = (
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 422)
}
router = APIRouter(
    prefix=PREFIX,
    tags=["stac"],
    responses=_ERRORS,
    dependencies=[Depends(require(DATA_READ))],
)


class GeoJSONResponse(JSONResponse):
    """A JSON response typed ``application/geo+json`` (items and item collections)."""

    media_type = GEOJSON


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Token = Annotated[str | None, Query(description="Paging token from a `next` link.")]
BboxQuery = Annotated[
    str | None, Query(description="W,S,E,N in °E/°N (0–360 or −180–180; W > E crosses 180°).")
]
IntersectsQuery = Annotated[
    str | None,
    Query(description="A GeoJSON geometry as JSON text (°E/°N); not together with bbox."),
]
DatetimeQuery = Annotated[
    str | None, Query(description="RFC 3339 instant or interval `start/end` (`..` = open).")
]


class SearchBody(BaseModel):
    """The body of ``POST /search``."""

    model_config = ConfigDict(extra="ignore")

    bbox: list[float] | None = Field(default=None, description="W,S,E,N (°E/°N).")
    intersects: dict[str, Any] | None = Field(
        default=None, description="A GeoJSON geometry (°E/°N); not together with bbox."
    )
    datetime: str | None = Field(default=None, description="Instant or interval.")
    collections: list[str] | None = None
    ids: list[str] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    token: str | None = None


@lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, dict[str, Any]], tuple[dict[str, Any], ...]]:
    """The collections (by id) and items of the shipped catalog as link-less STAC dicts."""
    collections: dict[str, dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for child in shipped_catalog().get_children():
        doc = child.to_dict(include_self_link=False, transform_hrefs=False)
        doc["links"] = []
        collections[child.id] = doc
        for item in child.get_items():
            item_doc = item.to_dict(include_self_link=False, transform_hrefs=False)
            item_doc["links"] = []
            item_doc["collection"] = child.id
            items.append(item_doc)
    return collections, tuple(items)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _link(rel: str, href: str, type_: str = "application/json", **extra: Any) -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": type_, **extra}


def _collection_doc(request: Request, doc: Mapping[str, Any]) -> dict[str, Any]:
    base = _base(request)
    url = f"{base}/collections/{doc['id']}"
    return {
        **doc,
        "links": [
            _link("self", url),
            _link("root", f"{base}/"),
            _link("parent", f"{base}/"),
            _link("items", f"{url}/items", GEOJSON),
        ],
    }


def _item_doc(request: Request, doc: Mapping[str, Any]) -> dict[str, Any]:
    base = _base(request)
    collection = f"{base}/collections/{doc['collection']}"
    return {
        **doc,
        "links": [
            _link("self", f"{collection}/items/{doc['id']}", GEOJSON),
            _link("parent", collection),
            _link("collection", collection),
            _link("root", f"{base}/"),
        ],
    }


def _collection(collection_id: str) -> dict[str, Any]:
    collections, _ = _shipped()
    if collection_id not in collections:
        raise DataNotFoundError(
            f"STAC collection {collection_id!r} does not exist; choose one of "
            f"{sorted(collections)} (GET {PREFIX}/collections)"
        )
    return collections[collection_id]


# --- filters ---------------------------------------------------------------------------------


def _lon_ranges(west: float, east: float) -> list[tuple[float, float]]:
    """The longitudes ``west``→``east`` (eastward) as ranges within [0, 360]."""
    width = east - west if west <= east else east - west + 360.0
    if width >= 360.0:
        return [(0.0, 360.0)]
    start = west % 360.0
    if start + width <= 360.0:
        return [(start, start + width)]
    return [(start, 360.0), (0.0, start + width - 360.0)]


def bbox_intersects(query: Sequence[float], bbox: Sequence[float]) -> bool:
    """Whether two lon/lat boxes (W, S, E, N, any longitude convention) intersect on Mars.

    >>> bbox_intersects((170, -10, -170, 10), (175, 0, 185, 5))  # crosses 180°
    True
    >>> bbox_intersects((-30, -10, -20, 10), (330, 0, 335, 5))   # −30 °E == 330 °E
    True
    >>> bbox_intersects((137.2, -5.0, 137.6, -4.4), (77.2, 18.4, 77.5, 18.5))
    False
    """
    qw, qs, qe, qn = query
    w, s, e, n = bbox
    if qs > n or s > qn:
        return False
    return any(
        a1 <= b2 and a2 <= b1 for a1, b1 in _lon_ranges(qw, qe) for a2, b2 in _lon_ranges(w, e)
    )


def parse_bbox(value: str | Sequence[float]) -> tuple[float, float, float, float]:
    """A ``bbox`` parameter (``"W,S,E,N"`` or 4/6 numbers) as ``(W, S, E, N)``."""
    try:
        numbers = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except ValueError:
        raise ValidationError(
            f"bbox {value!r} must be numbers W,S,E,N in degrees, e.g. 137.2,-5.0,137.6,-4.4"
        ) from None
    if len(numbers) == 6:  # W, S, zmin, E, N, zmax
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise ValidationError(
            f"bbox {value!r} must have 4 numbers W,S,E,N (or 6 with heights), "
            "e.g. 137.2,-5.0,137.6,-4.4"
        )
    west, south, east, north = numbers
    lons_ok = all(-180.0 <= lon <= 360.0 for lon in (west, east))
    if not (-90.0 <= south <= north <= 90.0) or not lons_ok:
        raise ValidationError(
            f"bbox {value!r} is out of range: need -90 <= S <= N <= 90 and longitudes in "
            "-180..360 °E (W > E crosses 180°)"
        )
    return west, south, east, north


_GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)


def parse_intersects(value: str | Mapping[str, Any]) -> BaseGeometry:
    """An ``intersects`` parameter (a GeoJSON geometry, or its JSON text) as a shapely geometry.

    >>> parse_intersects('{"type": "Point", "coordinates": [137.4, -4.6]}').wkt
    'POINT (137.4 -4.6)'
    """
    geometry: Any = value
    if isinstance(value, str):
        try:
            geometry = json.loads(value)
        except ValueError:
            geometry = None
    example = '{"type": "Point", "coordinates": [137.4, -4.6]}'
    if not isinstance(geometry, Mapping) or geometry.get("type") not in _GEOMETRY_TYPES:
        raise ValidationError(
            f"intersects {value!r} must be a GeoJSON geometry, one of "
            f"{', '.join(_GEOMETRY_TYPES)}, e.g. {example}"
        )
    try:
        found = shape(geometry)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ValidationError(
            f"intersects {value!r} is not a valid GeoJSON geometry ({error}); e.g. {example}"
        ) from None
    if found.is_empty or not all(math.isfinite(v) for v in found.bounds):
        raise ValidationError(f"intersects {value!r} is empty or not finite; e.g. {example}")
    west, south, east, north = found.bounds
    if south < -90.0 or north > 90.0 or west < -360.0 or east > 360.0:
        raise ValidationError(
            f"intersects {value!r} is out of range: latitudes -90..90, longitudes -180..360 °E"
        )
    return found.buffer(0) if not found.is_valid else found


def _footprint_intersects(query: BaseGeometry, item: Mapping[str, Any]) -> bool:
    """Whether ``query`` meets the item's footprint, in either longitude convention."""
    footprint = shape(item["geometry"])
    return any(
        query.intersects(affinity.translate(footprint, xoff=shift))
        for shift in (0.0, -360.0, 360.0)
    )


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """A ``datetime`` parameter as ``(start, end)``; None is an open end.

    >>> parse_datetime("2012-08-06T00:00:00Z/..")[1] is None
    True
    """
    parts = value.split("/")
    if len(parts) > 2:
        raise ValidationError(
            f"datetime {value!r} must be an instant or an interval START/END, "
            "e.g. 2012-08-06T00:00:00Z/.."
        )

    def end(text: str) -> datetime | None:
        return None if text.strip() in ("", "..") else to_utc(text, what="STAC datetime")

    start, stop = end(parts[0]), end(parts[-1])
    if start is not None and stop is not None and start > stop:
        raise ValidationError(f"datetime {value!r} ends before it starts; swap START and END")
    return start, stop


def _item_times(item: Mapping[str, Any]) -> tuple[datetime, datetime]:
    props = item["properties"]
    if props.get("datetime") is not None:
        instant = to_utc(props["datetime"])
        return instant, instant
    return to_utc(props["start_datetime"]), to_utc(props["end_datetime"])


def _select(
    items: Iterable[dict[str, Any]],
    *,
    bbox: tuple[float, float, float, float] | None,
    intersects: BaseGeometry | None = None,
    interval: tuple[datetime | None, datetime | None] | None,
    collections: Sequence[str] | None,
    ids: Sequence[str] | None,
) -> list[dict[str, Any]]:
    chosen = []
    for item in items:
        if collections is not None and item["collection"] not in collections:
            continue
        if ids is not None and item["id"] not in ids:
            continue
        if bbox is not None and not bbox_intersects(bbox, item["bbox"]):
            continue
        if intersects is not None and not _footprint_intersects(intersects, item):
            continue
        if interval is not None:
            start, stop = _item_times(item)
            if (interval[1] is not None and start > interval[1]) or (
                interval[0] is not None and stop < interval[0]
            ):
                continue
        chosen.append(item)
    return chosen


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise ValidationError(f"token {token!r} is not a paging token; follow the `next` link")
    return int(token)


def _page(
    request: Request,
    items: list[dict[str, Any]],
    *,
    limit: int,
    token: str | None,
    next_link: Any,
) -> JSONResponse:
    """A FeatureCollection page of ``items``; ``next_link(offset)`` makes the ``next`` link."""
    offset = _offset(token)
    page = items[offset : offset + limit]
    links = [_link("root", f"{_base(request)}/")]
    if offset + limit < len(items):
        links.append(next_link(offset + limit))
    body = {
        "type": "FeatureCollection",
        "features": [_item_doc(request, item) for item in page],
        "links": links,
        "numberMatched": len(items),
        "numberReturned": len(page),
    }
    return GeoJSONResponse(body)


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


# --- routes ----------------------------------------------------------------------------------


@router.get("/", summary="STAC landing page")
def landing(request: Request) -> dict[str, Any]:
    """The STAC API landing page: conformance classes and links to everything else."""
    base = _base(request)
    collections, _ = _shipped()
    return {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "marsgis",
        "title": "marsgis shipped Mars datasets",
        "description": "The data shipped with marsgis as a STAC API (Mars, IAU_2015:49900 °E).",
        "conformsTo": list(CONFORMS_TO),
        "links": [
            _link("self", f"{base}/"),
            _link("root", f"{base}/"),
            _link("data", f"{base}/collections"),
            _link("conformance", f"{base}/conformance"),
            _link("search", f"{base}/search", GEOJSON, method="GET"),
            _link("search", f"{base}/search", GEOJSON, method="POST"),
            _link(
                "service-desc",
                f"{str(request.base_url).rstrip('/')}{API_PREFIX}/openapi.json",
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            *(_link("child", f"{base}/collections/{cid}") for cid in collections),
        ],
    }


@router.get("/conformance", summary="Conformance classes")
def conformance() -> dict[str, list[str]]:
    """The conformance classes this API implements."""
    return {"conformsTo": list(CONFORMS_TO)}


@router.get("/collections", summary="All collections")
def list_collections(request: Request) -> dict[str, Any]:
    """Every collection of the shipped catalog."""
    collections, _ = _shipped()
    base = _base(request)
    return {
        "collections": [_collection_doc(request, doc) for doc in collections.values()],
        "links": [
            _link("self", f"{base}/collections"),
            _link("root", f"{base}/"),
            _link("parent", f"{base}/"),
        ],
    }


@router.get("/collections/{collection_id}", summary="One collection")
def get_collection(request: Request, collection_id: str) -> dict[str, Any]:
    """One collection (``404`` for an unknown id)."""
    return _collection_doc(request, _collection(collection_id))


@router.get(
    "/collections/{collection_id}/items",
    summary="Items of a collection",
    response_class=GeoJSONResponse,
)
def collection_items(
    request: Request,
    collection_id: str,
    *,
    limit: Limit = DEFAULT_LIMIT,
    token: Token = None,
    bbox: BboxQuery = None,
    datetime: DatetimeQuery = None,
) -> JSONResponse:
    """The items of a collection, ``limit`` per page, optionally filtered by bbox and time."""
    _collection(collection_id)
    _, items = _shipped()
    chosen = _select(
        items,
        bbox=None if bbox is None else parse_bbox(bbox),
        interval=None if datetime is None else parse_datetime(datetime),
        collections=[collection_id],
        ids=None,
    )
    params = {k: v for k, v in request.query_params.items() if k != "token"}
    url = f"{_base(request)}/collections/{collection_id}/items"
    return _page(
        request,
        chosen,
        limit=limit,
        token=token,
        next_link=lambda n: _link("next", f"{url}?{urlencode({**params, 'token': n})}", GEOJSON),
    )


@router.get(
    "/collections/{collection_id}/items/{item_id}",
    summary="One item",
    response_class=GeoJSONResponse,
)
def get_item(request: Request, collection_id: str, item_id: str) -> JSONResponse:
    """One item of a collection (``404`` for an unknown collection or item)."""
    _collection(collection_id)
    _, items = _shipped()
    for item in items:
        if item["collection"] == collection_id and item["id"] == item_id:
            return GeoJSONResponse(_item_doc(request, item))
    raise DataNotFoundError(
        f"STAC item {item_id!r} is not in collection {collection_id!r}; list them with "
        f"GET {PREFIX}/collections/{collection_id}/items"
    )


def _search(request: Request, body: SearchBody, next_link: Any) -> JSONResponse:
    _, items = _shipped()
    if body.bbox is not None and body.intersects is not None:
        raise ValidationError(
            "give bbox or intersects, not both (STAC item search); put the box in "
            "intersects as a Polygon if you need both"
        )
    chosen = _select(
        items,
        bbox=None if body.bbox is None else parse_bbox(body.bbox),
        intersects=None if body.intersects is None else parse_intersects(body.intersects),
        interval=None if body.datetime is None else parse_datetime(body.datetime),
        collections=body.collections,
        ids=body.ids,
    )
    return _page(request, chosen, limit=body.limit, token=body.token, next_link=next_link)


@router.get("/search", summary="Search items (GET)", response_class=GeoJSONResponse)
def search_get(
    request: Request,
    *,
    bbox: BboxQuery = None,
    intersects: IntersectsQuery = None,
    datetime: DatetimeQuery = None,
    collections: Annotated[str | None, Query(description="Comma-separated ids.")] = None,
    ids: Annotated[str | None, Query(description="Comma-separated item ids.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    token: Token = None,
) -> JSONResponse:
    """Items across collections matching every filter given."""
    body = SearchBody(
        bbox=None if bbox is None else list(parse_bbox(bbox)),
        intersects=None if intersects is None else parse_intersects(intersects).__geo_interface__,
        datetime=datetime,
        collections=_csv(collections),
        ids=_csv(ids),
        limit=limit,
        token=token,
    )
    params = {k: v for k, v in request.query_params.items() if k != "token"}
    url = f"{_base(request)}/search"
    return _search(
        request,
        body,
        lambda n: _link("next", f"{url}?{urlencode({**params, 'token': n})}", GEOJSON),
    )


@router.post("/search", summary="Search items (POST)", response_class=GeoJSONResponse)
def search_post(request: Request, body: SearchBody) -> JSONResponse:
    """Items across collections matching every filter of the JSON body."""
    url = f"{_base(request)}/search"
    sent = body.model_dump(exclude_none=True)
    return _search(
        request,
        body,
        lambda n: _link(
            "next", url, GEOJSON, method="POST", body={**sent, "token": str(n)}, merge=False
        ),
    )
