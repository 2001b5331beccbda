"""The model index (``ml_models``): the row access of marsgis.db, both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from marsgis.db import DatabaseLike, models, transaction
from marsgis.db.models import ModelRecord
from marsgis.exceptions import DatabaseError

T0 = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC)
SHA = "ab" * 32


def _add(name: str, version: int, db: DatabaseLike, *, at: datetime = T0) -> ModelRecord:
    return models.add_model(
        name=name,
        version=version,
        path=Path("/store") / name / str(version),
        sha256=SHA,
        metadata={"classes": ["crater", "dune"], "input_shape": [1, 64, 64]},
        metrics={"validation": {"accuracy": 0.75}},
        created_at=at,
        db=db,
    )


def test_model_index_rows(db_url: str) -> None:
    assert models.newest_version("crater-cnn", db=db_url) is None
    assert models.model_records(db=db_url) == []
    second = _add("crater-cnn", 2, db_url, at=T0 + timedelta(hours=1))
    first = _add("crater-cnn", 1, db_url)
    other = _add("terrain-classifier", 2, db_url)
    assert first == ModelRecord(
        name="crater-cnn",
        version=1,
        path=Path("/store/crater-cnn/1"),
        sha256=SHA,
        created_at=T0,
        metadata={"classes": ["crater", "dune"], "input_shape": [1, 64, 64]},
        metrics={"validation": {"accuracy": 0.75}},
    )
    # ordered by name, then version; the stored values read back equal
    assert models.model_records(db=db_url) == [first, second, other]
    assert models.model_records("crater-cnn", db=db_url) == [first, second]
    assert models.model_records("nothing", db=db_url) == []
    assert models.newest_version("crater-cnn", db=db_url) == 2
    assert models.newest_version("terrain-classifier", db=db_url) == 2
    with pytest.raises(DatabaseError, match="refused"):
        _add("crater-cnn", 2, db_url)  # name and version are unique together
    assert models.model_records("crater-cnn", db=db_url) == [first, second]


def test_a_registration_that_fails_stores_nothing(db_url: str) -> None:
    with pytest.raises(RuntimeError, match="copy failed"), transaction(db_url, write=True) as conn:
        _add("crater-cnn", 1, conn)
        assert models.newest_version("crater-cnn", db=conn) == 1  # seen inside
        raise RuntimeError("copy failed")
    assert models.newest_version("crater-cnn", db=db_url) is None
