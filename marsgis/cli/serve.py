"""``marsgis serve``: run the service API (``/api/v1``) with uvicorn.

Binds 127.0.0.1 unless ``--host`` says otherwise. Access-log lines (JSON) go to stderr.
Started by JupyterHub as a service, it reads the hub's ``JUPYTERHUB_API_URL``/``_API_TOKEN``
(hub tokens accepted) and ``JUPYTERHUB_SERVICE_PREFIX`` (answers under
``/services/marsgis-api/api/v1`` as well) through :func:`marsgis.config.settings`.
"""

from __future__ import annotations

import click

from marsgis.cli._common import handle_errors, json_option

__all__ = ["command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option(
    "--url", default=None, help="Database URL (default: MARSGIS_DATABASE_URL, else SpatiaLite)."
)
@json_option
@handle_errors
def command(host: str, port: int, url: str | None, as_json: bool) -> None:
    """Serve the marsgis API on http://HOST:PORT/api/v1 (docs at /api/v1/docs)."""
    import logging

    import uvicorn

    from marsgis.api import create_app
    from marsgis.api.middleware import ACCESS_LOGGER
    from marsgis.db import get_engine

    get_engine(url)  # migrate (and fail cleanly on a bad URL) before binding the port
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO)
    if not access.handlers:
        access.addHandler(logging.StreamHandler())
    uvicorn.run(create_app(url), host=host, port=port, access_log=False, log_level="info")
