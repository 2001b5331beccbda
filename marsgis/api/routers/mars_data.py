"""``/mars-data``: the shipped datasets, and terrain queries on the shipped DEMs.

A ``{dataset}`` is a name of :data:`marsgis.data.RASTERS` (``mola``, ``gale-mola``,
``gale-1m``), never a path or URL: anything else is a ``404`` before any file is opened.
Elevations are bilinear (:func:`marsgis.sample`), profiles follow great circles from vertex
to vertex (:func:`marsgis.terrain.line_profile`), statistics and windows come from
:mod:`marsgis.terrain`, GeoTIFFs from :func:`marsgis.io.writers.write_dem`.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import xarray as xr
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import shape

from marsgis import catalog, data, memo, sample, terrain
from marsgis.api.auth import Principal, require
from marsgis.api.models import Page, Problem
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import DATA_READ
from marsgis.exceptions import ValidationError
from marsgis.geo import lon180, parse_bbox
from marsgis.io import open_dem
from marsgis.io.writers import write_dem

__all__ = ["MAX_WINDOW_CELLS", "router"]

PREFIX = f"{API_PREFIX}/mars-data"
#: Largest GeoTIFF window served, ``(rows, columns)``.
MAX_WINDOW_CELLS = (4096, 4096)
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 422)
}
#: Seconds a cached profile or statistics result lives (the key names the data's content, so
#: this only bounds memory).
TERRAIN_CACHE_TTL_S = 24 * 3600.0
# bump when a profile's or statistics' computation or JSON changes, so no old result is served
_TERRAIN_RESULT_VERSION = 1
router = APIRouter(prefix=PREFIX, tags=["mars-data"], responses=_ERRORS)

Reader = Annotated[Principal, Depends(require(DATA_READ))]
Product = Literal["elevation", "slope", "aspect", "roughness", "hillshade"]
LonLat = tuple[float, float]


class DatasetOut(BaseModel):
    """A shipped dataset: a DEM or a vector layer."""

    name: str
    title: str
    kind: Literal["dem", "vector"]
    crs: str | None = Field(description="the data's own CRS, e.g. IAU_2015:49900")
    bounds: tuple[float, float, float, float] = Field(
        description="west, south, east, north: °E (−180–180) and planetocentric °N"
    )
    resolution_m: float | None = Field(None, description="cell size (DEMs), metres")


class MultiPoint(BaseModel):
    """A GeoJSON MultiPoint, ``[[lon, lat], ...]`` degrees in ``IAU_2015:49900``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["MultiPoint"] = "MultiPoint"
    coordinates: list[LonLat] = Field(min_length=1, max_length=10_000)


class LineString(BaseModel):
    """A GeoJSON LineString: 2 or more ``[lon, lat]`` positions, joined by great circles."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["LineString"] = "LineString"
    coordinates: list[LonLat] = Field(min_length=2, max_length=10_000)


class PolygonIn(BaseModel):
    """A GeoJSON Polygon, rings of ``[lon, lat]`` degrees."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Polygon"] = "Polygon"
    coordinates: list[Annotated[list[LonLat], Field(min_length=4)]] = Field(
        min_length=1, description="rings of at least 4 positions, the first being the exterior"
    )


class ProfileIn(BaseModel):
    """Body of ``POST .../profile``."""

    model_config = ConfigDict(extra="forbid")
    line: LineString
    samples: int = Field(200, ge=2, le=10_000, description="points, both ends included")


class StatsIn(BaseModel):
    """Body of ``POST .../stats``."""

    model_config = ConfigDict(extra="forbid")
    polygon: PolygonIn
    product: Literal["elevation", "slope", "aspect", "roughness"] = "slope"


class ElevationPoint(BaseModel):
    """Elevation at a point (null where the DEM has no data)."""

    lon: float
    lat: float
    elevation_m: float | None


class Elevations(BaseModel):
    """Elevations at the requested points, in order."""

    dataset: str
    items: list[ElevationPoint]


class ProfilePoint(BaseModel):
    """One sample of a profile."""

    distance_m: float
    lat: float
    lon: float
    elevation_m: float | None
    leg: int = Field(description="index of the line's leg (vertex i to i + 1) it lies on")


class Profile(BaseModel):
    """An elevation profile along a line (great circles from vertex to vertex)."""

    dataset: str
    length_m: float
    items: list[ProfilePoint]


class Stats(BaseModel):
    """Statistics of a product over the cells whose centres lie inside a polygon."""

    dataset: str
    product: str
    count: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    p50: float | None
    p90: float | None


def _number(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def _dem(dataset: str) -> xr.DataArray:
    """The shipped DEM ``dataset``; a name outside the registry is a 404 before any file opens."""
    entry = data.raster_entry(dataset)
    return open_dem(entry.name)


def _points(dataset: str, lats: list[float], lons: list[float]) -> Elevations:
    values = np.atleast_1d(sample(_dem(dataset), lats, lons, outside="raise"))
    items = [
        ElevationPoint(lon=float(lon180(lo)), lat=float(la), elevation_m=_number(z))
        for la, lo, z in zip(lats, lons, values, strict=True)
    ]
    return Elevations(dataset=dataset, items=items)


@router.get("/datasets", response_model=Page[DatasetOut])
def list_datasets(
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DatasetOut]:
    """The shipped DEMs and vector datasets (the static STAC catalog's items)."""
    resolution = {f.name: f.resolution_m for f in catalog.dem_footprints()}
    found = []
    for item in catalog.shipped_catalog().get_items(recursive=True):
        west, south, east, north = (float(v) for v in item.bbox or ())
        if east - west >= 360.0:
            west, east = -180.0, 180.0
        else:
            west, east = float(lon180(west)), float(lon180(east))
        props = item.properties
        found.append(
            DatasetOut(
                name=item.id,
                title=str(props.get("title", item.id)),
                kind=props["marsgis:kind"],
                crs=props.get("proj:code"),
                bounds=(west, south, east, north),
                resolution_m=resolution.get(item.id),
            )
        )
    return Page[DatasetOut](
        items=found[offset : offset + limit], total=len(found), limit=limit, offset=offset
    )


@router.get("/terrain/{dataset}/elevation", response_model=Elevations)
def elevation_at(
    dataset: str,
    _: Reader,
    lat: Annotated[list[float], Query(description="planetocentric °N, repeated")],
    lon: Annotated[list[float], Query(description="°E (0–360 or −180–180), repeated")],
) -> Elevations:
    """Bilinear elevation at ``lat``/``lon`` pairs; a point outside the DEM is a 422."""
    if len(lat) != len(lon):
        raise ValidationError(
            f"give as many lat as lon values, got {len(lat)} lat and {len(lon)} lon"
        )
    return _points(dataset, lat, lon)


@router.post("/terrain/{dataset}/elevation", response_model=Elevations)
def elevation_at_points(dataset: str, body: MultiPoint, _: Reader) -> Elevations:
    """Bilinear elevation at the positions of a GeoJSON MultiPoint."""
    lons = [p[0] for p in body.coordinates]
    lats = [p[1] for p in body.coordinates]
    return _points(dataset, lats, lons)


def _remembered(namespace: str, dataset: str, params: Any, compute: Any) -> Response:
    """``compute()``'s JSON body, cached under the dataset's content hash and ``params``.

    The cache holds the response's bytes, so a hit is served without decoding anything.
    """
    key = [data.content_sha256(dataset), dataset, params, _TERRAIN_RESULT_VERSION]
    found = memo.cached(namespace, key, compute, ttl=TERRAIN_CACHE_TTL_S)
    return Response(found, media_type="application/json")


@router.post("/terrain/{dataset}/profile", response_model=Profile)
def profile(dataset: str, body: ProfileIn, _: Reader) -> Response:
    """Elevation at ``samples`` points evenly spaced along the line (2 or more vertices).

    Results are cached by the DEM's content hash and the request (:mod:`marsgis.memo`).
    """
    params = body.model_dump(mode="json")
    return _remembered(
        "terrain-profile",
        dataset,
        params,
        lambda: _profile(dataset, body).model_dump_json().encode(),
    )


def _profile(dataset: str, body: ProfileIn) -> Profile:
    dem = _dem(dataset)
    lons = [p[0] for p in body.line.coordinates]
    lats = [p[1] for p in body.line.coordinates]
    frame = terrain.line_profile(dem, lats, lons, samples=body.samples)
    columns = [frame[c].to_numpy(dtype=float) for c in ("distance_m", "lat", "lon", "elevation_m")]
    items = [
        ProfilePoint(
            distance_m=float(d), lat=float(la), lon=float(lo), elevation_m=_number(z), leg=int(k)
        )
        for d, la, lo, z, k in zip(*columns, frame["leg"].to_numpy(), strict=True)
    ]
    return Profile(dataset=dataset, length_m=float(frame.attrs["length_m"]), items=items)


@router.post("/terrain/{dataset}/stats", response_model=Stats)
def stats(dataset: str, body: StatsIn, _: Reader) -> Response:
    """Statistics of ``product`` over the DEM cells whose centres lie inside the polygon.

    Results are cached by the DEM's content hash and the request (:mod:`marsgis.memo`).
    """
    return _remembered(
        "terrain-stats",
        dataset,
        body.model_dump(mode="json"),
        lambda: _stats(dataset, body).model_dump_json().encode(),
    )


def _stats(dataset: str, body: StatsIn) -> Stats:
    dem = _dem(dataset)
    polygon = shape(body.polygon.model_dump())
    raster = terrain.terrain_product(dem, body.product)
    found = terrain.zonal_stats(raster, polygon)
    return Stats(
        dataset=dataset,
        product=body.product,
        count=int(found["count"]),
        **{k: _number(found[k]) for k in ("min", "max", "mean", "std", "p50", "p90")},
    )


@router.get(
    "/terrain/{dataset}/{product}.tif",
    response_class=Response,
    responses={200: {"content": {"image/tiff": {}}, "description": "a GeoTIFF window"}},
)
def window_geotiff(
    dataset: str,
    product: Product,
    _: Reader,
    bbox: Annotated[str, Query(description="W,S,E,N degrees")],
) -> Response:
    """The cells of ``product`` the box touches, as a GeoTIFF (at most 4096 × 4096 cells)."""
    raster = terrain.terrain_product(_dem(dataset), product)
    window = terrain.box_window(raster, parse_bbox(bbox), max_cells=MAX_WINDOW_CELLS)
    with tempfile.TemporaryDirectory(prefix="marsgis-api-") as tmp:
        path = write_dem(window, Path(tmp) / f"{dataset}-{product}.tif")
        content = path.read_bytes()
    return Response(
        content,
        media_type="image/tiff",
        headers={"Content-Disposition": f'attachment; filename="{dataset}-{product}.tif"'},
    )
