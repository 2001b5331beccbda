"""The ``api_jobs`` rows on SpatiaLite and PostGIS: create, read, list by owner, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from marsgis import db
from marsgis.db import jobs
from marsgis.exceptions import NotFoundError, StateTransitionError, ValidationError


def test_create_get_and_list_by_owner(db_url: str) -> None:
    before = datetime.now(UTC)
    a = jobs.create_job("inference.batch", "ada", parameters={"dataset": "gale-1m"}, db=db_url)
    b = jobs.create_job("inference.batch", "bob", db=db_url)
    c = jobs.create_job("planning.search", "ada", runner={"host": "h", "pid": 7}, db=db_url)
    assert a.status == "queued" and a.owner == "ada" and a.kind == "inference.batch"
    assert a.parameters == {"dataset": "gale-1m"} and c.runner == {"host": "h", "pid": 7}
    assert a.created_at.tzinfo is not None and a.created_at >= before.replace(microsecond=0)
    assert (a.started_at, a.finished_at, a.error, a.result_path) == (None, None, None, None)
    assert jobs.get_job(a.id, db=db_url) == a
    assert {j.id for j in jobs.list_jobs("ada", db=db_url)} == {a.id, c.id}
    assert [j.id for j in jobs.list_jobs("bob", db=db_url)] == [b.id]
    assert {j.id for j in jobs.list_jobs(db=db_url)} == {a.id, b.id, c.id}
    assert {j.id for j in jobs.unfinished_jobs(db=db_url)} == {a.id, b.id, c.id}
    with pytest.raises(NotFoundError, match="no job with id 'nope'"):
        jobs.get_job("nope", db=db_url)


def test_lifecycle_to_a_file_result(db_url: str) -> None:
    job = jobs.create_job("inference.batch", "ada", db=db_url)
    running = jobs.mark_running(job.id, db=db_url)
    assert running.status == "running" and running.started_at is not None
    done = jobs.mark_succeeded(
        job.id, result_path="/data/jobs/x/out.tif", media_type="image/tiff", db=db_url
    )
    assert (done.status, done.result_path, done.result_media_type, done.result_json) == (
        "succeeded",
        "/data/jobs/x/out.tif",
        "image/tiff",
        None,
    )
    assert done.finished and done.finished_at is not None and done.finished_at >= done.started_at
    # a finished job never changes again
    with pytest.raises(StateTransitionError, match="is 'succeeded' and cannot become 'failed'"):
        jobs.mark_failed(job.id, "late", db=db_url)
    with pytest.raises(StateTransitionError):
        jobs.mark_running(job.id, db=db_url)
    assert jobs.get_job(job.id, db=db_url) == done
    assert jobs.list_jobs("ada", status="succeeded", db=db_url) == [done]
    assert jobs.unfinished_jobs(db=db_url) == []


def test_json_result_and_failure(db_url: str) -> None:
    one = jobs.create_job("planning.search", "ada", db=db_url)
    jobs.mark_running(one.id, db=db_url)
    done = jobs.mark_succeeded(one.id, result_json={"sites": [1, 2.5, None]}, db=db_url)
    assert done.result_json == {"sites": [1, 2.5, None]}
    assert done.result_media_type == "application/json" and done.result_path is None

    two = jobs.create_job("planning.search", "ada", db=db_url)
    failed = jobs.mark_failed(two.id, "x" * (jobs.ERROR_MAX + 50), db=db_url)  # from queued
    assert failed.status == "failed" and failed.error is not None
    assert len(failed.error) == jobs.ERROR_MAX and failed.error.endswith("…")


def test_bad_input_is_refused_and_nothing_written(db_url: str) -> None:
    with pytest.raises(ValidationError, match="job owner"):
        jobs.create_job("inference.batch", "  ", db=db_url)
    with pytest.raises(ValidationError, match="not JSON-serialisable"):
        jobs.create_job("inference.batch", "ada", parameters={"x": object()}, db=db_url)
    job = jobs.create_job("inference.batch", "ada", db=db_url)
    with pytest.raises(ValidationError, match="exactly one"):
        jobs.mark_succeeded(job.id, db=db_url)
    with pytest.raises(ValidationError, match="media type"):
        jobs.mark_succeeded(job.id, result_path="/x.tif", db=db_url)
    with pytest.raises(ValidationError, match="unknown job status"):
        jobs.list_jobs(status="done", db=db_url)
    assert jobs.get_job(job.id, db=db_url).status == "queued"


def test_the_database_refuses_an_unknown_status(db_url: str) -> None:
    job = jobs.create_job("inference.batch", "ada", db=db_url)
    engine = db.get_engine(db_url)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_jobs SET status = 'done' WHERE id = :id"), {"id": job.id})
    assert jobs.get_job(job.id, db=db_url).status == "queued"
