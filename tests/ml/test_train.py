"""Training on real HiRISE crops: a tiny configuration, one epoch, in the default suite."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import marsgis.ml
from marsgis.exceptions import ValidationError
from marsgis.ml import TrainConfig, fit

TINY = TrainConfig(size=32, widths=(8, 16), epochs=1, batch_size=16, lr=3e-3, num_threads=1)


def test_one_epoch_on_real_images_lowers_the_loss(subset_dir: Path, tmp_path: Path) -> None:
    result = fit(subset_dir, tmp_path / "run", TINY, progress=False)
    losses = result.history[0]["batch_losses"]
    assert len(losses) >= 10
    # the unweighted loss of an untrained 8-class network starts near ln 8
    assert losses[0] == pytest.approx(np.log(8), abs=0.35)
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.1
    # the split is by observation and everything is accounted for
    train_obs, val_obs = set(result.split.train_observations), set(result.split.val_observations)
    assert train_obs.isdisjoint(val_obs)
    assert sum(result.train_counts) + sum(result.val_counts) == len(
        marsgis.ml.read_labels(subset_dir)
    )
    # per-epoch log: history.jsonl, checkpoints and a loadable artefact
    record = json.loads((tmp_path / "run" / "history.jsonl").read_text().splitlines()[0])
    assert set(record) >= {
        "train_loss",
        "val_loss",
        "val_accuracy",
        "val_balanced_accuracy",
        "val_recall",
    }
    assert record["train_loss"] == pytest.approx(result.history[0]["train_loss"])
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "best.pt").is_file()
    clf = marsgis.ml.load(tmp_path / "run" / "model")
    meta = clf.metadata
    assert meta["training"]["data_hash"] == marsgis.ml.data_hash(subset_dir)
    assert meta["training"]["split"]["val_observations"] == sorted(val_obs)
    assert meta["input_shape"] == [1, 32, 32]
    # the recorded validation metrics are those of the saved weights
    ev = marsgis.ml.evaluate(clf, subset_dir, calibrated=False)
    assert ev.split == "validation"
    assert ev.metrics.confusion.tolist() == result.metrics.confusion.tolist()


def test_fixed_seed_and_resume_reproduce_one_run(subset_dir: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(size=32, widths=(8, 16), epochs=2, batch_size=32, num_threads=1)
    whole = fit(subset_dir, tmp_path / "whole", cfg, progress=False)
    part = fit(subset_dir, tmp_path / "parts", cfg, progress=False, stop_after=1)
    assert len(part.history) == 1
    resumed = fit(subset_dir, tmp_path / "parts", cfg, progress=False, resume=True)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # a different config cannot resume this run
    with pytest.raises(ValidationError, match=r"differs in \['size'\]"):
        fit(subset_dir, tmp_path / "parts", replace(cfg, size=40, epochs=3), resume=True)


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="class_weighting='log'"):
        TrainConfig(class_weighting="log")
    with pytest.raises(ValidationError, match="epochs=0"):
        TrainConfig(epochs=0)
    with pytest.raises(ValidationError, match=r"unknown TrainConfig keys \['depth'\]"):
        TrainConfig.from_dict({"depth": 3})
    assert TrainConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValidationError, match="sampling='random'"):
        TrainConfig(sampling="random")
    with pytest.raises(ValidationError, match=r"scale=\(1.5, 0.5\)"):
        TrainConfig(scale=(1.5, 0.5))
    rich = replace(TINY, scale=(0.5, 1.25), invert=0.5, gamma=0.5, gradient=True)
    assert TrainConfig.from_dict(json.loads(json.dumps(rich.to_dict()))) == rich
    assert rich.model_kwargs()["gradient"] is True
