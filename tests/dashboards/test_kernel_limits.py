"""Bounded page kernels on a real standalone Voila (``make dashboards``' configuration).

Voila is started the way ``make dashboards`` starts it, with the ``voila.json`` that
:func:`marsgis.viz.install.install` writes (here with a short cull timeout). A page is
"opened" by GETting it (Voila starts its kernel and runs the notebook) and connecting the
page's kernel websocket, and "closed" by dropping the websocket without a goodbye (a tab
closed abruptly). Live kernels are counted from the process table: the ``ipykernel`` children
of the Voila process.
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
import requests
import websocket
from dashboard_browser import ROOT, Server, free_port, start_server, stop_server

from marsgis.viz.install import install
from marsgis.viz.kernels import voila_config

CAP = 3
CULL_S = 3


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("kernels")
    pages = tmp / "pages"
    pages.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('page', 6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, pages / "page.ipynb")
    limits = voila_config(
        cull_idle_timeout=CULL_S, cull_interval=1, max_kernels_per_user=CAP, reclaim_after=1
    )
    install(
        data_dir=tmp / "data",
        config_dir=tmp / "config",
        server_extension=False,
        kernel_limits=limits,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARSGIS_", "JUPYTER"))}
    env.update(
        PYTHONPATH=str(ROOT),  # this checkout's marsgis.viz.kernels in Voila
        JUPYTER_PATH=str(tmp / "data"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_DATA_DIR=str(tmp / "user-data"),
        # in a virtualenv jupyter_core ranks the environment's etc/jupyter (where `make setup`
        # installs the default voila.json) above JUPYTER_CONFIG_DIR; this test's limits first
        JUPYTER_PREFER_ENV_PATH="0",
    )
    port = free_port()
    voila_exe = Path(sys.executable).parent / "voila"
    cmd = [str(voila_exe), "--no-browser", f"--port={port}", "--template=marsgis", str(pages)]
    server = start_server(cmd, f"http://127.0.0.1:{port}/", env, tmp / "voila.log")
    try:
        yield server
    finally:
        stop_server(server)


def live_kernels(server: Server) -> int:
    """The ipykernel processes Voila runs."""
    kids = psutil.Process(server.proc.pid).children(recursive=True)
    count = 0
    for p in kids:
        try:
            if "ipykernel_launcher" in " ".join(p.cmdline()) and p.status() != "zombie":
                count += 1
        except psutil.NoSuchProcess:
            pass
    return count


def open_page(server: Server) -> tuple[int, str, websocket.WebSocket | None]:
    """GET the page; when it rendered, connect its kernel's websocket (as the page's JS does)."""
    r = requests.get(f"{server.url}voila/render/page.ipynb", timeout=120)
    if r.status_code != 200:
        return r.status_code, r.text, None
    assert "page 42" in r.text
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', r.text)
    assert kernel, r.text[:2000]
    ws_url = server.url.replace("http://", "ws://") + (
        f"api/kernels/{kernel.group(1)}/channels?session_id={uuid.uuid4().hex}"
    )
    return 200, r.text, websocket.create_connection(ws_url, timeout=60)


def wait_for_kernels(server: Server, at_most: int, timeout: float = 60) -> int:
    end = time.monotonic() + timeout
    while (n := live_kernels(server)) > at_most and time.monotonic() < end:
        time.sleep(0.5)
    return n


def test_pages_beyond_the_cap_are_refused_with_the_reason(voila: Server) -> None:
    held = [open_page(voila) for _ in range(CAP)]
    try:
        assert [status for status, _, _ in held] == [200] * CAP
        assert live_kernels(voila) == CAP
        status, text, ws = open_page(voila)  # every kernel has a page connected to it
        assert ws is None
        assert status == 429, text[-2000:]
        assert "Too many dashboard pages open" in text
        assert live_kernels(voila) == CAP
    finally:
        for _, _, ws in held:
            assert ws is not None
            ws.close()
    # closed abruptly: the culler frees them once idle for the cull timeout
    assert wait_for_kernels(voila, 0) == 0


@pytest.mark.slow  # ~25 s: 20 Voila pages (make test-slow)
def test_opening_and_closing_a_page_20_times_does_not_grow_kernels(voila: Server) -> None:
    assert wait_for_kernels(voila, 0) == 0
    seen = []
    for _ in range(20):
        end = time.monotonic() + 60
        while True:  # at the cap, a page opens once a closed page's kernel is reclaimable
            status, text, ws = open_page(voila)
            if status != 429 or time.monotonic() > end:
                break
            time.sleep(0.5)
        assert status == 200 and ws is not None, text[-2000:]
        seen.append(live_kernels(voila))
        ws.close()  # no goodbye: the tab is gone
    assert max(seen) <= CAP, seen
    assert wait_for_kernels(voila, 0) == 0  # every idle, unconnected kernel culled
