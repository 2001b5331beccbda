"""ML test fixtures: an isolated data dir, the shipped classifier and a small real-image folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Registry database and model store in a temporary data dir, never the user's."""
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def shipped() -> Iterator[Any]:
    """The shipped terrain classifier, loaded from its artefact folder (no database)."""
    import marsgis.ml
    from marsgis.ml.registry import SHIPPED_DIR, SHIPPED_MODELS

    version, _ = SHIPPED_MODELS["terrain-classifier"]
    yield marsgis.ml.load(SHIPPED_DIR / "terrain-classifier" / str(version), device="cpu")


def make_subset(dest: Path, per_class: int = 24) -> Path:
    """Copy real landmark crops into ``dest``: whole observations, at most ``per_class`` a class.

    Observations are taken in name order until each class has ``per_class`` images (or runs
    out), so the subset keeps several observations per class and can be split by observation.
    """
    from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, read_labels

    records = read_labels()
    by_obs: dict[str, list[Any]] = {}
    for rec in records:
        by_obs.setdefault(rec.observation, []).append(rec)
    counts: dict[int, int] = {}
    chosen = []
    for obs in sorted(by_obs):
        recs = by_obs[obs]
        if any(counts.get(r.label, 0) < per_class for r in recs) and len(recs) <= per_class:
            chosen += recs
            for r in recs:
                counts[r.label] = counts.get(r.label, 0) + 1
    (dest / "images").mkdir(parents=True)
    for rec in chosen:
        shutil.copy(HIRISE_LANDMARKS_DIR / "images" / rec.filename, dest / "images" / rec.filename)
    (dest / "labels.txt").write_text("".join(f"{r.filename} {r.label}\n" for r in chosen))
    return dest


@pytest.fixture(scope="session")
def subset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of ~150 real HiRISE crops in the shipped layout."""
    return make_subset(tmp_path_factory.mktemp("landmarks"))
