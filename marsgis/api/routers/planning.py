"""``/planning``: landing-site checks and searches, rover traverses (scope ``planning:run``).

Each route calls one public function of :mod:`marsgis.planning` on a DEM of the catalog
(:data:`marsgis.data.RASTERS`: a ``dataset`` is a name, never a path or URL):

- ``POST /planning/sites/check`` → :func:`marsgis.planning.check_site`
- ``POST /planning/sites/search`` → :func:`marsgis.planning.eligibility_map` and
  :func:`~marsgis.planning.eligible_area` on the box, and
  :func:`marsgis.planning.search_landing_sites` in it
- ``POST /planning/traverse`` → :func:`marsgis.planning.plan_traverse`

Requests answered here are the ones small enough to answer while the client waits: a search box
of at most :data:`MAX_SEARCH_CELLS` cells and a traverse whose start and goal lie at most
:data:`MAX_TRAVERSE_SPAN_CELLS` rows and columns apart are planned now; larger ones are refused
with ``413`` (they will run as jobs, like batch inference).
"""

from __future__ import annotations

from typing import Annotated, Any

import xarray as xr
from fastapi import APIRouter, Depends, HTTPException
from shapely.geometry import mapping

from marsgis import catalog, data, planning, terrain
from marsgis.api.auth import Principal, require
from marsgis.api.models import FeatureCollection, Problem
from marsgis.api.models_planning import (
    CheckOut,
    EligibleArea,
    SiteCheckIn,
    SiteSearchIn,
    SiteSearchOut,
    TraverseFeature,
    TraverseIn,
)
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import PLANNING_RUN
from marsgis.exceptions import ValidationError
from marsgis.geo import Grid, check_bbox
from marsgis.io import open_dem
from marsgis.planning.missions import finite_json
from marsgis.planning.traverse import ROUTE_SUMMARY_KEYS

__all__ = [
    "MAX_SEARCH_CELLS",
    "MAX_TRAVERSE_SPAN_CELLS",
    "dataset_dem",
    "route_feature",
    "router",
    "traverse_span_cells",
]

PREFIX = f"{API_PREFIX}/planning"
#: Largest search box answered at once, ``(rows, columns)`` of the dataset's cells.
MAX_SEARCH_CELLS = (1024, 1024)
#: Largest number of rows or columns between a traverse's start and goal answered at once.
MAX_TRAVERSE_SPAN_CELLS = 512
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 413, 422)
}
router = APIRouter(prefix=PREFIX, tags=["planning"], responses=_ERRORS)

Planner = Annotated[Principal, Depends(require(PLANNING_RUN))]


def dataset_dem(
    dataset: str | None, box: tuple[float, float, float, float] | None = None
) -> xr.DataArray:
    """The catalog DEM ``dataset`` (a name, else a 404), or the finest one covering ``box``."""
    if dataset is None:
        if box is None:
            raise ValidationError("give a dataset: a DEM of the catalog, e.g. 'gale-mola'")
        return open_dem(catalog.finest_dem(box))
    return open_dem(data.raster_entry(dataset).name)


def _constraints(preset: str, constraints: dict[str, Any] | None) -> planning.ConstraintSet:
    if constraints is not None:
        return planning.constraint_set_from_dict(constraints)
    key = preset.strip().lower()
    if key not in planning.PRESETS:
        raise ValidationError(
            f"preset {preset!r} is not a constraint preset; use one of "
            f"{', '.join(planning.list_presets())} or give 'constraints' as a mapping"
        )
    return planning.get_preset(key)


def traverse_span_cells(
    dem: xr.DataArray, start: tuple[float, float], goal: tuple[float, float]
) -> tuple[int, int]:
    """Rows and columns of ``dem`` from ``start`` to ``goal`` (``(lat, lon)``), both included."""
    grid = Grid.of(dem)
    fy, fx = grid.locate([start[0], goal[0]], [start[1], goal[1]])
    rows = round(abs(float(fy[1]) - float(fy[0]))) + 1
    cols = round(abs(float(fx[1]) - float(fx[0])))
    if grid.is_global:  # the shorter way round
        cols = min(cols % grid.shape[1], grid.shape[1] - cols % grid.shape[1])
    return rows, cols + 1


def route_feature(route: Any, dataset: str, *, feature_id: int | None = None) -> TraverseFeature:
    """A one-leg :func:`~marsgis.planning.plan_traverse` result as a GeoJSON Feature."""
    leg = route.iloc[0]
    properties = {
        "dataset": dataset,
        **{k: route.attrs.get(k) for k in ROUTE_SUMMARY_KEYS},
        "mean_slope_deg": leg["mean_slope_deg"],
        "n_cells": leg["n_cells"],
    }
    return TraverseFeature(
        id=feature_id,
        geometry=dict(mapping(route.geometry.iloc[0])),
        properties=finite_json(properties),
    )


@router.post("/sites/check", response_model=CheckOut)
def check_site(body: SiteCheckIn, _: Planner) -> CheckOut:
    """Every constraint of the preset at the site: value, limit, pass/fail, and the verdict."""
    lon, lat = body.site.coordinates
    cs = _constraints(body.preset, body.constraints)
    dem = dataset_dem(body.dataset, (lon, lat, lon, lat))
    found = planning.check_site(lat, lon, cs, dem).to_dict()
    return CheckOut(dataset=str(dem.name), **found)


@router.post("/sites/search", response_model=SiteSearchOut)
def search_sites(body: SiteSearchIn, _: Planner) -> SiteSearchOut:
    """The eligible area of the box and the best landing ellipses centred in it."""
    box = check_bbox(body.bbox)
    cs = _constraints(body.preset, body.constraints)
    dem = dataset_dem(body.dataset, box)
    window = terrain.box_window(dem, box, max_cells=MAX_SEARCH_CELLS)
    area = planning.eligible_area(planning.eligibility_map(window, cs))
    sites = planning.search_landing_sites(
        dem,
        cs,
        bbox=box,
        targets=list(body.targets) or None,
        weights=body.weights,
        top=body.top,
        azimuths=tuple(body.azimuths) if body.azimuths else None,
    )
    records = sites.drop(columns="geometry").to_dict(orient="records")
    features = [
        {
            "type": "Feature",
            "id": int(record["rank"]),
            "geometry": dict(mapping(geom)),
            "properties": finite_json(record),
        }
        for record, geom in zip(records, sites.geometry, strict=True)
    ]
    return SiteSearchOut(
        dataset=str(dem.name),
        constraints=cs.name,
        bbox=box,
        area=EligibleArea(**finite_json(area)),
        candidates=int(sites.attrs["candidates"]),
        not_evaluated=dict(sites.attrs["not_evaluated"]),
        sites=FeatureCollection(features=features),
    )


def plan_route(body: TraverseIn) -> tuple[Any, str]:
    """Plan the traverse of ``body`` (refused with ``413`` above the size limit)."""
    dem = dataset_dem(body.dataset)
    (lon0, lat0), (lon1, lat1) = body.start.coordinates, body.goal.coordinates
    rows, cols = traverse_span_cells(dem, (lat0, lon0), (lat1, lon1))
    if max(rows, cols) > MAX_TRAVERSE_SPAN_CELLS:
        raise HTTPException(
            413,
            detail=(
                f"a traverse from {body.start.coordinates} to {body.goal.coordinates} spans "
                f"{rows} × {cols} cells of {body.dataset!r}; the limit for a request answered "
                f"at once is {MAX_TRAVERSE_SPAN_CELLS} rows and columns: plan it on a coarser "
                "dataset or in shorter legs"
            ),
        )
    route = planning.plan_traverse(dem, (lat0, lon0), (lat1, lon1), max_slope=body.max_slope_deg)
    return route, str(dem.name)


@router.post("/traverse", response_model=TraverseFeature)
def traverse(body: TraverseIn, _: Planner) -> TraverseFeature:
    """The least-cost rover route from start to goal as a GeoJSON Feature (LineString)."""
    route, name = plan_route(body)
    return route_feature(route, name)
