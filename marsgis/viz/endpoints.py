"""Where the browser fetches basemap tiles: the tile URL of this kernel, and the local server.

Tiles are rendered on this machine and never fetched from anywhere else. The URL template
handed to Leaflet (:func:`tile_url`) is chosen, first match wins:

1. ``MARSGIS_TILE_URL``, when set by an administrator (any template with ``{z}/{x}/{y}``),
   or by the marsgis Jupyter server extension (:mod:`marsgis.viz.server`) in the server that
   started this kernel: ``{base_url}marsgis/tiles/{z}/{x}/{y}.png``, relative to the page's
   server, so it works under any proxy prefix (JupyterHub's ``/user/NAME/``). The extension
   also records its process id (``MARSGIS_TILE_SERVER_PID``) and the URL is only taken by
   kernels it started, not by a Voila launched from one of its terminals.
2. Otherwise a tile server in a thread of this kernel on ``127.0.0.1`` (a free port,
   :func:`start_local_server`), reached
   * through jupyter-server-proxy as ``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/…`` when the
     kernel runs in a JupyterHub single-user server, or
   * directly as ``http://127.0.0.1:{port}/…`` (plain ``voila`` or JupyterLab on the same
     machine as the browser).
"""

from __future__ import annotations

import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from marsgis.exceptions import ValidationError

__all__ = ["TILE_PATH", "TILE_ROUTE", "start_local_server", "tile_url"]

#: Path of a tile below a server's base URL (a ``str.format`` template).
TILE_PATH = "marsgis/tiles/{z}/{x}/{y}.png"
#: The same path as a regular expression with the groups z, x, y.
TILE_ROUTE = r"marsgis/tiles/(\d+)/(\d+)/(\d+)\.png"

_SERVER: ThreadingHTTPServer | None = None
_LOCK = threading.Lock()


class _TileRequestHandler(BaseHTTPRequestHandler):
    """``GET /marsgis/tiles/z/x/y.png``: a PNG, 404 for anything else."""

    server_version = "marsgis-tiles"

    def do_GET(self) -> None:
        from marsgis.viz.tiles import tile_png

        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 5 or parts[:2] != ["marsgis", "tiles"] or not parts[4].endswith(".png"):
            self.send_error(HTTPStatus.NOT_FOUND, "Not Found", "not a marsgis tile path")
            return
        try:
            z, x, y = int(parts[2]), int(parts[3]), int(parts[4][:-4])
            body = tile_png(z, x, y)
        except (ValueError, ValidationError) as exc:
            # the reason phrase must be latin-1: the message (with its "…") goes in the body
            self.send_error(HTTPStatus.NOT_FOUND, "Not Found", str(exc))
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=86400")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a map view requests dozens of tiles."""


def start_local_server() -> int:
    """Start (once per process) the tile server on ``127.0.0.1`` and return its port.

    The server runs in daemon threads, renders tiles with :func:`~marsgis.viz.tiles.tile_png`
    (disk cache included) and stops with the process.
    """
    global _SERVER  # noqa: PLW0603 - one server per process
    with _LOCK:
        if _SERVER is None:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _TileRequestHandler)
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, name="marsgis-tile-server", daemon=True
            )
            thread.start()
            _SERVER = server
        return int(_SERVER.server_address[1])


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def tile_url() -> str:
    """The Leaflet URL template (``{z}``, ``{x}``, ``{y}``) of the basemap for this kernel.

    See the module docs for the order in which the endpoint is chosen.
    """
    env = os.environ
    configured = env.get("MARSGIS_TILE_URL")
    owner = env.get("MARSGIS_TILE_SERVER_PID")
    if configured and (not owner or owner == str(os.getppid())):
        return configured
    port = start_local_server()
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        return _join(prefix, f"proxy/{port}/{TILE_PATH}")
    return f"http://127.0.0.1:{port}/{TILE_PATH}"
