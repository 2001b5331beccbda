"""A real ``marsgis serve`` (uvicorn) on a loopback port, and the ``marsgis token`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from api_service import marsgis_serve
from click.testing import CliRunner

from marsgis import db
from marsgis.cli import main


def _token(url: str, *args: str) -> dict[str, object] | list[dict[str, object]]:
    result = CliRunner().invoke(main, ["token", *args, "--url", url, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, object] | list[dict[str, object]] = json.loads(result.stdout)
    return document


def test_token_commands_create_list_revoke(db_url: str) -> None:
    db.upgrade(db_url)
    created = _token(db_url, "create", "--user", "ada", "--role", "scientist")
    assert isinstance(created, dict)
    secret = str(created["token"])
    assert secret.startswith("mgs_") and len(secret) > 40
    assert (created["user"], created["role"], created["revoked_at"]) == ("ada", "scientist", None)
    # stored as its sha256 only
    import hashlib

    principal = db.tokens.authenticate(secret, db=db_url)
    assert principal is not None and (principal.id, principal.user, principal.role) == (
        created["id"],
        "ada",
        "scientist",
    )
    assert db.tokens.hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    listed = _token(db_url, "list")
    assert listed == [{k: created[k] for k in ("id", "user", "role", "created_at", "revoked_at")}]
    assert secret not in json.dumps(listed)
    revoked = _token(db_url, "revoke", str(created["id"]))
    assert isinstance(revoked, dict) and revoked["revoked_at"] is not None
    assert db.tokens.authenticate(secret, db=db_url) is None
    assert [t.revoked for t in db.tokens.list_tokens(db=db_url)] == [True]


def test_marsgis_serve_answers_on_loopback(db_url: str, tmp_path: Path) -> None:
    db.upgrade(db_url)
    _, secret = db.tokens.create_token("ada", "scientist", db=db_url)
    with marsgis_serve(db_url, tmp_path) as base:
        health = httpx.get(f"{base}/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["database"]["revision"] == db.head_revision()
        auth = {"Authorization": f"Bearer {secret}"}
        body = {
            "name": "Gale",
            "target": {"type": "Point", "coordinates": [137.4417, -4.5895]},
        }
        created = httpx.post(f"{base}/missions", json=body, headers=auth, timeout=10)
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/api/v1/missions/{created.json()['id']}"
        stored = db.get_mission(created.json()["id"], db=db_url)
        assert (stored.name, stored.lat, stored.lon) == ("Gale", -4.5895, 137.4417)
        refused = httpx.get(f"{base}/missions", timeout=10)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
    # the access log went to the server's stderr as JSON lines
    lines = [
        json.loads(line)
        for line in (tmp_path / "serve.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("GET", "/api/v1/health", 200),  # marsgis_serve's readiness probe
        ("GET", "/api/v1/health", 200),
        ("POST", "/api/v1/missions", 201),
        ("GET", "/api/v1/missions", 401),
    ]
    assert lines[2]["principal"] == "ada"


@pytest.mark.parametrize(  # SpatiaLite (~35 s) in `make test-slow`; the shared PostGIS store always
    "db_url",
    [
        pytest.param("spatialite", marks=pytest.mark.slow),
        pytest.param("postgis", marks=pytest.mark.postgis),
    ],
    indirect=True,
)
def test_marsgis_serve_workers_share_one_store(db_url: str, tmp_path: Path) -> None:
    """``--workers 2``: two processes on one port; every list shows every write at once."""
    import psutil

    from marsgis.db import tokens

    db.upgrade(db_url)
    _, secret = tokens.create_token("ada", "scientist", db=db_url)
    auth = {"Authorization": f"Bearer {secret}"}
    with marsgis_serve(db_url, tmp_path, "--workers", "2") as base:
        port = base.split(":")[2].split("/")[0]
        servers = [p for p in psutil.process_iter(["cmdline"]) if port in (p.info["cmdline"] or [])]
        workers = [
            child
            for server in servers
            for child in server.children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(servers) == 1 and len(workers) == 2, (servers, workers)
        names = []
        for i in range(3):
            body = {"name": f"Site {i}", "target": {"type": "Point", "coordinates": [137.4, -4.6]}}
            created = httpx.post(f"{base}/missions", json=body, headers=auth, timeout=10)
            assert created.status_code == 201, created.text
            names.append(f"Site {i}")
            for _ in range(6):  # new connections: either worker answers
                listed = httpx.get(f"{base}/missions", headers=auth, timeout=10)
                assert listed.status_code == 200, listed.text
                assert [m["name"] for m in listed.json()["items"]] == names
    assert [m.name for m in db.list_missions(db=db_url)] == names
