"""The FastAPI application: ``create_app(db)`` assembles the routers under ``/api/v1``."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import marsgis
from marsgis.api.middleware import RequestContextMiddleware
from marsgis.api.problems import install_handlers
from marsgis.api.ratelimit import RateLimiter, document_rate_limit, rate_limiter
from marsgis.api.routers import API_PREFIX, health, mars_data, missions, stac, tiles
from marsgis.config import Rate
from marsgis.db import DatabaseLike

__all__ = ["API_PREFIX", "MAX_BODY_BYTES", "create_app"]

#: Default request-body limit (1 MiB).
MAX_BODY_BYTES = 1 << 20


def create_app(
    db: DatabaseLike = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    cors_origins: Sequence[str] = (),
    rate_limit: str | Rate | RateLimiter | None = None,
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
    rate_limit
        Requests per principal, e.g. ``"600/minute"``, ``"off"``, or a limiter object
        (:mod:`marsgis.api.ratelimit`); None: ``MARSGIS_API_RATE_LIMIT`` (default
        ``600/minute``), in ``MARSGIS_REDIS_URL``'s Redis when that is set.
    """
    app = FastAPI(
        title="marsgis",
        version=marsgis.__version__,
        description="Mars terrain analysis and mission planning over HTTP (IAU_2015:49900).",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.db = db
    app.state.rate_limiter = rate_limiter(rate_limit)
    install_handlers(app)
    app.include_router(health.router)
    app.include_router(missions.router)
    app.include_router(mars_data.router)
    app.include_router(stac.router)
    app.include_router(tiles.router)
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
    return app
