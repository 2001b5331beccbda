"""The model registry on SpatiaLite and PostGIS: versions, listing, loading, sha256 checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import marsgis.ml
from marsgis.data import sha256_file
from marsgis.db import get_engine
from marsgis.db.schema import ml_models
from marsgis.exceptions import DataNotFoundError, DatasetIntegrityError, ValidationError
from marsgis.ml.registry import SHIPPED_DIR, SHIPPED_MODELS


def test_shipped_model_is_small_and_its_sha256_is_recorded() -> None:
    version, sha = SHIPPED_MODELS["terrain-classifier"]
    folder = SHIPPED_DIR / "terrain-classifier" / str(version)
    weights = folder / "model.pt"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == sha
    assert weights.stat().st_size < 3 * 2**20
    meta = json.loads((folder / "model.json").read_text())
    assert meta["sha256"] == sha
    assert meta["classes"] == list(marsgis.ml.CLASS_NAMES)
    assert meta["training"]["data_hash"] == marsgis.ml.data_hash()
    for key in ("input_shape", "normalization", "marsgis_version", "metrics", "tile_size"):
        assert key in meta


def test_register_list_and_load_versions(db_url: str, tmp_path: Path, shipped: Any) -> None:
    store = tmp_path / "store"
    before = marsgis.ml.list_models(db_url)
    assert [(m.name, m.version, m.source) for m in before] == [("terrain-classifier", 1, "package")]
    info = marsgis.ml.register_model(shipped, "terrain-classifier", db=db_url, store=store)
    assert (info.name, info.version, info.source) == ("terrain-classifier", 2, "database")
    assert info.path == (store / "terrain-classifier" / "2").resolve()
    assert info.sha256 == sha256_file(info.path / "model.pt")
    other = marsgis.ml.register_model(info.path, "crater-cnn", db=db_url, store=store)
    assert other.version == 1
    again = marsgis.ml.register_model(info.path, "crater-cnn", db=db_url, store=store)
    assert again.version == 2
    listed = [(m.name, m.version, m.source) for m in marsgis.ml.list_models(db_url)]
    assert listed == [
        ("crater-cnn", 1, "database"),
        ("crater-cnn", 2, "database"),
        ("terrain-classifier", 1, "package"),
        ("terrain-classifier", 2, "database"),
    ]
    # the rows in the database carry path, sha256, metadata and metrics
    with get_engine(db_url).connect() as conn:
        row = (
            conn.execute(
                sa.select(ml_models).where(
                    ml_models.c.name == "crater-cnn", ml_models.c.version == 2
                )
            )
            .mappings()
            .one()
        )
    assert row["sha256"] == again.sha256
    assert Path(row["path"]) == again.path
    assert row["metadata"]["classes"] == list(marsgis.ml.CLASS_NAMES)
    assert row["metrics"]["validation"]["accuracy"] == shipped.validation_metrics.accuracy
    # loading by name gives the newest version; version= picks one
    newest = marsgis.ml.load("crater-cnn", db=db_url, device="cpu")
    assert (newest.name, newest.version) == ("crater-cnn", 2)
    first = marsgis.ml.load("terrain-classifier", version=1, db=db_url, device="cpu")
    assert (first.name, first.version, first.sha256) == (
        "terrain-classifier",
        1,
        SHIPPED_MODELS["terrain-classifier"][1],
    )
    x = np.random.default_rng(0).random((3, 40, 40)).astype(np.float32)
    np.testing.assert_array_equal(newest.predict(x).probabilities, shipped.predict(x).probabilities)
    with pytest.raises(
        DataNotFoundError, match=r"model 'crater-cnn' has no version 7; versions: \[1, 2\]"
    ):
        marsgis.ml.load("crater-cnn", version=7, db=db_url)
    with pytest.raises(DataNotFoundError, match="no model named 'nope'"):
        marsgis.ml.load("nope", db=db_url)
    with pytest.raises(ValidationError, match="model name 'bad name'"):
        marsgis.ml.register_model(shipped, "bad name", db=db_url, store=store)


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    version, _ = SHIPPED_MODELS["terrain-classifier"]
    copy = tmp_path / "copy"
    shutil.copytree(SHIPPED_DIR / "terrain-classifier" / str(version), copy)
    marsgis.ml.load(copy, device="cpu")  # intact copy loads
    data = bytearray((copy / "model.pt").read_bytes())
    data[-30] ^= 0xFF
    (copy / "model.pt").write_bytes(bytes(data))
    with pytest.raises(DatasetIntegrityError, match="have sha256 .* expected"):
        marsgis.ml.load(copy)
    with pytest.raises(DataNotFoundError, match="is not a model artefact"):
        marsgis.ml.load(tmp_path)


def test_pickled_classifier_predicts_the_same(shipped: Any) -> None:
    import pickle

    clone = pickle.loads(pickle.dumps(shipped))
    x = np.random.default_rng(1).random((4, 64, 64)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x).probabilities, shipped.predict(x).probabilities)
    assert clone.metadata == shipped.metadata


def test_damaged_metadata_is_our_error(tmp_path: Path) -> None:
    from marsgis.exceptions import DataReadError

    version, _ = SHIPPED_MODELS["terrain-classifier"]
    copy = tmp_path / "copy"
    shutil.copytree(SHIPPED_DIR / "terrain-classifier" / str(version), copy)
    text = (copy / "model.json").read_text()
    (copy / "model.json").write_text(text[: len(text) // 2])  # cut mid-document
    with pytest.raises(DataReadError, match=r"model\.json' is not valid JSON"):
        marsgis.ml.load(copy, device="cpu")
    (copy / "model.json").write_text("[1, 2]")
    with pytest.raises(ValidationError, match="has format 'list', expected"):
        marsgis.ml.load(copy, device="cpu")


def test_shipped_model_loads_when_spatialite_cannot_be_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped: Any
) -> None:
    import sqlite3

    import torch

    from marsgis.exceptions import DependencyNotFoundError
    from marsgis.ml.registry import list_models, load

    path = tmp_path / "registry.sqlite"
    with sqlite3.connect(path) as conn:  # a real SQLite file, so only the extension is missing
        conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    missing = tmp_path / "no-such-dir" / "mod_spatialite"
    monkeypatch.setenv("MARSGIS_SPATIALITE", str(missing))
    url = f"sqlite:///{path}"
    # the real failure: SQLite cannot load the named extension
    with pytest.raises(DependencyNotFoundError, match="no-such-dir"):
        list_models(url)
    with pytest.warns(RuntimeWarning, match=r"registry database unavailable.*SpatiaLite"):
        clf = load("terrain-classifier", db=url, device="cpu")
    assert (clf.name, clf.version) == ("terrain-classifier", 1)
    for key, value in shipped.model.state_dict().items():
        assert torch.equal(clf.model.state_dict()[key], value)
