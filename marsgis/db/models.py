"""The model index: thin functions over the ``ml_models`` table.

One row per registered model version: ``name`` and ``version`` (unique together), the artefact
folder ``path``, the ``sha256`` of its weights, its ``metadata`` and ``metrics`` (JSON
documents) and ``created_at`` (aware UTC). :mod:`marsgis.ml.registry` writes the artefacts,
numbers the versions and checks the sha256 on load; this module only reads and writes rows. Adding a row records ``model.registered`` (subject:
the model name) in the same transaction (:mod:`marsgis.db.events`).

Every function takes ``db``: a database URL, an engine, an open connection (the call joins its
transaction, see :func:`marsgis.db.transaction`), or None for the configured default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.events import append_event
from marsgis.db.schema import ml_models

__all__ = ["ModelRecord", "add_model", "model_records", "newest_version"]


@dataclass(frozen=True)
class ModelRecord:
    """One row of ``ml_models``: a registered model version."""

    name: str
    version: int
    path: Path
    sha256: str
    created_at: datetime
    metadata: dict[str, Any] = field(repr=False)
    metrics: dict[str, Any] = field(repr=False)


def model_records(name: str | None = None, *, db: DatabaseLike = None) -> list[ModelRecord]:
    """The registered model versions (of ``name`` only, if given), by name and version."""
    query = sa.select(ml_models).order_by(ml_models.c.name, ml_models.c.version)
    if name is not None:
        query = query.where(ml_models.c.name == name)
    with transaction(db) as conn:
        rows = conn.execute(query).mappings().all()
    return [
        ModelRecord(
            name=str(row["name"]),
            version=int(row["version"]),
            path=Path(row["path"]),
            sha256=str(row["sha256"]),
            created_at=row["created_at"],
            metadata=dict(row["metadata"] or {}),
            metrics=dict(row["metrics"] or {}),
        )
        for row in rows
    ]


def newest_version(name: str, *, db: DatabaseLike = None) -> int | None:
    """The highest registered version of ``name`` (None when it has none)."""
    with transaction(db) as conn:
        newest = conn.execute(
            sa.select(sa.func.max(ml_models.c.version)).where(ml_models.c.name == name)
        ).scalar()
    return None if newest is None else int(newest)


def add_model(
    *,
    name: str,
    version: int,
    path: str | Path,
    sha256: str,
    metadata: Mapping[str, Any],
    metrics: Mapping[str, Any],
    created_at: datetime,
    db: DatabaseLike = None,
) -> ModelRecord:
    """Insert the row of a model version and return it.

    Parameters
    ----------
    name, version
        Registry key (a second row with the same key is refused by the database).
    path
        The artefact folder.
    sha256
        sha256 of the artefact's weights.
    metadata, metrics
        JSON documents.
    created_at
        Aware datetime.
    db
        Database URL, engine, open connection, or None for the configured default.

    Raises
    ------
    DatabaseError
        The database refused the row (e.g. ``name``/``version`` taken).
    """
    record = ModelRecord(
        name=name,
        version=int(version),
        path=Path(path),
        sha256=sha256,
        created_at=created_at,
        metadata=dict(metadata),
        metrics=dict(metrics),
    )
    with transaction(db, write=True) as conn:
        conn.execute(
            ml_models.insert().values(
                name=record.name,
                version=record.version,
                path=str(record.path),
                sha256=record.sha256,
                metadata=record.metadata,
                metrics=record.metrics,
                created_at=record.created_at,
            )
        )
        append_event(
            conn,
            "model.registered",
            record.name,
            {"version": record.version, "sha256": record.sha256},
        )
    return record
