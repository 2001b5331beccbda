"""``marsgis serve``: run the service API (``/api/v1``) with uvicorn.

Binds 127.0.0.1 unless ``--host`` says otherwise. Access-log lines (JSON) go to stderr.
Started by JupyterHub as a service, it reads the hub's ``JUPYTERHUB_API_URL``/``_API_TOKEN``
(hub tokens accepted) and ``JUPYTERHUB_SERVICE_PREFIX`` (answers under
``/services/marsgis-api/api/v1`` as well) through :func:`marsgis.config.settings`.

``--workers N`` runs N uvicorn worker processes on the one port. Each has its own in-process
caches (token answers, tiles, :mod:`marsgis.memo`'s memory tier) and, without
``MARSGIS_REDIS_URL``, its own rate-limit buckets (a principal then gets up to N times the
limit).

WebSocket per-message compression is off: the event streams (``/streams/ws``) send small JSON
messages, and deflating each one for each connection (its own compression context) cost a
sixth of the server's CPU per message delivered (52 µs with it, 43 µs without, 300 WebSocket
subscribers on loopback); clients that offer it simply get uncompressed frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from marsgis.cli._common import handle_errors, json_option

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["command", "worker_app"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option(
    "--url", default=None, help="Database URL (default: MARSGIS_DATABASE_URL, else SpatiaLite)."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (each with its own caches and, without Redis, rate-limit buckets).",
)
@json_option
@handle_errors
def command(host: str, port: int, url: str | None, workers: int, as_json: bool) -> None:
    """Serve the marsgis API on http://HOST:PORT/api/v1 (docs at /api/v1/docs)."""
    import os

    import uvicorn

    from marsgis.db import get_engine

    get_engine(url)  # migrate (and fail cleanly on a bad URL) before binding the port
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "ws_per_message_deflate": False,
    }
    if workers == 1:
        uvicorn.run(worker_app(url), log_level="info", **options)
        return
    if url is not None:  # the workers are new processes: they read the URL from the environment
        os.environ["MARSGIS_DATABASE_URL"] = url
    uvicorn.run(
        f"{__name__}:worker_app", factory=True, workers=workers, log_level="info", **options
    )


def worker_app(url: str | None = None) -> FastAPI:
    """The app one server process runs, its JSON access log on stderr."""
    import gc
    import logging

    from marsgis.api import create_app
    from marsgis.api.middleware import ACCESS_LOGGER

    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO)
    if not access.handlers:
        access.addHandler(logging.StreamHandler())
    app = create_app(url)
    # what start-up loaded (modules, the app, its routes) lives as long as the process: keep it
    # out of the collector's full passes, which otherwise pause every request on a large heap
    gc.collect()
    gc.freeze()
    return app
