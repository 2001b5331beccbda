"""Tiles behind a proxy prefix: a Jupyter server at ``/user/ada/`` with the marsgis extension.

This is how the dashboards run on JupyterHub: a single-user Jupyter server whose base URL is
the user's prefix, with Voila as a server extension and the marsgis extension serving tiles
at ``{base_url}marsgis/tiles/``. The page must fetch every tile from that path on its own
server (the kernel learns the URL from the extension) and nothing from anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from dashboard_browser import (
    ROOT,
    Server,
    Tab,
    assert_within_pixel,
    container_point,
    free_port,
    readout,
    screenshot,
    start_server,
    stop_server,
    wait_for_tiles,
)

import marsgis

PREFIX = "/user/ada/"


@pytest.fixture(scope="module")
def jupyter(dash_env: dict[str, Any]) -> Iterator[Server]:
    port = free_port()
    extensions = {
        "marsgis.viz": True,
        "voila.server_extension": True,
        "jupyter_server_proxy": True,
        # not needed to render a dashboard: keep the start quick
        "jupyterlab": False,
        "jupyter_lsp": False,
        "notebook_shim": False,
        "jupyter_server_terminals": False,
    }
    cmd = [
        str(ROOT / ".venv" / "bin" / "jupyter"),
        "server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.base_url={PREFIX}",
        f"--ServerApp.root_dir={ROOT}",
        "--IdentityProvider.token=",
        "--allow-root",  # harmless for other users; CI containers run as root
    ]
    config = dash_env["tmp"] / "jupyter-config" / "jupyter_server_config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": extensions}}))
    env = dict(dash_env["env"], JUPYTERHUB_SERVICE_PREFIX=PREFIX)
    url = f"http://127.0.0.1:{port}{PREFIX}api/status"
    server = start_server(cmd, url, env, dash_env["tmp"] / "jupyter-server.log")
    server.url = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        yield server
    finally:
        stop_server(server)


def test_tiles_come_from_the_servers_own_prefix(tab: Tab, jupyter: Server) -> None:
    page = tab.page
    page.goto(f"{jupyter.url}voila/render/dashboards/landing-site-explorer.ipynb")
    try:
        wait_for_tiles(page)
    except Exception as exc:
        raise AssertionError(f"tiles did not load; server log:\n{jupyter.log_tail()}") from exc
    origin = urlsplit(jupyter.url).netloc
    tiles = [u for u in tab.requests if "/marsgis/tiles/" in u]
    assert len(tiles) >= 8
    for url in tiles:
        parts = urlsplit(url)
        assert parts.netloc == origin and parts.path.startswith(f"{PREFIX}marsgis/tiles/"), url
    elsewhere = [
        u for u in tab.requests if u.startswith(("http", "ws")) and urlsplit(u).netloc != origin
    ]
    assert elsewhere == []

    box = page.locator(".leaflet-container").first.bounding_box()
    target = (-42.4, 70.5)  # Hellas floor
    page.mouse.click(*container_point(box, (0.0, 0.0), 1, *target))
    shown = readout(page)
    assert_within_pixel(shown["lat"], target[0], 1)
    assert_within_pixel(shown["lon"], target[1], 1)
    assert shown["dem"] == "mola"
    assert shown["elevation_m"] == marsgis.sample(
        marsgis.open_dem("mola"), shown["lat"], shown["lon"]
    )
    screenshot(page, "landing-site-explorer-under-prefix")
    assert tab.non_local() == []
