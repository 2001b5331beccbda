"""``/stac``: the shipped data catalog as a STAC API, built with stac-fastapi's framework.

Why stac-fastapi, and which part of it. The STAC API protocol (routes, request models,
landing page, conformance, link shapes, token paging) comes from ``stac-fastapi.api``
(:class:`~stac_fastapi.api.app.StacApi`), ``stac-fastapi.types``
(:class:`~stac_fastapi.types.core.BaseCoreClient`) and ``stac-fastapi.extensions``
(:class:`~stac_fastapi.extensions.core.TokenPaginationExtension`) rather than being written by
hand. None of stac-fastapi's *backends* fits: stac-fastapi-pgstac needs the pgstac schema in
PostgreSQL, the elasticsearch/opensearch backends need those servers, and marsgis's embedded
default is SpatiaLite. So the backend is :class:`ShippedCatalogClient`, a small
``BaseCoreClient`` that answers from :mod:`marsgis.catalog` (the source of truth, in memory; no
SQL here): collections from :func:`~marsgis.catalog.shipped_catalog`, every search and item
page from :func:`~marsgis.catalog.shipped_items`, which parses and checks ``bbox``,
``intersects`` and ``datetime`` and raises :class:`~marsgis.exceptions.ValidationError`.

How it is mounted. ``StacApi`` builds its routes on an :class:`~fastapi.APIRouter` with the
``/api/v1/stac`` prefix, this app's ``require(data:read)`` dependency and problem responses;
that router is included in the marsgis app (:func:`include`). StacApi's own application, which
carries its exception handlers (``{"code", "description"}`` bodies), its default middlewares
(brotli, CORS ``*``, proxy headers; given none here) and its ``/_mgmt`` probes, is never served.
So errors stay this app's ``application/problem+json`` documents, and links follow the
request's base URL (``root_path``, hence the ``/services/marsgis-api`` prefix).

Mars, not Earth: stac-fastapi's request models check a ``bbox`` against WGS84's −180..180 and
parse ``datetime`` raising ``400``. The models here (:class:`SearchGetRequest`,
:class:`SearchPostRequest`, :class:`ItemsGetRequest`) take ``bbox`` and ``datetime`` as given
and leave them to :func:`~marsgis.catalog.shipped_items`: longitudes 0–360 or −180–180 °E,
``W > E`` crossing 180°, and a bad value is a ``422`` problem like every other bad input.
"""

# no `from __future__ import annotations`: FastAPI reads the attrs request models' annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Annotated, Any, cast
from urllib.parse import urlencode

import attr
import pystac
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import Field, model_validator
from typing_extensions import override

import marsgis
from marsgis.api.auth import require
from marsgis.api.models import Problem
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import DATA_READ
from marsgis.catalog import shipped_catalog, shipped_items
from marsgis.exceptions import DataNotFoundError, ValidationError


def _not_the_default_settings_warning(record: logging.LogRecord) -> bool:
    """Drop the warning of the unused settings stac-fastapi.types builds on import.

    It says the title is the default; the settings given to StacApi here name everything
    (see :func:`_router`).
    """
    return not record.getMessage().startswith("Using default values")


logging.getLogger("stac_fastapi.types.config").addFilter(_not_the_default_settings_warning)

from stac_fastapi.api.app import StacApi  # noqa: E402
from stac_fastapi.api.models import (  # noqa: E402
    ItemCollectionUri,
    create_get_request_model,
    create_post_request_model,
    create_request_model,
)
from stac_fastapi.extensions.pagination import TokenPaginationExtension  # noqa: E402
from stac_fastapi.extensions.pagination.request import GETTokenPagination  # noqa: E402
from stac_fastapi.types import stac  # noqa: E402
from stac_fastapi.types.config import ApiSettings  # noqa: E402
from stac_fastapi.types.conformance import (  # noqa: E402
    OAFConformanceClasses,
    STACConformanceClasses,
)
from stac_fastapi.types.core import BaseCoreClient  # noqa: E402
from stac_fastapi.types.extension import ApiExtension  # noqa: E402
from stac_fastapi.types.links import CollectionLinks, ItemLinks  # noqa: E402
from stac_fastapi.types.requests import get_base_url  # noqa: E402
from stac_fastapi.types.search import (  # noqa: E402
    APIRequest,
    BaseSearchGetRequest,
    BaseSearchPostRequest,
)

__all__ = [
    "CONFORMS_TO",
    "PREFIX",
    "ItemsGetRequest",
    "SearchGetRequest",
    "SearchPostRequest",
    "ShippedCatalogClient",
    "include",
]

PREFIX = f"{API_PREFIX}/stac"
GEOJSON = "application/geo+json"
#: Conformance classes this API implements (stac-fastapi's base set without OGC ``oas30``:
#: the app's OpenAPI document is 3.1).
CONFORMS_TO: tuple[str, ...] = (
    STACConformanceClasses.CORE,
    STACConformanceClasses.COLLECTIONS,
    STACConformanceClasses.ITEM_SEARCH,
    STACConformanceClasses.OGC_API_FEAT,
    OAFConformanceClasses.CORE,
    OAFConformanceClasses.GEOJSON,
)
DEFAULT_LIMIT = 10

_BBOX = "W,S,E,N in °E/°N (0–360 or −180–180; W > E crosses 180°), e.g. 137.2,-5.0,137.6,-4.4."
_DATETIME = "RFC 3339 instant or interval `start/end` (`..` = open), e.g. 2012-08-06T00:00:00Z/.."
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 422)
}


# --- request models: stac-fastapi's, with Mars bbox and marsgis's datetime parsing ----------


@attr.s
class SearchGetRequest(BaseSearchGetRequest):
    """``GET /search`` parameters; ``bbox`` and ``datetime`` as text for marsgis.catalog."""

    # text rather than stac-pydantic's WGS84 tuple: marsgis.catalog parses it
    bbox: Annotated[str | None, Query(description=_BBOX)] = attr.ib(default=None)  # type: ignore[assignment]
    datetime: Annotated[str | None, Query(description=_DATETIME)] = attr.ib(default=None)


@attr.s
class ItemsGetRequest(ItemCollectionUri):
    """``GET /collections/{id}/items`` parameters; ``bbox`` and ``datetime`` as text."""

    bbox: Annotated[str | None, Query(description=_BBOX)] = attr.ib(default=None)  # type: ignore[assignment]
    datetime: Annotated[str | None, Query(description=_DATETIME)] = attr.ib(default=None)


class SearchPostRequest(BaseSearchPostRequest):
    """The ``POST /search`` body; ``bbox`` in either longitude convention, ``datetime`` as text.

    ``bbox`` with ``intersects`` is refused by :func:`~marsgis.catalog.shipped_items` (a
    ``422`` problem that says so) rather than by stac-pydantic's validator.
    """

    bbox: list[float] | None = Field(default=None, description=_BBOX)  # type: ignore[assignment]
    datetime: str | None = Field(default=None, description=_DATETIME)

    @model_validator(mode="before")
    @classmethod
    def validate_spatial(cls, values: Any) -> Any:  # type: ignore[override]
        """Accept ``bbox`` and ``intersects`` here; the catalog search checks them."""
        return values


# --- the backend ------------------------------------------------------------------------------


def _link(rel: str, href: str, type_: str = "application/json", **extra: Any) -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": type_, **extra}


def _collection_doc(collection: pystac.Collection, base: str) -> stac.Collection:
    doc = collection.to_dict(include_self_link=False, transform_hrefs=False)
    doc["links"] = CollectionLinks(collection_id=collection.id, base_url=base).create_links()
    return stac.Collection(**doc)  # type: ignore[typeddict-item]


def _item_doc(item: pystac.Item, base: str) -> stac.Item:
    doc = item.to_dict(include_self_link=False, transform_hrefs=False)
    doc["collection"] = item.collection_id
    doc["links"] = ItemLinks(
        collection_id=str(item.collection_id), item_id=item.id, base_url=base
    ).create_links()
    return stac.Item(**doc)  # type: ignore[typeddict-item]


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    if not token.isdigit():
        raise ValidationError(f"token {token!r} is not a paging token; follow the `next` link")
    return int(token)


@attr.s
class ShippedCatalogClient(BaseCoreClient):
    """A stac-fastapi backend that answers from :mod:`marsgis.catalog` (see the module doc)."""

    def _collections(self) -> dict[str, pystac.Collection]:
        return {c.id: c for c in shipped_catalog().get_collections()}

    def _collection(self, collection_id: str) -> pystac.Collection:
        collections = self._collections()
        if collection_id not in collections:
            raise DataNotFoundError(
                f"STAC collection {collection_id!r} does not exist; choose one of "
                f"{sorted(collections)} (GET {PREFIX}/collections)"
            )
        return collections[collection_id]

    @override
    def landing_page(self, **kwargs: Any) -> stac.LandingPage:
        """stac-fastapi's landing page, plus a ``child`` link per collection."""
        page = super().landing_page(**kwargs)
        base = get_base_url(kwargs["request"])
        page["links"] += [_link("child", f"{base}collections/{cid}") for cid in self._collections()]
        return page

    @override
    def all_collections(self, **kwargs: Any) -> stac.Collections:
        """Every collection of the shipped catalog."""
        base = get_base_url(kwargs["request"])
        return stac.Collections(
            collections=[_collection_doc(c, base) for c in self._collections().values()],
            links=[
                _link("self", f"{base}collections"),
                _link("root", base),
                _link("parent", base),
            ],
        )

    @override
    def get_collection(self, collection_id: str, **kwargs: Any) -> stac.Collection:
        """One collection (an unknown id is a ``404`` problem)."""
        return _collection_doc(self._collection(collection_id), get_base_url(kwargs["request"]))

    @override
    def get_item(self, item_id: str, collection_id: str, **kwargs: Any) -> stac.Item:
        """One item of a collection (an unknown collection or item is a ``404`` problem)."""
        self._collection(collection_id)
        found = shipped_items(collections=[collection_id], ids=[item_id])
        if not found:
            raise DataNotFoundError(
                f"STAC item {item_id!r} is not in collection {collection_id!r}; list them with "
                f"GET {PREFIX}/collections/{collection_id}/items"
            )
        return _item_doc(found[0], get_base_url(kwargs["request"]))

    @override
    def item_collection(
        self,
        collection_id: str,
        bbox: Any = None,
        datetime: str | None = None,
        limit: int | None = DEFAULT_LIMIT,
        token: str | None = None,
        **kwargs: Any,
    ) -> stac.ItemCollection:
        """The items of a collection, ``limit`` per page, optionally filtered by bbox and time."""
        self._collection(collection_id)
        request: Request = kwargs["request"]
        items = shipped_items(bbox=bbox, datetime=datetime, collections=[collection_id])
        url = f"{get_base_url(request)}collections/{collection_id}/items"
        params = {k: v for k, v in request.query_params.items() if k != "token"}
        return self._page(
            request,
            items,
            limit=limit,
            token=token,
            self_href=url,
            next_link=lambda n: _link(
                "next", f"{url}?{urlencode({**params, 'token': n})}", GEOJSON
            ),
            collection=collection_id,
        )

    @override
    def get_search(
        self,
        collections: list[str] | None = None,
        ids: list[str] | None = None,
        bbox: Any = None,
        intersects: Any = None,
        datetime: str | None = None,
        limit: int | None = DEFAULT_LIMIT,
        token: str | None = None,
        **kwargs: Any,
    ) -> stac.ItemCollection:
        """Items across collections matching every query parameter given."""
        request: Request = kwargs["request"]
        items = shipped_items(
            bbox=bbox, intersects=intersects, datetime=datetime, collections=collections, ids=ids
        )
        url = f"{get_base_url(request)}search"
        params = {k: v for k, v in request.query_params.items() if k != "token"}
        return self._page(
            request,
            items,
            limit=limit,
            token=token,
            self_href=None,
            next_link=lambda n: _link(
                "next", f"{url}?{urlencode({**params, 'token': n})}", GEOJSON
            ),
        )

    @override
    def post_search(
        self, search_request: BaseSearchPostRequest, **kwargs: Any
    ) -> stac.ItemCollection:
        """Items across collections matching every filter of the JSON body."""
        request: Request = kwargs["request"]
        body = search_request.model_dump(mode="json", exclude_none=True)
        items = shipped_items(
            bbox=body.get("bbox"),
            intersects=body.get("intersects"),
            datetime=body.get("datetime"),
            collections=body.get("collections"),
            ids=body.get("ids"),
        )
        url = f"{get_base_url(request)}search"
        return self._page(
            request,
            items,
            limit=search_request.limit,
            token=body.get("token"),
            self_href=None,
            next_link=lambda n: _link(
                "next", url, GEOJSON, method="POST", body={**body, "token": str(n)}, merge=False
            ),
        )

    def _page(
        self,
        request: Request,
        items: Sequence[pystac.Item],
        *,
        limit: int | None,
        token: str | None,
        self_href: str | None,
        next_link: Callable[[int], dict[str, Any]],
        collection: str | None = None,
    ) -> stac.ItemCollection:
        """A FeatureCollection page of ``items`` from the ``token`` offset, ``limit`` long."""
        base = get_base_url(request)
        size = DEFAULT_LIMIT if limit is None else limit
        offset = _offset(token)
        page = items[offset : offset + size]
        links = [_link("root", base)]
        if self_href is not None:
            links.append(_link("self", self_href, GEOJSON))
        if collection is not None:
            links.append(_link("collection", f"{base}collections/{collection}"))
        if offset + size < len(items):
            links.append(next_link(offset + size))
        return stac.ItemCollection(
            type="FeatureCollection",
            features=[_item_doc(item, base) for item in page],
            links=links,
            numberMatched=len(items),
            numberReturned=len(page),
        )


# --- mounting ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _router() -> APIRouter:
    """The STAC routes StacApi builds over :class:`ShippedCatalogClient` (built once)."""
    extensions: list[ApiExtension] = [TokenPaginationExtension()]
    token: list[type[APIRequest]] = [GETTokenPagination]
    # every setting given, and no .env file read: the environment changes nothing here
    settings = ApiSettings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' init-only option
        stac_fastapi_title="marsgis shipped Mars datasets",
        stac_fastapi_description=(
            "The data shipped with marsgis as a STAC API (Mars, IAU_2015:49900 °E)."
        ),
        stac_fastapi_version=marsgis.__version__,
        stac_fastapi_landing_id="marsgis",
        enable_response_models=False,
        enable_direct_response=False,
        openapi_url="/api",
        docs_url="/api.html",
        root_path="",
    )
    api = StacApi(
        settings=settings,
        client=ShippedCatalogClient(
            base_conformance_classes=list(CONFORMS_TO), landing_page_id="marsgis"
        ),
        extensions=extensions,
        exceptions={},
        middlewares=[],
        router=APIRouter(
            prefix=PREFIX,
            tags=["stac"],
            responses=_ERRORS,
            dependencies=[Depends(require(DATA_READ))],
        ),
        search_get_request_model=create_get_request_model(extensions, SearchGetRequest),
        search_post_request_model=create_post_request_model(extensions, SearchPostRequest),
        items_get_request_model=cast(
            type[APIRequest],
            create_request_model(
                "ItemsGetRequest", base_model=ItemsGetRequest, mixins=token, request_type="GET"
            ),
        ),
    )
    return api.router


def include(app: FastAPI) -> None:
    """Include the STAC API routes in ``app`` under ``/api/v1/stac``.

    stac-fastapi's links start from ``request.app.state.router_prefix``, which is set here.
    """
    app.state.router_prefix = PREFIX
    app.include_router(_router())
