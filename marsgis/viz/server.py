"""The marsgis Jupyter server extension: basemap tiles at ``{base_url}marsgis/tiles/z/x/y.png``.

Enable it in any Jupyter server (JupyterLab, ``jupyter server`` with Voila's extension,
a JupyterHub single-user server)::

    jupyter server extension enable --sys-prefix marsgis.viz
    # or per run:
    jupyter lab --ServerApp.jpserver_extensions='{"marsgis.viz": true}'

The handler sits below the server's ``base_url`` (``/user/NAME/`` under JupyterHub), so the
browser fetches tiles from the page's own server and the hub proxy forwards them like any
other request; it needs the same login as the rest of the server. Rendering runs in a thread
pool, so a slow tile never blocks the server. The extension publishes the URL template to
the kernels it starts (``MARSGIS_TILE_URL``, see :mod:`marsgis.viz.endpoints`).

It also keeps Voila pages of the server offline: unless ``ServerApp.tornado_settings`` sets
``mathjax_url``/``mathjax_config``, it sets both to ``"null"``, which stops Voila (as a server
extension) from loading MathJax from ``cdnjs.cloudflare.com``; dashboards typeset no LaTeX.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from marsgis.exceptions import ValidationError
from marsgis.viz.endpoints import TILE_PATH, TILE_ROUTE

__all__ = ["TileHandler", "tile_handlers"]


class TileHandler(JupyterHandler):  # type: ignore[misc]
    """``GET {base_url}marsgis/tiles/z/x/y.png``: one basemap tile (PNG)."""

    @web.authenticated  # type: ignore[misc]
    async def get(self, z: str, x: str, y: str) -> None:
        """Render (or read from the disk cache) and send one tile; 404 outside the grid."""
        from marsgis.viz.tiles import tile_png

        try:
            body = await IOLoop.current().run_in_executor(None, tile_png, int(z), int(x), int(y))
        except ValidationError as exc:
            raise web.HTTPError(404, str(exc)) from exc
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "public, max-age=86400")
        self.finish(body)


def tile_handlers(base_url: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """The tornado routes of the tile endpoint below ``base_url``."""
    return [(url_path_join(base_url, TILE_ROUTE), TileHandler)]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the tile handler and tell the kernels of this server where tiles are."""
    settings = serverapp.web_app.settings
    base_url = settings.get("base_url", "/")
    serverapp.web_app.add_handlers(".*$", tile_handlers(base_url))
    # Voila as a server extension would otherwise load MathJax from cdnjs.cloudflare.com
    # (its default when these are unset); "null" turns MathJax off in its pages. An
    # administrator's own values (ServerApp.tornado_settings) are kept.
    settings.setdefault("mathjax_url", "null")
    settings.setdefault("mathjax_config", "null")
    os.environ["MARSGIS_TILE_URL"] = url_path_join(base_url, TILE_PATH)
    os.environ["MARSGIS_TILE_SERVER_PID"] = str(os.getpid())
    serverapp.log.info("marsgis: Mars basemap tiles at %s", url_path_join(base_url, TILE_PATH))
