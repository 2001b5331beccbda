"""Ways in besides the bearer header: ``?token=``, ``Authorization: token``, a service prefix.

Hub tokens themselves are checked against a real JupyterHub in tests/hub/test_hub_platform.py;
here the hub side is only reached when it is down (a closed loopback port): a ``503``.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest
from api_service import Service, marsgis_serve

from marsgis import db
from marsgis.api import create_app
from marsgis.api.auth import HubIdentity

MISSIONS = "/api/v1/missions"
PREFIX = "/services/marsgis-api"
BODY = {"name": "Gale", "target": {"type": "Point", "coordinates": [137.4417, -4.5895]}}


def _missions(url: str) -> list[dict[str, object]]:
    return [m.to_dict() for m in db.list_missions(db=url)]


def test_query_token_works_like_the_bearer_header(service: Service) -> None:
    viewer, scientist = service.tokens["viewer"], service.tokens["scientist"]
    by_header = service.call("GET", MISSIONS, role="viewer")
    by_query = service.call("GET", MISSIONS, params={"token": viewer})
    assert by_header.status_code == by_query.status_code == 200
    assert by_query.json() == by_header.json()
    # a viewer's query token is refused a write, and nothing is written
    before = _missions(service.url)
    refused = service.call("POST", MISSIONS, params={"token": viewer}, json=BODY)
    assert refused.status_code == 403, refused.text
    assert "custom:marsgis:missions:write" in refused.json()["detail"]
    assert _missions(service.url) == before
    created = service.call("POST", MISSIONS, params={"token": scientist}, json=BODY)
    assert created.status_code == 201, created.text
    stored = db.get_mission(created.json()["id"], db=service.url)
    assert (stored.name, stored.lat, stored.lon) == ("Gale", -4.5895, 137.4417)
    # JupyterHub's own header scheme is accepted too
    hub_style = service.call(
        "GET", f"{MISSIONS}/{stored.id}", headers={"Authorization": f"token {viewer}"}
    )
    assert hub_style.status_code == 200 and hub_style.json()["id"] == stored.id


@pytest.mark.parametrize("token", ["", "mgs_not-a-token", "0123456789abcdef"])
def test_unknown_query_token_is_401(service: Service, token: str) -> None:
    r = service.call("GET", MISSIONS, params={"token": token})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json"


def test_openapi_declares_header_and_query_tokens(service: Service) -> None:
    spec = service.call("GET", "/api/v1/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["HTTPBearer"]["description"],
    }
    assert (schemes["APIKeyQuery"]["in"], schemes["APIKeyQuery"]["name"]) == ("query", "token")
    assert spec["paths"][MISSIONS]["post"]["security"] == [{"HTTPBearer": []}, {"APIKeyQuery": []}]


def test_prefix_from_the_hub_environment(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """``JUPYTERHUB_SERVICE_PREFIX`` as the hub sets it: routes, links and OpenAPI carry it."""
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", PREFIX + "/")
    prefixed = Service(url=service.url, app=create_app(service.url), tokens=service.tokens)
    created = prefixed.call("POST", PREFIX + MISSIONS, role="scientist", json=BODY)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"{PREFIX}{MISSIONS}/{created.json()['id']}"
    again = prefixed.call("GET", location, role="viewer")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    spec = prefixed.call("GET", f"{PREFIX}/api/v1/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["servers"] == [{"url": PREFIX}]
    assert MISSIONS in spec.json()["paths"]  # paths stay relative to the server URL
    docs = prefixed.call("GET", f"{PREFIX}/api/v1/docs")
    assert docs.status_code == 200 and f"'{PREFIX}/api/v1/openapi.json'" in docs.text
    # without the prefix (a Kubernetes probe on the pod) the API answers as before
    assert prefixed.call("GET", "/api/v1/health").status_code == 200
    assert "servers" not in prefixed.call("GET", "/api/v1/openapi.json").json()
    # a path that only starts like the prefix is not under it
    assert prefixed.call("GET", PREFIX + "x/api/v1/health").status_code == 404


def test_marsgis_serve_honours_the_service_prefix(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real uvicorn, as the hub starts it: requests arrive with the prefix still on."""
    db.upgrade(db_url)
    _, secret = db.tokens.create_token("ada", "scientist", db=db_url)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", PREFIX + "/")
    with marsgis_serve(db_url, tmp_path) as base:
        root = base.removesuffix("/api/v1")
        created = httpx.post(
            f"{root}{PREFIX}{MISSIONS}", params={"token": secret}, json=BODY, timeout=10
        )
        assert created.status_code == 201, created.text
        follow = httpx.get(root + created.headers["location"], params={"token": secret}, timeout=10)
        assert follow.json()["id"] == created.json()["id"]
        docs = httpx.get(f"{root}{PREFIX}/api/v1/docs", timeout=10).text
        openapi = re.search(r"url: '([^']+)'", docs)
        assert openapi is not None and openapi.group(1) == f"{PREFIX}/api/v1/openapi.json"
        spec = httpx.get(root + openapi.group(1), timeout=10).json()
        assert spec["servers"] == [{"url": PREFIX}]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hub_down_is_503_and_standalone_tokens_still_work(service: Service) -> None:
    hub = HubIdentity(f"http://127.0.0.1:{_closed_port()}/hub/api", "service-token")
    app = create_app(service.url, hub=hub, prefix="")
    behind = Service(url=service.url, app=app, tokens=service.tokens)
    down = behind.call("GET", MISSIONS, headers={"Authorization": "Bearer 0123456789abcdef"})
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    assert "could not check the token" in down.json()["detail"]
    # marsgis tokens never go to the hub
    assert behind.call("GET", MISSIONS, role="viewer").status_code == 200
    assert behind.call("GET", MISSIONS, params={"token": "mgs_unknown"}).status_code == 401


def test_hub_settings_come_from_the_hub_environment() -> None:
    from marsgis.config import settings
    from marsgis.exceptions import ConfigurationError

    env = {
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_API_TOKEN": "abc",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/marsgis-api/",
    }
    s = settings(env)
    assert (s.hub_api_url, s.api_prefix, s.behind_hub) == (env["JUPYTERHUB_API_URL"], PREFIX, True)
    assert "abc" not in repr(s)
    assert settings({**env, "MARSGIS_API_PREFIX": "/marsgis/"}).api_prefix == "/marsgis"
    assert not settings({"JUPYTERHUB_API_URL": env["JUPYTERHUB_API_URL"]}).behind_hub
    with pytest.raises(ConfigurationError, match="JUPYTERHUB_SERVICE_PREFIX='services/x'"):
        settings({"JUPYTERHUB_SERVICE_PREFIX": "services/x"})
