"""The real app over a fresh SpatiaLite or PostGIS database, one token per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_service import ROLES, Service

from marsgis.api import create_app
from marsgis.db import tokens


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)


@pytest.fixture
def service(db_url: str) -> Service:
    from marsgis import db

    db.upgrade(db_url)
    made = {role: tokens.create_token(f"{role}-user", role, db=db_url)[1] for role in ROLES}
    # the rate limit is tested on apps of its own (test_api_ratelimit.py); here it would only
    # cut the schemathesis run and the role matrices short
    return Service(url=db_url, app=create_app(db_url, rate_limit="off"), tokens=made)


@pytest.fixture(scope="module")
def job_cluster() -> Iterator[Any]:
    """One small LocalCluster (a worker thread of this process) for the API's jobs."""
    from distributed import Client

    from marsgis.api import jobs

    client = Client(
        processes=False,
        n_workers=1,
        threads_per_worker=1,
        dashboard_address=None,
        set_as_default=False,  # later tests' .compute() must not run on it
    )
    jobs.use_client(client)
    yield client
    # closed with its module: distributed.get_client() finds any live client, so one left open
    # would capture later modules' computations (e.g. classify_raster's GPU path)
    jobs.use_client(None)
    client.close()
