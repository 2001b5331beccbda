"""The real app over a fresh SpatiaLite or PostGIS database, one token per role."""

from __future__ import annotations

from pathlib import Path

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
    return Service(url=db_url, app=create_app(db_url), tokens=made)
