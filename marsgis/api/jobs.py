"""Long requests as jobs: run a function on the Dask cluster, record its outcome in ``api_jobs``.

A router that has work too long for one request calls :func:`submit`; the client gets the
job at once (``202`` + ``Location: /api/v1/jobs/{id}``) and polls it (:mod:`.routers.jobs`).

How a job runs
--------------
1. :func:`submit` inserts the row ``queued`` (owner, kind, parameters and the *runner*: host,
   pid and start time of this API process), hands ``fn(*args)`` to the cluster of
   :func:`marsgis.compute.client` and marks the job ``running``.
2. A daemon thread of this process waits for the future. ``fn`` returns a :class:`FileResult`
   (bytes, media type, file name) or a JSON-ready value, so that workers need no access to
   the API's disk or database. A file is written atomically (:mod:`marsgis.io.atomic`) to
   ``<data dir>/jobs/<job id>/<file name>`` and the job marked ``succeeded``; an exception
   marks it ``failed`` with its message (a :class:`~marsgis.exceptions.MarsGISError`'s own
   text; for anything else only its type and the job id, the traceback goes to the
   ``marsgis.api`` log).

Jobs whose process died
-----------------------
The outcome is recorded by the process that submitted the job. If that process stops first
(a restart, a crash), the job would stay ``running`` for ever; instead, reading it
(:func:`get`) fails it when

* its runner is this very process but no thread here watches it any more, or
* its runner is a process on this host that is no longer alive (pid and start time), or
* it has been unfinished for longer than :data:`STALE_AFTER` (runners on other hosts, whose
  processes this host cannot see).

The client then sees ``failed`` with a problem text that says to submit the request again.

The cluster
-----------
By default one :func:`marsgis.compute.client` per API process, created on first use: the
configured dask-gateway, else a LocalCluster whose workers are threads of the API process
(``processes=False``). Tests and deployments may install their own with :func:`use_client`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from marsgis.config import settings
from marsgis.db import DatabaseLike
from marsgis.db import jobs as store
from marsgis.db.jobs import Job
from marsgis.exceptions import MarsGISError, StateTransitionError, ValidationError
from marsgis.io.atomic import write_bytes

__all__ = [
    "STALE_AFTER",
    "FileResult",
    "Job",
    "cluster_client",
    "get",
    "jobs_dir",
    "runner_identity",
    "submit",
    "use_client",
    "wait",
]

#: An unfinished job older than this is failed when read (see the module docstring).
STALE_AFTER = timedelta(hours=6)

_log = logging.getLogger("marsgis.api")
_lock = threading.Lock()
_watching: set[str] = set()
_client: dict[str, Any] = {}
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class FileResult:
    """A job's result file: its bytes, media type and file name (``[A-Za-z0-9._-]``)."""

    content: bytes
    media_type: str
    filename: str


def jobs_dir() -> Path:
    """Where job results are written: ``<MARSGIS_DATA_DIR>/jobs``."""
    return settings().data_dir / "jobs"


def runner_identity() -> dict[str, Any]:
    """Who runs jobs here: host name, pid and the start time of this process."""
    import psutil

    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_started": psutil.Process().create_time(),
    }


def use_client(client: Any) -> None:
    """Run the jobs of this process on ``client`` (a :class:`distributed.Client`)."""
    with _lock:
        _client["client"] = client


def cluster_client() -> Any:
    """The Dask client jobs run on (created on first use, see the module docstring)."""
    with _lock:
        client = _client.get("client")
        if client is None or getattr(client, "status", "running") in ("closed", "closing"):
            from marsgis import compute

            # not the process's default scheduler: the API's own .compute() calls stay local
            client = compute.client(processes=False, set_as_default=False)
            _client["client"] = client
        return client


def submit(
    db: DatabaseLike,
    kind: str,
    owner: str,
    fn: Callable[..., Any],
    *args: Any,
    parameters: Mapping[str, Any] | None = None,
    client: Any = None,
) -> Job:
    """Run ``fn(*args)`` as a job of ``owner`` on the cluster; return the ``running`` job.

    Parameters
    ----------
    db
        The API's database (URL, engine or None for the configured one).
    kind
        What the job does, e.g. ``"inference.batch"``.
    owner
        The principal's user name: only they (or an admin) may read the job.
    fn, args
        The work; returns a :class:`FileResult` or a JSON-ready value. Must be importable
        by the workers (a module-level function).
    parameters
        The request, stored with the job (JSON).
    client
        A :class:`distributed.Client` (default :func:`cluster_client`).

    Returns
    -------
    Job
        ``running``, or ``failed`` when the cluster refused the work.
    """
    job = store.create_job(kind, owner, parameters=parameters, runner=runner_identity(), db=db)
    try:
        cluster = client if client is not None else cluster_client()
        future = cluster.submit(fn, *args, key=f"marsgis-job-{job.id}", pure=False)
    except Exception as exc:
        _log.exception("job %s could not be handed to the cluster", job.id)
        return store.mark_failed(job.id, _error_text(exc, job.id), db=db)
    with _lock:
        _watching.add(job.id)
    running = store.mark_running(job.id, db=db)
    threading.Thread(
        target=_watch, args=(future, job.id, db), name=f"marsgis-job-{job.id}", daemon=True
    ).start()
    return running


def _error_text(exc: BaseException, job_id: str) -> str:
    if isinstance(exc, MarsGISError):
        return str(exc)
    return (
        f"the job failed with an internal error ({type(exc).__name__}); report it with the "
        f"job id {job_id}"
    )


def _record(job_id: str, value: Any, db: DatabaseLike) -> None:
    if isinstance(value, FileResult):
        if not _FILENAME.match(value.filename):
            raise ValidationError(f"job result file name {value.filename!r} is not allowed")
        folder = jobs_dir() / job_id
        folder.mkdir(parents=True, exist_ok=True)
        path = write_bytes(folder / value.filename, value.content)
        store.mark_succeeded(job_id, result_path=str(path), media_type=value.media_type, db=db)
    else:
        store.mark_succeeded(job_id, result_json=value, db=db)


def _watch(future: Any, job_id: str, db: DatabaseLike) -> None:
    try:
        try:
            value = future.result()
        except BaseException as exc:
            if not isinstance(exc, MarsGISError):
                _log.error("job %s failed", job_id, exc_info=exc)
            store.mark_failed(job_id, _error_text(exc, job_id), db=db)
            return
        try:
            _record(job_id, value, db)
        except Exception as exc:
            _log.exception("the result of job %s could not be recorded", job_id)
            store.mark_failed(job_id, _error_text(exc, job_id), db=db)
    except Exception:  # the database itself failed: the job is failed when next read
        _log.exception("the outcome of job %s could not be recorded", job_id)
    finally:
        with _lock:
            _watching.discard(job_id)
        release = getattr(future, "release", None)
        if release is not None:
            release()


def _process_gone(runner: Mapping[str, Any]) -> bool:
    """Whether ``runner`` is a process of this host that no longer runs."""
    import psutil

    if runner.get("host") != socket.gethostname() or "pid" not in runner:
        return False
    try:
        started = psutil.Process(int(runner["pid"])).create_time()
    except psutil.NoSuchProcess:
        return True
    return abs(started - float(runner.get("pid_started", started))) > 1e-3


def _lost_reason(job: Job, now: datetime) -> str | None:
    runner = job.runner
    mine = runner.get("host") == socket.gethostname() and runner.get("pid") == os.getpid()
    if mine and not _process_gone(runner):
        with _lock:
            watched = job.id in _watching
        if not watched:
            return "this API process no longer follows the job"
    elif _process_gone(runner):
        return (
            f"the API process that ran it (pid {runner.get('pid')} on {runner.get('host')}) stopped"
        )
    if now - job.created_at > STALE_AFTER:
        return f"it had no outcome after {STALE_AFTER}"
    return None


def get(db: DatabaseLike, job_id: str, *, now: datetime | None = None) -> Job:
    """The job ``job_id``, failed first if it was lost (see the module docstring).

    Raises
    ------
    NotFoundError
        No job has this id.
    """
    job = store.get_job(job_id, db=db)
    if job.finished:
        return job
    reason = _lost_reason(job, now or datetime.now(UTC))
    if reason is None:
        return job
    try:
        return store.mark_failed(
            job.id, f"the job was lost: {reason}; submit the request again", db=db
        )
    except StateTransitionError:  # it finished meanwhile
        return store.get_job(job_id, db=db)


def wait(db: DatabaseLike, job_id: str, *, timeout: float = 600.0) -> Job:
    """Block until the job finishes (or ``timeout`` seconds pass); return it as it is then."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        job = get(db, job_id)
        if job.finished or time.monotonic() >= deadline:
            return job
        time.sleep(0.1)
