"""``/reports``: the reports, their runs (list, trigger, fetch the HTML) and schedules.

Reading needs ``reports:read``; triggering a run and changing schedules need ``reports:run``.
Every route calls :mod:`marsgis.reports`: a trigger checks the report and its parameters and
records the run ``running`` (:func:`marsgis.reports.start_run`), answers ``202`` with the run's
``Location``, and executes it in a background thread of the server
(:func:`marsgis.reports.execute_run`, stopped after :data:`RUN_TIMEOUT_S`), which records the
outcome. A run left ``running`` by a server that stopped is marked failed by
:func:`marsgis.reports.fail_abandoned_runs`. Reports are named, never given as paths: only the
shipped reports of ``GET /reports`` run here.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from marsgis import db, reports
from marsgis.api.auth import Principal, database, require
from marsgis.api.models import Page, Problem
from marsgis.api.models_reports import ReportOut, RunIn, RunOut, ScheduleIn, ScheduleOut
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import REPORTS_READ, REPORTS_RUN
from marsgis.exceptions import NotFoundError, ValidationError

__all__ = ["RUN_TIMEOUT_S", "router"]

PREFIX = f"{API_PREFIX}/reports"
#: A triggered run is stopped (and recorded failed) after this many seconds.
RUN_TIMEOUT_S = 900.0
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 409, 422)
}
router = APIRouter(prefix=PREFIX, tags=["reports"], responses=_ERRORS)

Store = Annotated[Any, Depends(database)]
Reader = Annotated[Principal, Depends(require(REPORTS_READ))]
#: A row id of the store (a 32-bit integer above zero, as the store keeps ids; anything else is a ``422``).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Runner = Annotated[Principal, Depends(require(REPORTS_RUN))]


def _shipped(report: str) -> str:
    """``report`` if it names a shipped report (never a notebook path), else a 404/422."""
    names = [info.name for info in reports.list_reports()]
    if report not in names:
        if "/" in report or "\\" in report or report.endswith(".ipynb"):
            raise ValidationError(
                f"report {report!r} is a path; the API runs shipped reports by name: "
                f"{', '.join(names)}"
            )
        raise NotFoundError(f"no report named {report!r}; the reports are {', '.join(names)}")
    return report


def _run_out(request: Request, run: reports.ReportRun) -> RunOut:
    url = None
    if run.html is not None:
        url = str(request.url_for("get_run_html", run_id=run.id).path)
    return RunOut.of(run, url)


@router.get("", response_model=Page[ReportOut])
def list_reports(_: Reader) -> Page[ReportOut]:
    """The reports that can be run, with their parameters (all of them)."""
    found = [ReportOut.of(info) for info in reports.list_reports()]
    return Page[ReportOut](items=found, total=len(found), limit=len(found), offset=0)


@router.get("/runs", response_model=Page[RunOut])
def list_runs(
    request: Request,
    store: Store,
    _: Reader,
    *,
    report: str | None = None,
    mission_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[RunOut]:
    """Report runs, newest first, filtered by report, mission and status, and paged."""
    found = reports.list_runs(report=report, status=status, limit=None, db=store)
    if mission_id is not None:
        found = [r for r in found if r.parameters.get("mission_id") == mission_id]
    page = found[offset : offset + limit]
    return Page[RunOut](
        items=[_run_out(request, r) for r in page], total=len(found), limit=limit, offset=offset
    )


@router.post("/runs", status_code=202, response_model=RunOut)
def trigger_run(body: RunIn, request: Request, store: Store, _: Runner) -> JSONResponse:
    """Start a run now: ``202`` with its ``Location``; poll it until it is not ``running``."""
    name = _shipped(body.report)
    parameters = dict(body.parameters)
    if body.mission_id is not None:
        if parameters.get("mission_id", body.mission_id) != body.mission_id:
            raise ValidationError(
                f"mission_id {body.mission_id!r} and parameters.mission_id "
                f"{parameters['mission_id']!r} differ; give it once"
            )
        db.get_mission(body.mission_id, db=store)  # a 404 before anything is recorded
        parameters["mission_id"] = body.mission_id
    run = reports.start_run(name, parameters, db=store)
    # the job hook: a jobs table would take the run here instead of a thread of this server
    # in this request's context: the run's events name the caller as actor (auth.require)
    threading.Thread(
        target=contextvars.copy_context().run,
        args=(reports.execute_run, run),
        kwargs={"db": store, "timeout_s": RUN_TIMEOUT_S},
        name=f"marsgis-report-run-{run.id}",
        daemon=True,
    ).start()
    location = str(request.url_for("get_run", run_id=run.id).path)
    return JSONResponse(
        _run_out(request, run).model_dump(mode="json"),
        status_code=202,
        headers={"Location": location},
    )


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RowId, request: Request, store: Store, _: Reader) -> RunOut:
    """One run, with its status and, once written, the URL of its HTML."""
    return _run_out(request, reports.get_run(run_id, db=store))


@router.get(
    "/runs/{run_id}/html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "the rendered report"}},
)
def get_run_html(run_id: RowId, store: Store, _: Reader) -> HTMLResponse:
    """The rendered report (outputs only, no code); ``404`` until the run has written it."""
    run = reports.get_run(run_id, db=store)
    if run.html is None or not run.html.is_file():
        raise NotFoundError(
            f"run {run_id} ({run.status}) has no HTML yet; poll GET "
            f"{PREFIX}/runs/{run_id} until it is no longer running"
            + (f" (it failed: {run.error})" if run.error else "")
        )
    return HTMLResponse(run.html.read_text(encoding="utf-8"))


@router.get("/schedules", response_model=Page[ScheduleOut])
def list_schedules(
    store: Store,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ScheduleOut]:
    """The report schedules, by name."""
    found = reports.list_schedules(db=store)
    return Page[ScheduleOut](
        items=[ScheduleOut.of(s) for s in found[offset : offset + limit]],
        total=len(found),
        limit=limit,
        offset=offset,
    )


@router.post("/schedules", status_code=201, response_model=ScheduleOut)
def add_schedule(body: ScheduleIn, request: Request, store: Store, _: Runner) -> JSONResponse:
    """Store a schedule: ``201`` with its ``Location``; the scheduler runs it when due."""
    schedule = reports.add_schedule(
        body.name,
        _shipped(body.report),
        body.cron,
        body.parameters,
        enabled=body.enabled,
        db=store,
    )
    location = str(request.url_for("get_schedule", schedule_id=schedule.id).path)
    return JSONResponse(
        ScheduleOut.of(schedule).model_dump(mode="json"),
        status_code=201,
        headers={"Location": location},
    )


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: RowId, store: Store, _: Reader) -> ScheduleOut:
    """One schedule."""
    return ScheduleOut.of(reports.get_schedule(schedule_id, db=store))


@router.delete("/schedules/{schedule_id}", status_code=204, response_class=Response)
def delete_schedule(schedule_id: RowId, store: Store, _: Runner) -> Response:
    """Delete a schedule; its past runs stay (unlinked), a run in progress finishes."""
    reports.remove_schedule(schedule_id, db=store)
    return Response(status_code=204)
