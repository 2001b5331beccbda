"""Where tiles come from: the kernel-local server, the URL rules, the server-extension route."""

from __future__ import annotations

import io
import os
import re
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from marsgis.viz.endpoints import TILE_PATH, start_local_server, tile_url
from marsgis.viz.tiles import render_tile


def test_local_server_serves_rendered_tiles_on_localhost() -> None:
    port = start_local_server()
    assert start_local_server() == port  # one server per process
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/marsgis/tiles/1/2/0.png") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "image/png"
        body = r.read()
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body))), render_tile(1, 2, 0))
    for bad in ("marsgis/tiles/1/9/0.png", "marsgis/tiles/a/b/c.png", "etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/{bad}")
        assert info.value.code == 404


def test_tile_url_is_this_machine_by_default() -> None:
    url = tile_url()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/marsgis/tiles/\{z\}/\{x\}/\{y\}\.png", url)


def test_tile_url_under_a_jupyterhub_prefix_goes_through_the_server_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    port = start_local_server()
    assert tile_url() == f"/user/ada/proxy/{port}/{TILE_PATH}"


def test_tile_url_of_the_server_extension_is_taken_by_its_own_kernels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MARSGIS_TILE_URL", f"/user/ada/{TILE_PATH}")
    monkeypatch.setenv("MARSGIS_TILE_SERVER_PID", str(os.getppid()))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert tile_url() == f"/user/ada/{TILE_PATH}"
    # ... and not by a process some other server (or a terminal of it) started
    monkeypatch.setenv("MARSGIS_TILE_SERVER_PID", str(os.getppid() + 100_000))
    assert "/proxy/" in tile_url()
    # an administrator's URL without a process id is always taken
    monkeypatch.delenv("MARSGIS_TILE_SERVER_PID")
    assert tile_url() == f"/user/ada/{TILE_PATH}"


def test_server_extension_routes_below_the_base_url() -> None:
    from marsgis.viz import _jupyter_server_extension_points
    from marsgis.viz.server import TileHandler, tile_handlers

    assert _jupyter_server_extension_points() == [{"module": "marsgis.viz.server"}]
    ((pattern, handler),) = tile_handlers("/user/ada/")
    assert handler is TileHandler
    match = re.fullmatch(pattern, "/user/ada/marsgis/tiles/12/3456/789.png")
    assert match is not None and match.groups() == ("12", "3456", "789")
    assert re.fullmatch(pattern, "/marsgis/tiles/12/3456/789.png") is None
