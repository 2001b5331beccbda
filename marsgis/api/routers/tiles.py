"""``/tiles``: Mars map tiles of the shipped DEMs for any GIS client (XYZ, TileJSON, WMTS).

Tiles are on planetcantile's ``MarsGeographicSphere`` tile matrix set
(:data:`marsgis.viz.tms.MARS_TMS`, the Mars sphere of ``IAU_2015:49900``) and are drawn by
:func:`marsgis.viz.tiles.tile_png`, the same function and disk cache as the dashboards' tile
server. ``dataset`` is the stacked basemap ``relief`` or one shipped DEM
(:data:`marsgis.viz.tiles.TILE_DATASETS`); anything else is a ``404`` — no route reaches
outside the catalog. Responses carry an ``ETag`` (:func:`marsgis.viz.tiles.tile_etag`: the
tile's cache key — renderer version, the DEMs' content digest, z/x/y — so no bytes are hashed)
and ``Cache-Control``. The tile route is async: a cached tile (memory or disk,
:func:`marsgis.viz.tiles.cached_tile`) is answered on the event loop; only a tile that must be
rendered goes to the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from marsgis.api.auth import Principal, require
from marsgis.api.models import Problem
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import DATA_READ
from marsgis.exceptions import NotFoundError

__all__ = ["CACHE_CONTROL", "WMTS_METRES_PER_DEGREE", "capabilities_xml", "router"]

PREFIX = f"{API_PREFIX}/tiles"
#: Tiles change only with the data and TILE_VERSION: clients may keep them a day.
CACHE_CONTROL = "private, max-age=86400"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 422)
}
router = APIRouter(prefix=PREFIX, tags=["tiles"], responses=_ERRORS)

#: Reading data: every role holds the read scope.
Reader = Annotated[Principal, Depends(require(DATA_READ))]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


def _check_dataset(dataset: str) -> None:
    from marsgis.viz.tiles import tile_stack

    tile_stack(dataset)  # NotFoundError (404) for a name outside the list


def _check_tms(tms: str) -> None:
    from marsgis.viz.tms import TMS_ID

    if tms != TMS_ID:
        raise NotFoundError(f"no tile matrix set {tms!r}; the Mars tiles are on {TMS_ID!r}")


def _matches(tag: str, if_none_match: str | None) -> bool:
    return if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def zoom_range(dataset: str) -> tuple[int, int]:
    """``(minzoom, maxzoom)`` of a dataset.

    From the zoom where its coarsest DEM is first drawn to the deepest zoom served
    (:data:`marsgis.viz.tiling.MAX_ZOOM`).
    """
    from marsgis.viz.tiles import tile_stack
    from marsgis.viz.tiling import MAX_ZOOM

    base = tile_stack(dataset).sources()[0]
    low = next((z for z in range(MAX_ZOOM + 1) if base.visible_at(z)), MAX_ZOOM)
    return low, MAX_ZOOM


def lonlat_bounds(dataset: str) -> list[float]:
    """West, south, east, north (degrees, −180–180 °E) of the DEMs of a dataset."""
    from marsgis.geo import lon180
    from marsgis.viz.tiles import tile_stack

    w, s, e, n = tile_stack(dataset).sources()[0].lonlat_box
    if e - w >= 360.0:
        return [-180.0, s, 180.0, n]
    return [float(lon180(w)), s, float(lon180(e)), n]


@router.get(
    "/{dataset}/{tms}/{z}/{x}/{y}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 304: {"description": "Not modified"}},
)
async def tile(
    dataset: str,
    tms: str,
    z: int,
    x: int,
    y: int,
    *,
    _: Reader,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One 256 × 256 PNG tile (row 0 north) of ``dataset`` on the tile matrix set ``tms``."""
    from marsgis.viz.tiles import cached_tile, tile_etag, tile_png

    _check_dataset(dataset)
    _check_tms(tms)
    body = cached_tile(z, x, y, dataset=dataset)  # checks the tile
    headers = {"ETag": tile_etag(z, x, y, dataset=dataset), "Cache-Control": CACHE_CONTROL}
    if _matches(headers["ETag"], if_none_match):
        return Response(status_code=304, headers=headers)
    if body is None:
        body = await run_in_threadpool(tile_png, z, x, y, dataset=dataset)
    return Response(body, media_type="image/png", headers=headers)


@router.get("/{dataset}/{tms}/tilejson.json")
def tilejson(dataset: str, tms: str, request: Request, _: Reader) -> dict[str, Any]:
    """A TileJSON 3.0.0 document for ``dataset`` (XYZ template, bounds, zoom range)."""
    from marsgis.viz.tms import MARS_TMS_CRS_URN

    _check_dataset(dataset)
    _check_tms(tms)
    minzoom, maxzoom = zoom_range(dataset)
    bounds = lonlat_bounds(dataset)
    west, south, east, north = bounds
    return {
        "tilejson": "3.0.0",
        "name": dataset,
        "description": f"marsgis {dataset} tiles on {tms} (the Mars sphere of IAU_2015:49900)",
        "scheme": "xyz",
        "tiles": [f"{_base(request)}/{dataset}/{tms}/{{z}}/{{x}}/{{y}}.png"],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(west + east) / 2, (south + north) / 2, minzoom],
        "crs": MARS_TMS_CRS_URN,
        "tile_matrix_set": tms,
    }


#: WMTS 1.0.0 (07-057r7 §6.1) turns degrees into metres for a scale denominator with a fixed
#: metres-per-degree (that of its well-known scale sets, 2π·6 378 137 m / 360), whatever the
#: body; GDAL and QGIS invert it with the same constant. It is a unit convention of the
#: standard, not a radius of Mars: the tiles' cells stay those of the Mars TMS.
WMTS_METRES_PER_DEGREE = 111319.49079327358
#: WMTS's standardized rendering pixel size (0.28 mm).
WMTS_PIXEL_M = 0.00028


def capabilities_xml(dataset: str, base: str) -> str:
    """The OGC WMTS 1.0.0 RESTful capabilities of one dataset's layer.

    The tile matrix set is :data:`~marsgis.viz.tms.MARS_TMS` with its Mars CRS as
    ``SupportedCRS`` (``urn:ogc:def:crs:IAU_2015::49900``); ``base`` is the tiles' URL root.
    Each ``ScaleDenominator`` is the TMS cell size in degrees through
    :data:`WMTS_METRES_PER_DEGREE`. Corners are written longitude first (``-180 90``): GDAL
    (3.6) swaps a corner to latitude-first only for EPSG codes, so it reads this order for the
    IAU CRS; QGIS's own WMTS client needs "Ignore axis orientation" ticked (docs/api.md).
    """
    from marsgis.viz.tiling import tile_range
    from marsgis.viz.tms import MARS_TMS, MARS_TMS_CRS_URN, TMS_ID

    _, maxzoom = zoom_range(dataset)
    matrices = []
    for z in range(maxzoom + 1):
        m = MARS_TMS.matrix(z)
        cols, rows = tile_range(z)
        x0, y0 = m.pointOfOrigin
        scale = m.cellSize * WMTS_METRES_PER_DEGREE / WMTS_PIXEL_M
        matrices.append(
            "<TileMatrix>"
            f"<ows:Identifier>{z}</ows:Identifier>"
            f"<ScaleDenominator>{scale!r}</ScaleDenominator>"
            f"<TopLeftCorner>{x0!r} {y0!r}</TopLeftCorner>"
            f"<TileWidth>{m.tileWidth}</TileWidth><TileHeight>{m.tileHeight}</TileHeight>"
            f"<MatrixWidth>{cols}</MatrixWidth><MatrixHeight>{rows}</MatrixHeight>"
            "</TileMatrix>"
        )
    west, south, east, north = lonlat_bounds(dataset)
    template = escape(
        f"{base}/{dataset}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileCol}}/{{TileRow}}.png"
    )
    name = escape(dataset)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Capabilities xmlns="http://www.opengis.net/wmts/1.0" '
        'xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'version="1.0.0">'
        "<ows:ServiceIdentification><ows:Title>marsgis Mars tiles</ows:Title>"
        "<ows:ServiceType>OGC WMTS</ows:ServiceType>"
        "<ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion></ows:ServiceIdentification>"
        "<Contents><Layer>"
        f"<ows:Title>{name}</ows:Title><ows:Identifier>{name}</ows:Identifier>"
        f'<ows:BoundingBox crs="{MARS_TMS_CRS_URN}">'
        f"<ows:LowerCorner>{west!r} {south!r}</ows:LowerCorner>"
        f"<ows:UpperCorner>{east!r} {north!r}</ows:UpperCorner></ows:BoundingBox>"
        '<Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>'
        "<Format>image/png</Format>"
        f"<TileMatrixSetLink><TileMatrixSet>{TMS_ID}</TileMatrixSet></TileMatrixSetLink>"
        f'<ResourceURL format="image/png" resourceType="tile" template="{template}"/>'
        "</Layer>"
        f"<TileMatrixSet><ows:Identifier>{TMS_ID}</ows:Identifier>"
        f"<ows:SupportedCRS>{MARS_TMS_CRS_URN}</ows:SupportedCRS>"
        + "".join(matrices)
        + "</TileMatrixSet></Contents></Capabilities>\n"
    )


@router.get(
    "/{dataset}/WMTSCapabilities.xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def wmts_capabilities(dataset: str, request: Request, _: Reader) -> Response:
    """OGC WMTS 1.0.0 (RESTful) capabilities: GDAL's WMTS driver and QGIS read them."""
    _check_dataset(dataset)
    body = capabilities_xml(dataset, _base(request)).encode()
    return Response(body, media_type="application/xml")
