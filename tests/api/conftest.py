"""The real app over a fresh SpatiaLite or PostGIS database, one token per role."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from marsgis.api import create_app
from marsgis.db import tokens

ROLES = ("admin", "scientist", "operator", "viewer")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)


@dataclass
class Service:
    """The app, its database URL and a token per role; ``call`` sends one request."""

    url: str
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def call(
        self, method: str, path: str, *, role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, path, headers=headers, **kwargs)

        return asyncio.run(send())


@pytest.fixture
def service(db_url: str) -> Service:
    from marsgis import db

    db.upgrade(db_url)
    made = {role: tokens.create_token(f"{role}-user", role, db=db_url)[1] for role in ROLES}
    return Service(url=db_url, app=create_app(db_url), tokens=made)
