"""``/planning``: landing-site checks and searches, rover traverses (scope ``planning:run``).

Each route calls one public function of :mod:`marsgis.planning` on a DEM of the catalog
(:data:`marsgis.data.RASTERS`: a ``dataset`` is a name, never a path or URL):

- ``POST /planning/sites/check`` → :func:`marsgis.planning.check_site`
- ``POST /planning/sites/search`` → :func:`marsgis.planning.eligibility_map` and
  :func:`~marsgis.planning.eligible_area` on the box, and
  :func:`marsgis.planning.search_landing_sites` in it
- ``POST /planning/traverse`` → :func:`marsgis.planning.plan_traverse`

Small requests are answered while the client waits: a search box of at most
:data:`MAX_SEARCH_CELLS` cells and a traverse whose start and goal lie at most
:data:`MAX_TRAVERSE_SPAN_CELLS` rows and columns apart. Larger ones, up to
:data:`MAX_SEARCH_JOB_CELLS` and :data:`MAX_TRAVERSE_JOB_SPAN_CELLS`, run as jobs like batch
inference (:mod:`marsgis.api.jobs`): ``202 Accepted``, ``Location: /api/v1/jobs/{id}`` and the
job as the body; the job's JSON result is the very document the ``200`` answer would have been.
Beyond those, a search box is ``422`` and a traverse ``413``. An app may lower or raise the
thresholds (``create_app(planning_limits=PlanningLimits(...))``, :class:`PlanningLimits`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import xarray as xr
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from shapely.geometry import mapping

from marsgis import catalog, data, planning, terrain
from marsgis.api import jobs
from marsgis.api.auth import Principal, database, require
from marsgis.api.models import FeatureCollection, Problem
from marsgis.api.models_jobs import JobOut
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
from marsgis.api.routers.jobs import job_body, job_location
from marsgis.api.scopes import PLANNING_RUN
from marsgis.exceptions import ValidationError
from marsgis.geo import Grid, check_bbox
from marsgis.io import open_dem
from marsgis.planning.missions import finite_json
from marsgis.planning.traverse import ROUTE_SUMMARY_KEYS

__all__ = [
    "MAX_SEARCH_CELLS",
    "MAX_SEARCH_JOB_CELLS",
    "MAX_TRAVERSE_JOB_SPAN_CELLS",
    "MAX_TRAVERSE_SPAN_CELLS",
    "SEARCH_KIND",
    "TRAVERSE_KIND",
    "PlanningLimits",
    "dataset_dem",
    "plan_route",
    "route_feature",
    "router",
    "search_job",
    "site_search",
    "traverse_job",
    "traverse_span_cells",
]

PREFIX = f"{API_PREFIX}/planning"
#: Largest search box answered at once, ``(rows, columns)`` of the dataset's cells.
MAX_SEARCH_CELLS = (1024, 1024)
#: Largest search box run as a job (larger: ``422``).
MAX_SEARCH_JOB_CELLS = (4096, 4096)
#: Largest number of rows or columns between a traverse's start and goal answered at once.
MAX_TRAVERSE_SPAN_CELLS = 512
#: Largest traverse span run as a job (larger: ``413``).
MAX_TRAVERSE_JOB_SPAN_CELLS = 4096
TRAVERSE_KIND = "planning.traverse"
SEARCH_KIND = "planning.sites.search"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 413, 422)
}
router = APIRouter(prefix=PREFIX, tags=["planning"], responses=_ERRORS)

_AS_JOB: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobOut,
        "description": "a large request, run as a job: poll its Location; the job's result is "
        "the document a 200 answer carries",
    }
}
Planner = Annotated[Principal, Depends(require(PLANNING_RUN))]
Store = Annotated[Any, Depends(database)]


@dataclass(frozen=True)
class PlanningLimits:
    """Sizes of planning requests answered at once, run as jobs, or refused.

    Parameters
    ----------
    traverse_sync_span
        Largest start-to-goal span (rows or columns of the DEM) planned while the client waits.
    traverse_job_span
        Largest span run as a job; larger traverses are refused with ``413``.
    search_sync_cells
        Largest search box, ``(rows, columns)``, answered while the client waits.
    search_job_cells
        Largest search box run as a job; larger boxes are refused with ``422``.

    Examples
    --------
    >>> PlanningLimits(traverse_sync_span=8).traverse_job_span
    4096
    """

    traverse_sync_span: int = MAX_TRAVERSE_SPAN_CELLS
    traverse_job_span: int = MAX_TRAVERSE_JOB_SPAN_CELLS
    search_sync_cells: tuple[int, int] = MAX_SEARCH_CELLS
    search_job_cells: tuple[int, int] = MAX_SEARCH_JOB_CELLS


def _limits(request: Request) -> PlanningLimits:
    found = getattr(request.app.state, "planning_limits", None)
    return found if isinstance(found, PlanningLimits) else PlanningLimits()


Limits = Annotated[PlanningLimits, Depends(_limits)]


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


def site_search(
    dem: xr.DataArray,
    box: tuple[float, float, float, float],
    cs: planning.ConstraintSet,
    body: SiteSearchIn,
    *,
    max_cells: tuple[int, int] = MAX_SEARCH_CELLS,
) -> SiteSearchOut:
    """The eligible area of ``box`` on ``dem`` and the best landing ellipses centred in it."""
    window = terrain.box_window(dem, box, max_cells=max_cells)
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


def search_job(
    dataset: str,
    box: tuple[float, float, float, float],
    cs: planning.ConstraintSet,
    body: SiteSearchIn,
    max_cells: tuple[int, int],
) -> dict[str, Any]:
    """Job: :func:`site_search` on the catalog DEM ``dataset``, as JSON."""
    found = site_search(open_dem(dataset), box, cs, body, max_cells=max_cells)
    return found.model_dump(mode="json")


def _accepted(job: jobs.Job) -> JSONResponse:
    return JSONResponse(
        job_body(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": job_location(job)},
    )


@router.post("/sites/search", response_model=SiteSearchOut, responses=_AS_JOB)
def search_sites(
    body: SiteSearchIn, principal: Planner, store: Store, limits: Limits
) -> SiteSearchOut | JSONResponse:
    """The eligible area of the box and the best landing ellipses centred in it.

    A box over the size answered at once runs as a job (``202`` + ``Location``).
    """
    box = check_bbox(body.bbox)
    cs = _constraints(body.preset, body.constraints)
    dem = dataset_dem(body.dataset, box)
    window = terrain.box_window(dem, box, max_cells=limits.search_job_cells)
    rows, cols = window.shape
    if rows <= limits.search_sync_cells[0] and cols <= limits.search_sync_cells[1]:
        return site_search(dem, box, cs, body, max_cells=limits.search_sync_cells)
    job = jobs.submit(
        store,
        SEARCH_KIND,
        principal.name,
        search_job,
        str(dem.name),
        box,
        cs,
        body,
        limits.search_job_cells,
        parameters={
            **body.model_dump(mode="json"),
            "dataset": str(dem.name),
            "cells": [rows, cols],
        },
    )
    return _accepted(job)


def _traverse_inputs(
    body: TraverseIn,
) -> tuple[xr.DataArray, tuple[float, float], tuple[float, float], tuple[int, int]]:
    dem = dataset_dem(body.dataset)
    (lon0, lat0), (lon1, lat1) = body.start.coordinates, body.goal.coordinates
    span = traverse_span_cells(dem, (lat0, lon0), (lat1, lon1))
    return dem, (lat0, lon0), (lat1, lon1), span


def _too_long(body: TraverseIn, span: tuple[int, int], limit: int, what: str) -> HTTPException:
    return HTTPException(
        413,
        detail=(
            f"a traverse from {body.start.coordinates} to {body.goal.coordinates} spans "
            f"{span[0]} × {span[1]} cells of {body.dataset!r}; the limit {what} is {limit} "
            "rows and columns: plan it on a coarser dataset or in shorter legs"
        ),
    )


def plan_route(body: TraverseIn, *, max_span: int = MAX_TRAVERSE_SPAN_CELLS) -> tuple[Any, str]:
    """Plan the traverse of ``body`` now (refused with ``413`` when it spans over ``max_span``)."""
    dem, start, goal, span = _traverse_inputs(body)
    if max(span) > max_span:
        raise _too_long(body, span, max_span, "for a request answered at once")
    route = planning.plan_traverse(dem, start, goal, max_slope=body.max_slope_deg)
    return route, str(dem.name)


def traverse_job(
    dataset: str, start: tuple[float, float], goal: tuple[float, float], max_slope: float | None
) -> dict[str, Any]:
    """Job: :func:`marsgis.planning.plan_traverse` on ``dataset``, as its route Feature (JSON)."""
    route = planning.plan_traverse(open_dem(dataset), start, goal, max_slope=max_slope)
    return route_feature(route, dataset).model_dump(mode="json")


@router.post("/traverse", response_model=TraverseFeature, responses=_AS_JOB)
def traverse(
    body: TraverseIn, principal: Planner, store: Store, limits: Limits
) -> TraverseFeature | JSONResponse:
    """The least-cost rover route from start to goal as a GeoJSON Feature (LineString).

    A traverse whose start and goal lie far apart runs as a job (``202`` + ``Location``).
    """
    dem, start, goal, span = _traverse_inputs(body)
    if max(span) > limits.traverse_job_span:
        raise _too_long(body, span, limits.traverse_job_span, "for a traverse job")
    if max(span) <= limits.traverse_sync_span:
        route = planning.plan_traverse(dem, start, goal, max_slope=body.max_slope_deg)
        return route_feature(route, str(dem.name))
    job = jobs.submit(
        store,
        TRAVERSE_KIND,
        principal.name,
        traverse_job,
        str(dem.name),
        start,
        goal,
        body.max_slope_deg,
        parameters={**body.model_dump(mode="json"), "span_cells": list(span)},
    )
    return _accepted(job)
