"""The ``reports`` hub service: browse the scheduled reports' outputs, behind JupyterHub OAuth.

Serves ``MARSGIS_REPORTS_DIR`` (where ``marsgis scheduler`` writes) read-only under
``/services/reports/``: a directory listing and the files themselves (HTML, notebooks, images).
Users whose roles grant ``access:services!service=reports`` (viewers, operators, scientists) get
in; anyone else is sent to the hub's login page or refused with 403.
"""

from __future__ import annotations

import html
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

PREFIX = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/reports/")
ROOT = Path(os.environ.get("MARSGIS_REPORTS_DIR") or ".").resolve()


class ReportsHandler(HubOAuthenticated, web.StaticFileHandler):
    """Files under ROOT, and an HTML listing for directories."""

    @web.authenticated
    async def get(self, path: str, include_body: bool = True) -> None:
        target = (ROOT / path).resolve()
        if target != ROOT and ROOT not in target.parents:
            raise web.HTTPError(404)
        if target.is_dir():
            if path and not path.endswith("/"):
                self.redirect(url_path_join(PREFIX, quote(path)) + "/")
                return
            self.write(self._listing(target, path))
            return
        await super().get(path, include_body)

    def compute_etag(self) -> str | None:
        if getattr(self, "absolute_path", None) is None:  # a listing, not a file
            return None
        return super().compute_etag()

    def _listing(self, directory: Path, path: str) -> str:
        rows = []
        for entry in sorted(directory.iterdir(), key=lambda p: (not p.is_dir(), p.name)):
            name = entry.name + ("/" if entry.is_dir() else "")
            rows.append(f'<li><a href="{quote(name)}">{html.escape(name)}</a></li>')
        title = html.escape(f"reports/{path}")
        user = html.escape(self.current_user["name"])
        return (
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<h1>{title}</h1><p>signed in as {user}</p>"
            f"<ul>{''.join(rows) or '<li>(no reports yet)</li>'}</ul></body></html>"
        )


def make_app() -> web.Application:
    settings: dict[str, Any] = {"cookie_secret": os.urandom(32)}
    return web.Application(
        [
            (url_path_join(PREFIX, "oauth_callback"), HubOAuthCallbackHandler),
            (PREFIX.rstrip("/"), web.RedirectHandler, {"url": PREFIX}),
            (url_path_join(PREFIX, "(.*)"), ReportsHandler, {"path": str(ROOT)}),
        ],
        **settings,
    )


def main() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    app = make_app()
    app.listen(
        int(os.environ.get("MARSGIS_HUB_REPORTS_PORT", "8013")),
        address=os.environ.get("MARSGIS_HUB_SERVICE_IP", "127.0.0.1"),
    )
    loop = ioloop.IOLoop.current()

    def stop(signum: int, frame: object) -> None:
        loop.add_callback_from_signal(loop.stop)

    # the hub stops services with SIGINT, then SIGTERM (a shell may have ignored SIGINT for us)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    loop.start()


if __name__ == "__main__":
    main()
