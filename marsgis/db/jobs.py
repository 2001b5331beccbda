"""Jobs of the service API: thin functions over the ``api_jobs`` table (migration 0007).

A job is a long request (batch inference, a planning search) that the API runs on the Dask
cluster instead of inside the request (:mod:`marsgis.api.jobs`). Its row is inserted
``queued`` with the user who asked (``owner``), moves to ``running`` once handed to the
cluster and ends ``succeeded`` — with a result file (``result_path``, ``result_media_type``)
or a JSON document (``result_json``) — or ``failed`` with an error text. The lifecycle is
:data:`JOB_TRANSITIONS`; a finished job never changes again.

Every function takes ``db``: a database URL, an engine, an open connection (the call joins
its transaction), or None for the configured default (``MARSGIS_DATABASE_URL``).

Examples
--------
>>> from marsgis.db import jobs  # doctest: +SKIP
>>> job = jobs.create_job("inference.batch", "ada", parameters={"dataset": "gale-1m"})  # doctest: +SKIP
>>> jobs.mark_running(job.id).status  # doctest: +SKIP
'running'
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db import _validation as check
from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.schema import JOB_STATUSES, api_jobs
from marsgis.exceptions import NotFoundError, StateTransitionError, ValidationError

__all__ = [
    "ERROR_MAX",
    "FINISHED",
    "JOB_STATUSES",
    "JOB_TRANSITIONS",
    "Job",
    "create_job",
    "get_job",
    "list_jobs",
    "mark_failed",
    "mark_running",
    "mark_succeeded",
    "unfinished_jobs",
]

#: Longest error text stored with a job.
ERROR_MAX = 4000
#: status -> the statuses it may move to.
JOB_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "queued": ("running", "succeeded", "failed"),
    "running": ("succeeded", "failed"),
    "succeeded": (),
    "failed": (),
}
#: The statuses a job ends in.
FINISHED = ("succeeded", "failed")


@dataclass(frozen=True)
class Job:
    """One API job (a snapshot; reload it with :func:`get_job`).

    Attributes
    ----------
    id
        Public id (32 hex digits).
    kind
        What the job does, e.g. ``"inference.batch"``.
    owner
        The user who submitted it (only they, or an admin, may see it).
    status
        One of :data:`JOB_STATUSES`.
    parameters
        The request, as given (JSON).
    runner
        The process that watches the job: ``host``, ``pid``, ``pid_started``.
    created_at, started_at, finished_at
        Timezone-aware UTC; None until reached.
    result_path, result_media_type
        The result file and its media type (None for JSON results and unfinished jobs).
    result_json
        A JSON result (None for file results).
    error
        Why the job failed (None otherwise).
    """

    id: str
    kind: str
    owner: str
    status: str
    parameters: dict[str, Any]
    runner: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result_path: str | None
    result_media_type: str | None
    result_json: Any
    error: str | None

    @property
    def finished(self) -> bool:
        """Whether the job succeeded or failed."""
        return self.status in FINISHED


def _to_job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        owner=row["owner"],
        status=row["status"],
        parameters=dict(row["parameters"] or {}),
        runner=dict(row["runner"] or {}),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        result_path=row["result_path"],
        result_media_type=row["result_media_type"],
        result_json=row["result_json"],
        error=row["error"],
    )


def _job_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"job id {value!r} must be a non-empty string")
    return value.strip()


def _fetch(conn: Connection, job_id: str) -> Job:
    row = conn.execute(sa.select(api_jobs).where(api_jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"no job with id {job_id!r}; list your jobs or submit the request again"
        )
    return _to_job(row)


def create_job(
    kind: str,
    owner: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    runner: Mapping[str, Any] | None = None,
    db: DatabaseLike = None,
) -> Job:
    """Insert a ``queued`` job and return it.

    Raises
    ------
    ValidationError
        An empty kind or owner, or parameters/runner that are not JSON objects.
    """
    job_id = uuid.uuid4().hex
    row = {
        "id": job_id,
        "kind": check.name(kind, "job kind"),
        "owner": check.name(owner, "job owner"),
        "status": "queued",
        "parameters": check.json_object(parameters, "job parameters"),
        "runner": check.json_object(runner, "job runner"),
        "created_at": datetime.now(UTC),
    }
    with transaction(db, write=True) as conn:
        conn.execute(api_jobs.insert().values(**row))
        return _fetch(conn, job_id)


def get_job(job_id: str, db: DatabaseLike = None) -> Job:
    """The job ``job_id``.

    Raises
    ------
    NotFoundError
        No job has this id.
    """
    key = _job_id(job_id)
    with transaction(db) as conn:
        return _fetch(conn, key)


def list_jobs(
    owner: str | None = None,
    *,
    status: str | None = None,
    db: DatabaseLike = None,
) -> list[Job]:
    """Jobs, newest first: all of them, or those of ``owner``, optionally of one ``status``."""
    query = sa.select(api_jobs)
    if owner is not None:
        query = query.where(api_jobs.c.owner == owner)
    if status is not None:
        query = query.where(api_jobs.c.status == check.choice(status, "job status", JOB_STATUSES))
    query = query.order_by(api_jobs.c.created_at.desc(), api_jobs.c.id)
    with transaction(db) as conn:
        return [_to_job(row) for row in conn.execute(query).mappings()]


def unfinished_jobs(db: DatabaseLike = None) -> list[Job]:
    """The ``queued`` and ``running`` jobs, oldest first."""
    query = (
        sa.select(api_jobs)
        .where(api_jobs.c.status.in_(("queued", "running")))
        .order_by(api_jobs.c.created_at, api_jobs.c.id)
    )
    with transaction(db) as conn:
        return [_to_job(row) for row in conn.execute(query).mappings()]


def _move(job_id: str, status: str, values: dict[str, Any], db: DatabaseLike) -> Job:
    key = _job_id(job_id)
    sources = tuple(s for s, targets in JOB_TRANSITIONS.items() if status in targets)
    with transaction(db, write=True) as conn:
        done = conn.execute(
            api_jobs.update()
            .where(api_jobs.c.id == key, api_jobs.c.status.in_(sources))
            .values(status=status, **values)
        )
        job = _fetch(conn, key)
        if done.rowcount == 0:
            raise StateTransitionError(
                f"job {key!r} is {job.status!r} and cannot become {status!r}; allowed from "
                f"{', '.join(sources)}"
            )
        return job


def mark_running(job_id: str, db: DatabaseLike = None) -> Job:
    """Move a ``queued`` job to ``running`` (``started_at`` now).

    Raises
    ------
    NotFoundError, StateTransitionError
        No such job, or it is not queued.
    """
    return _move(job_id, "running", {"started_at": datetime.now(UTC)}, db)


def mark_succeeded(
    job_id: str,
    *,
    result_path: str | None = None,
    media_type: str | None = None,
    result_json: Any = None,
    db: DatabaseLike = None,
) -> Job:
    """Finish a job with its result: a file (``result_path`` + ``media_type``) or JSON.

    Raises
    ------
    ValidationError
        Both or neither of a file and a JSON result, or a file without its media type.
    NotFoundError, StateTransitionError
        No such job, or it already finished.
    """
    if (result_path is None) == (result_json is None):
        raise ValidationError("give a job result as result_path or as result_json, exactly one")
    if result_path is not None and not media_type:
        raise ValidationError(
            f"result file {result_path!r} needs its media type, e.g. media_type='image/tiff'"
        )
    values = {
        "finished_at": datetime.now(UTC),
        "result_path": None if result_path is None else str(result_path),
        "result_media_type": media_type if result_path is not None else "application/json",
        "result_json": None if result_json is None else check.json_value(result_json, "result"),
    }
    return _move(job_id, "succeeded", values, db)


def mark_failed(job_id: str, error: str, db: DatabaseLike = None) -> Job:
    """Finish a job as ``failed`` with ``error`` (cut to :data:`ERROR_MAX` characters).

    Raises
    ------
    NotFoundError, StateTransitionError
        No such job, or it already finished.
    """
    text = str(error).strip() or "the job failed without a message"
    if len(text) > ERROR_MAX:
        text = text[: ERROR_MAX - 1] + "…"
    return _move(job_id, "failed", {"finished_at": datetime.now(UTC), "error": text}, db)
