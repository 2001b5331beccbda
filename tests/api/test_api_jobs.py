"""The job resource: outcomes recorded from the cluster, owner-only access, lost jobs."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
from api_service import Service

from marsgis.api import jobs
from marsgis.db import jobs as job_store
from marsgis.exceptions import DataNotFoundError

JOBS = "/api/v1/jobs"
pytestmark = pytest.mark.usefixtures("job_cluster")


def sum_of_squares(n: int) -> dict[str, int]:
    """A job returning JSON."""
    return {"n": n, "sum": sum(i * i for i in range(n + 1))}


def text_file(text: str) -> jobs.FileResult:
    """A job returning a file."""
    return jobs.FileResult(text.encode(), "text/plain", "note.txt")


def missing_crater(name: str) -> None:
    """A job failing with a marsgis error."""
    raise DataNotFoundError(f"no crater named {name!r}; search the gazetteer")


def broken() -> None:
    """A job failing with an unexpected error."""
    raise KeyError("secret internals")


def poll(service: Service, location: str, role: str, limit: float = 120.0) -> dict[str, Any]:
    """GET the job until it finishes (a bounded loop, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while True:
        response = service.call("GET", location, role=role)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"job still {body['status']} after {limit} s: {body}")
        time.sleep(0.1)


def test_json_result(service: Service) -> None:
    job = jobs.submit(service.url, "test.sum", "scientist-user", sum_of_squares, 10)
    assert job.status == "running" and job.started_at is not None
    body = poll(service, f"{JOBS}/{job.id}", "scientist")
    assert body["status"] == "succeeded" and body["kind"] == "test.sum"
    assert body["error"] is None and body["finished_at"] is not None
    result = [link for link in body["links"] if link["rel"] == "result"]
    assert result == [
        {"rel": "result", "href": f"{JOBS}/{job.id}/result", "type": "application/json"}
    ]
    got = service.call("GET", result[0]["href"], role="scientist")
    assert got.status_code == 200
    assert got.json() == {"n": 10, "sum": sum(i * i for i in range(11))}


def test_file_result_written_under_the_data_dir(service: Service) -> None:
    job = jobs.submit(service.url, "test.file", "scientist-user", text_file, "sol 746")
    body = poll(service, f"{JOBS}/{job.id}", "scientist")
    assert body["status"] == "succeeded"
    stored = job_store.get_job(job.id, db=service.url)
    assert stored.result_path == str(jobs.jobs_dir() / job.id / "note.txt")
    assert open(stored.result_path, encoding="utf-8").read() == "sol 746"
    got = service.call("GET", f"{JOBS}/{job.id}/result", role="scientist")
    assert got.status_code == 200 and got.content == b"sol 746"
    assert got.headers["content-type"].startswith("text/plain")
    # the owner's list holds the job; nobody else's does
    mine = service.call("GET", JOBS, role="scientist").json()
    assert [j["id"] for j in mine["items"]] == [job.id] and mine["total"] == 1
    assert service.call("GET", JOBS, role="viewer").json()["total"] == 0


def test_failed_job_reports_the_error_as_problem_text(service: Service) -> None:
    job = jobs.submit(service.url, "test.fail", "scientist-user", missing_crater, "Gael")
    body = poll(service, f"{JOBS}/{job.id}", "scientist")
    assert body["status"] == "failed"
    assert body["error"] == {
        "type": "urn:marsgis:error:JobFailed",
        "title": "Job failed",
        "detail": "no crater named 'Gael'; search the gazetteer",
    }
    assert [link["rel"] for link in body["links"]] == ["self"]
    got = service.call("GET", f"{JOBS}/{job.id}/result", role="scientist")
    assert got.status_code == 409
    assert got.headers["content-type"] == "application/problem+json"
    assert "no crater named 'Gael'" in got.json()["detail"]


def test_unexpected_error_hides_internals(service: Service) -> None:
    job = jobs.submit(service.url, "test.fail", "scientist-user", broken)
    body = poll(service, f"{JOBS}/{job.id}", "scientist")
    assert body["status"] == "failed"
    assert "secret internals" not in body["error"]["detail"]
    assert "KeyError" in body["error"]["detail"] and job.id in body["error"]["detail"]


def test_only_the_owner_or_an_admin_sees_a_job(service: Service) -> None:
    job = jobs.submit(service.url, "test.sum", "scientist-user", sum_of_squares, 3)
    poll(service, f"{JOBS}/{job.id}", "scientist")
    for role in ("viewer", "operator"):
        for path in (f"{JOBS}/{job.id}", f"{JOBS}/{job.id}/result"):
            got = service.call("GET", path, role=role)
            assert got.status_code == 404, (role, path)
            assert got.headers["content-type"] == "application/problem+json"
    assert service.call("GET", f"{JOBS}/{job.id}", role="admin").json()["owner"] == (
        "scientist-user"
    )
    assert service.call("GET", f"{JOBS}/{job.id}/result", role="admin").json()["n"] == 3
    assert service.call("GET", f"{JOBS}/{job.id}").status_code == 401
    assert service.call("GET", f"{JOBS}/nope", role="admin").status_code == 404


def test_a_job_whose_process_died_is_failed_when_read(service: Service) -> None:
    # a process of this host that has exited: its job can never finish
    child = psutil.Popen(["true"])
    child.wait()
    dead = {"host": socket.gethostname(), "pid": child.pid, "pid_started": 1.0}
    job = job_store.create_job("test.sum", "scientist-user", runner=dead, db=service.url)
    job_store.mark_running(job.id, db=service.url)
    body = service.call("GET", f"{JOBS}/{job.id}", role="scientist").json()
    assert body["status"] == "failed"
    assert body["error"]["detail"].startswith("the job was lost: the API process that ran it")
    assert "submit the request again" in body["error"]["detail"]


def test_a_job_this_process_no_longer_follows_is_failed(service: Service) -> None:
    job = job_store.create_job(
        "test.sum", "scientist-user", runner=jobs.runner_identity(), db=service.url
    )
    body = service.call("GET", f"{JOBS}/{job.id}", role="scientist").json()
    assert body["status"] == "failed"
    assert "no longer follows the job" in body["error"]["detail"]


def test_a_job_of_another_host_is_failed_only_when_stale(service: Service) -> None:
    other = {"host": "another-replica", "pid": os.getpid(), "pid_started": 1.0}
    job = job_store.create_job("test.sum", "scientist-user", runner=other, db=service.url)
    assert jobs.get(service.url, job.id).status == "queued"
    later = datetime.now(UTC) + jobs.STALE_AFTER + timedelta(minutes=1)
    lost = jobs.get(service.url, job.id, now=later)
    assert lost.status == "failed" and "no outcome after 6:00:00" in (lost.error or "")


def test_result_of_a_running_job_is_409(service: Service) -> None:
    other = {"host": "another-replica", "pid": 1, "pid_started": 1.0}
    job = job_store.create_job("test.sum", "scientist-user", runner=other, db=service.url)
    got = service.call("GET", f"{JOBS}/{job.id}/result", role="scientist")
    assert got.status_code == 409 and "poll GET" in got.json()["detail"]


def test_cluster_refusal_fails_the_job(service: Service) -> None:
    # a real Dask client whose cluster has been shut down refuses the work
    from distributed import Client

    closed = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    closed.close()
    job = jobs.submit(service.url, "test.sum", "scientist-user", sum_of_squares, 1, client=closed)
    assert job.status == "failed" and job.started_at is None
    body = service.call("GET", f"{JOBS}/{job.id}", role="scientist").json()
    assert body["status"] == "failed"
    assert body["error"] == {
        "type": "urn:marsgis:error:JobFailed",
        "title": "Job failed",
        "detail": "the job failed with an internal error (ClosedClientError); report it with "
        f"the job id {job.id}",
    }
    assert job_store.get_job(job.id, db=service.url).error == body["error"]["detail"]
