"""``/jobs``: the jobs of long requests (batch inference, planning searches) and their results.

A job is seen only by its owner and by admins; to anyone else it does not exist (``404``).
Jobs are made by the routes that need them, through :func:`marsgis.api.jobs.submit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse, Response

from marsgis.api import jobs
from marsgis.api.auth import Principal, authenticate, database
from marsgis.api.models import Page, Problem
from marsgis.api.models_jobs import JobOut
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import ADMIN
from marsgis.db import jobs as job_store
from marsgis.db.jobs import Job
from marsgis.exceptions import NotFoundError, StateTransitionError

__all__ = ["job_body", "job_location", "router"]

PREFIX = f"{API_PREFIX}/jobs"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 404, 409)
}
router = APIRouter(prefix=PREFIX, tags=["jobs"], responses=_ERRORS)

Store = Annotated[Any, Depends(database)]
Caller = Annotated[Principal, Depends(authenticate)]


def job_location(job: Job) -> str:
    """The URL path of a job resource."""
    return f"{PREFIX}/{job.id}"


def job_body(job: Job) -> JobOut:
    """The response body of a job."""
    return JobOut.of(job, self_href=job_location(job), result_href=f"{job_location(job)}/result")


def _visible(store: Any, job_id: str, principal: Principal) -> Job:
    job = jobs.get(store, job_id)
    if job.owner != principal.name and ADMIN not in principal.scopes:
        raise NotFoundError(f"no job with id {job_id!r}; list your jobs with GET {PREFIX}")
    return job


@router.get("", response_model=Page[JobOut])
def list_jobs(
    store: Store,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[JobOut]:
    """The caller's own jobs, newest first."""
    found = job_store.list_jobs(principal.name, db=store)
    page = [jobs.get(store, j.id) for j in found[offset : offset + limit]]
    return Page[JobOut](
        items=[job_body(j) for j in page], total=len(found), limit=limit, offset=offset
    )


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, store: Store, principal: Caller) -> JobOut:
    """A job: its status (queued, running, succeeded, failed), times, error and result link."""
    return job_body(_visible(store, job_id, principal))


@router.get(
    "/{job_id}/result",
    response_class=Response,
    responses={
        200: {
            "content": {"image/tiff": {}, "application/json": {}},
            "description": "the result: a file (e.g. a GeoTIFF) or a JSON document",
        }
    },
)
def get_result(job_id: str, store: Store, principal: Caller) -> Response:
    """The result of a succeeded job (``409`` while it runs or when it failed)."""
    job = _visible(store, job_id, principal)
    if job.status == "failed":
        raise StateTransitionError(f"job {job.id!r} failed and has no result: {job.error}")
    if job.status != "succeeded":
        raise StateTransitionError(
            f"job {job.id!r} is {job.status}; poll GET {job_location(job)} until it succeeds"
        )
    if job.result_path is None:
        return JSONResponse(job.result_json)
    path = Path(job.result_path)
    if not path.is_file():
        raise NotFoundError(
            f"the result file of job {job.id!r} is gone from the server; submit the request again"
        )
    return FileResponse(path, media_type=job.result_media_type, filename=path.name)
