"""Grouped k-fold cross-validation over HiRISE observations: folds, the CV loop, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from marsgis.cli import main
from marsgis.exceptions import ValidationError
from marsgis.ml import TrainConfig
from marsgis.ml.datasets import read_labels
from marsgis.ml.evaluation import VARIANTS, CrossValidation, cross_validate
from marsgis.ml.splits import grouped_folds

TINY = TrainConfig(size=32, widths=(8, 16), epochs=2, batch_size=16, num_threads=1)


def test_folds_hold_out_every_observation_once() -> None:
    records = read_labels()
    obs = [r.observation for r in records]
    labels = [r.label for r in records]
    folds = grouped_folds(obs, labels, 5, landmarks=[r.landmark for r in records], seed=0)
    assert [f.index for f in folds] == [0, 1, 2, 3, 4]
    held = [o for f in folds for o in f.test_observations]
    assert sorted(held) == sorted(set(obs)) and len(held) == 129  # each exactly once
    tests = np.concatenate([f.test for f in folds])
    assert sorted(tests.tolist()) == list(range(len(records)))
    for f in folds:
        assert set(f.train_observations).isdisjoint(f.test_observations)
        assert len(f.train) + len(f.test) == len(records)
        # an augmented copy is always on its original's side (same landmark, same fold)
        test_lmk = {records[i].landmark for i in f.test}
        assert test_lmk.isdisjoint({records[i].landmark for i in f.train})
    # stratified: "other" originals (107 observations) are spread evenly, 154–155 per fold
    other = [
        sum(1 for i in f.test if records[i].label == 0 and records[i].augmentation is None)
        for f in folds
    ]
    assert sum(other) == 771 and max(other) - min(other) <= 2
    # every class seen in ≥ 5 observations has landmarks in every fold
    for c in range(8):
        n_obs = len({r.observation for r in records if r.label == c})
        if n_obs >= 5:
            assert all(any(records[i].label == c for i in f.test) for f in folds), c
    again = grouped_folds(obs, labels, 5, landmarks=[r.landmark for r in records], seed=0)
    assert [f.test_observations for f in again] == [f.test_observations for f in folds]
    other_seed = grouped_folds(obs, labels, 5, landmarks=[r.landmark for r in records], seed=1)
    assert [f.test_observations for f in other_seed] != [f.test_observations for f in folds]


def test_fold_count_is_checked() -> None:
    with pytest.raises(ValidationError, match="k=1 must be an integer of at least 2"):
        grouped_folds(["A", "B"], [0, 1], 1)
    with pytest.raises(ValidationError, match="k=3 folds need at least 3 observations"):
        grouped_folds(["A", "B", "B"], [0, 1, 1], 3)


@pytest.fixture(scope="module")
def tiny_cv(subset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    out = tmp_path_factory.mktemp("cv")
    return cross_validate(TINY, 2, subset_dir, out_dir=out), out


def test_cross_validation_scores_held_out_originals(subset_dir: Path, tiny_cv: Any) -> None:
    cv, out = tiny_cv
    records = read_labels(subset_dir)
    originals = [r for r in records if r.augmentation is None]
    assert len(cv.folds) == 2
    scored = [name for f in cv.folds for name in f.filenames]
    assert sorted(scored) == sorted(r.filename for r in originals)  # originals, each once
    by_name = {r.filename: r for r in records}
    for f in cv.folds:
        assert {by_name[n].observation for n in f.filenames} <= set(f.test_observations)
        assert f.logits.shape == f.logits_tta.shape == (len(f.filenames), 8)
        # the fold's model never saw its held-out observations
        meta = json.loads((out / f"fold-{f.index}" / "model" / "model.json").read_text())
        seen = set(meta["training"]["observations"])
        assert seen.isdisjoint(f.test_observations)
        assert set(meta["training"]["split"]["val_observations"]) <= seen
    # the summary against a recomputation from the recorded logits
    for variant in ("raw", "calibrated"):
        s = cv.summary(variant)
        y = np.concatenate([f.labels for f in cv.folds])
        accs, flrs = [], []
        preds = []
        for f in cv.folds:
            z = f.logits
            if variant == "calibrated":
                c = f.calibration
                z = z / c.temperature + c.strength * np.asarray(c.adjustment)
            p = z.argmax(1)
            preds.append(p)
            accs.append(float(np.mean(p == f.labels)))
            flrs.append(float(np.mean(p[f.labels == 0] != 0)))
        pooled = np.concatenate(preds)
        assert s["mean_sd"]["accuracy"]["mean"] == pytest.approx(np.mean(accs))
        assert s["mean_sd"]["accuracy"]["sd"] == pytest.approx(np.std(accs, ddof=1))
        assert s["mean_sd"]["false_landmark_rate"]["mean"] == pytest.approx(np.mean(flrs))
        assert s["pooled"]["accuracy"] == pytest.approx(np.mean(pooled == y))
        assert s["pooled"]["majority_baseline"] == pytest.approx(np.mean(y == 0))
        assert s["pooled"]["n"] == len(originals)
        cm = np.zeros((8, 8), dtype=int)
        for t, p in zip(y, pooled, strict=True):
            cm[t, p] += 1
        assert s["confusion_matrix"] == cm.tolist()
        assert sum(s["reliability"]["count"]) == len(originals)
    # cv.json holds everything needed to recompute the summaries
    again = CrossValidation.from_dict(json.loads((out / "cv.json").read_text()))
    for variant in VARIANTS:
        assert again.summary(variant)["pooled"] == pytest.approx(cv.summary(variant)["pooled"])
    # resuming with the same settings re-trains nothing and gives the same result
    resumed = cross_validate(TINY, 2, subset_dir, out_dir=out, resume=True)
    assert resumed.summary("calibrated")["pooled"] == pytest.approx(
        cv.summary("calibrated")["pooled"]
    )
    with pytest.raises(ValidationError, match="other settings"):
        cross_validate(TINY, 3, subset_dir, out_dir=out, resume=True)


def test_cli_evaluate_cv(subset_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["ml", "evaluate", "--cv", "2", "--data", str(subset_dir), "--epochs", "1"]
    res = runner.invoke(main, [*args, "--out", str(tmp_path / "cv"), "--json"])
    assert res.exit_code == 0, (res.stdout, res.stderr)
    doc = json.loads(res.stdout)
    assert doc["k"] == 2 and doc["folds_done"] == 2
    assert set(doc["summaries"]) == set(VARIANTS)
    cal = doc["summaries"]["calibrated"]
    # the CLI prints the library's summary of the run it recorded (values, not just keys)
    recorded = CrossValidation.from_dict(json.loads((tmp_path / "cv" / "cv.json").read_text()))
    assert cal["pooled"] == pytest.approx(recorded.summary("calibrated")["pooled"])
    for name, stat in recorded.summary("calibrated")["mean_sd"].items():
        assert cal["mean_sd"][name] == pytest.approx(stat, nan_ok=True), name
    assert cal["gates"]["accuracy"]["threshold"] == pytest.approx(
        cal["pooled"]["majority_baseline"] + 0.03
    )
    assert "logits" not in doc["folds"][0]
    text = runner.invoke(
        main, [*args, "--out", str(tmp_path / "cv"), "--resume"]
    )  # resumed: no training
    assert text.exit_code == 0, text.stderr
    assert "grouped 2-fold cross-validation" in text.stdout and "calibrated+tta" in text.stdout
    for bad, message in (
        (["--cv", "1"], "k=1 must be an integer of at least 2"),
        (["--cv", "500"], "k=500 folds need at least 500 observations"),
        (["--epochs", "3"], "--epochs applies to --cv only"),
        (["--cv", "2", "--resume"], "--resume needs --out"),
    ):
        res = runner.invoke(main, ["ml", "evaluate", "--data", str(subset_dir), *bad])
        assert res.exit_code == 2, (bad, res.stdout, res.stderr)
        assert res.stderr.startswith("error: ") and message in res.stderr
        assert "Traceback" not in res.stderr
