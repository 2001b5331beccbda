"""The FastAPI application: ``create_app(db)`` assembles the routers under ``/api/v1``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

import marsgis
from marsgis.api.auth import HubIdentity
from marsgis.api.middleware import RequestContextMiddleware
from marsgis.api.problems import install_handlers
from marsgis.api.ratelimit import RateLimiter, document_rate_limit, rate_limiter
from marsgis.api.routers import (
    API_PREFIX,
    health,
    inference,
    jobs,
    mars_data,
    missions,
    planning,
    reports,
    stac,
    station,
    streams,
    tiles,
)
from marsgis.api.routers.planning import PlanningLimits
from marsgis.api.routers.streams import StreamLimits
from marsgis.config import Rate, settings
from marsgis.db import DatabaseLike, roles
from marsgis.exceptions import ConfigurationError

__all__ = ["API_PREFIX", "MAX_BODY_BYTES", "ServicePrefixMiddleware", "create_app"]

#: Default request-body limit (1 MiB).
MAX_BODY_BYTES = 1 << 20


def create_app(
    db: DatabaseLike = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    cors_origins: Sequence[str] = (),
    hub: HubIdentity | Literal[False] | None = None,
    prefix: str | None = None,
    rate_limit: str | Rate | RateLimiter | None = None,
    planning_limits: PlanningLimits | None = None,
    stream_queue: int = StreamLimits.queue,
    stream_heartbeat: float = StreamLimits.heartbeat,
    db_roles: bool | None = None,
    db_role_prefix: str | None = None,
) -> FastAPI:
    """Build the marsgis service API over the database ``db``.

    Parameters
    ----------
    db
        Database URL, engine, or None for the configured default (``MARSGIS_DATABASE_URL``).
    max_body_bytes
        Larger request bodies are refused with ``413``.
    cors_origins
        Origins allowed by CORS; none by default (CORS closed).
    hub
        The JupyterHub that vouches for hub tokens (:class:`~marsgis.api.auth.HubIdentity`);
        None: the hub of the environment when the API runs as a hub service
        (``JUPYTERHUB_API_URL`` + ``JUPYTERHUB_API_TOKEN``), else none; False: standalone
        tokens only.
    prefix
        A URL path prefix the API also answers under, as a hub service behind the hub's proxy
        (which forwards ``/services/marsgis-api/api/v1/...`` unchanged); None: the configured one
        (``MARSGIS_API_PREFIX``, else ``JUPYTERHUB_SERVICE_PREFIX``). Links and the OpenAPI
        ``servers`` then carry the prefix; ``/api/v1/...`` keeps working (health probes).
    rate_limit
        Requests per principal, e.g. ``"600/minute"``, ``"off"``, or a limiter object
        (:mod:`marsgis.api.ratelimit`); None: ``MARSGIS_API_RATE_LIMIT`` (default
        ``600/minute``), in ``MARSGIS_REDIS_URL``'s Redis when that is set.
    planning_limits
        Sizes of planning requests answered at once, run as jobs (``202``) or refused
        (:class:`~marsgis.api.routers.planning.PlanningLimits`; default: its defaults).
    stream_queue
        Events an event-stream client (``/streams/ws``, ``/streams/sse``) may have waiting
        while a send to it waits; a client further behind is told to resync and dropped.
    stream_heartbeat
        Seconds without an event after which an event stream sends a heartbeat.
    db_roles
        True to run each authorised request's database work as the caller's PostgreSQL group
        role (:func:`marsgis.db.as_role` of the token's role, or of the role a hub user's
        scopes make up): the database's grants (:mod:`marsgis.db.roles`) then check every
        write after the scope check. The login role of ``db`` must be a member of the group
        roles (:func:`marsgis.db.roles.grant_role` with every level). None:
        ``MARSGIS_API_DB_ROLES`` (off by default). On SpatiaLite it changes nothing.
    db_role_prefix
        Prefix of those group roles; None: ``MARSGIS_DB_ROLE_PREFIX`` (``marsgis``).
    """
    identity = HubIdentity.from_settings() if hub is None else hub or None
    config = settings()
    role_prefix = None
    if config.api_db_roles if db_roles is None else db_roles:
        role_prefix = db_role_prefix if db_role_prefix is not None else config.db_role_prefix
        roles.group_role("viewer", prefix=role_prefix)  # a bad prefix fails here, not later
    root = (prefix if prefix is not None else config.api_prefix).rstrip("/")
    if root and not root.startswith("/"):
        raise ConfigurationError(
            f"prefix {prefix!r} must be a URL path, e.g. /services/marsgis-api"
        )
    app = FastAPI(
        title="marsgis",
        version=marsgis.__version__,
        description="Mars terrain analysis and mission planning over HTTP (IAU_2015:49900).",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.db = db
    app.state.hub = identity
    app.state.db_role_prefix = role_prefix
    app.state.rate_limiter = rate_limiter(rate_limit)
    app.state.planning_limits = planning_limits or PlanningLimits()
    app.state.stream_limits = StreamLimits(queue=stream_queue, heartbeat=stream_heartbeat)
    install_handlers(app)
    app.include_router(health.router)
    app.include_router(missions.router)
    app.include_router(mars_data.router)
    stac.include(app)
    app.include_router(tiles.router)
    app.include_router(planning.router)
    app.include_router(reports.router)
    app.include_router(jobs.router)
    app.include_router(inference.router)
    app.include_router(streams.router)
    app.include_router(station.router)
    document_rate_limit(app)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Location", "X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=max_body_bytes)
    if root:
        app.add_middleware(ServicePrefixMiddleware, prefix=root)
    return app


class ServicePrefixMiddleware:
    """Serve the app under a path prefix that the proxy in front does not strip.

    JupyterHub's proxy forwards ``/services/NAME/api/v1/x`` as is. A request under ``prefix``
    gets ``prefix`` as its ASGI ``root_path`` (the path stays whole, as ASGI wants), so routing
    sees ``/api/v1/x`` and ``url_for``, ``Location`` and the OpenAPI ``servers`` carry the prefix.
    Other requests (``/api/v1/health`` from a Kubernetes probe) pass unchanged.
    """

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set ``root_path`` on HTTP and websocket requests under the prefix."""
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            root = scope.get("root_path", "") + self.prefix
            if path == root or path.startswith(root + "/"):
                scope = {**scope, "root_path": root}
        await self.app(scope, receive, send)
