"""``GET /health``: the service is up, with its version and database (no auth)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

import marsgis
from marsgis import db
from marsgis.api.auth import database
from marsgis.api.models import Database, Health
from marsgis.api.routers import API_PREFIX

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["health"])


@router.get("/health", response_model=Health)
def health(store: Annotated[Any, Depends(database)]) -> Health:
    """Liveness and readiness: answers only when the database answers."""
    engine = db.get_engine(store)
    return Health(
        status="ok",
        version=marsgis.__version__,
        database=Database(dialect=engine.dialect.name, revision=db.current_revision(engine)),
    )
