"""The shipped terrain classifier: its validation split (quick) and its recorded grouped CV.

The gates of issue #16 (accuracy at the natural class mix, balanced accuracy, landmark recall,
false-landmark rate, ECE) are checked on the recorded 5-fold cross-validation of the shipped
training recipe; failing gates are strict xfails documented in docs/ml.md.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import marsgis.ml
from marsgis.ml import TrainConfig
from marsgis.ml.datasets import parse_filename, read_labels
from marsgis.ml.evaluation import CrossValidation
from marsgis.ml.registry import SHIPPED_DIR
from marsgis.ml.splits import grouped_folds

#: "A clear margin" over always answering the majority class, in accuracy (the quick split).
MARGIN = 0.15


def test_split_is_the_recorded_one(shipped: Any) -> None:
    meta = shipped.metadata["training"]
    records = read_labels()
    split = marsgis.ml.split_by_observation(
        [r.observation for r in records],
        [r.label for r in records],
        landmarks=[r.landmark for r in records],
        val_fraction=meta["split"]["val_fraction"],
        seed=meta["split"]["seed"],
    )
    assert list(split.val_observations) == meta["split"]["val_observations"]
    assert set(split.train_observations).isdisjoint(split.val_observations)
    counts = np.bincount([records[i].label for i in split.val], minlength=8)
    assert counts.tolist() == meta["split"]["val_counts"]


@pytest.fixture(scope="module")
def evaluation(shipped: Any) -> Any:
    """The shipped network re-evaluated now on its validation split, raw (as recorded)."""
    return marsgis.ml.evaluate(shipped, calibrated=False)


def test_reevaluated_metrics_match_the_record_and_beat_the_baseline(
    shipped: Any, evaluation: Any
) -> None:
    assert evaluation.split == "validation"
    m = evaluation.metrics
    recorded = shipped.validation_metrics
    assert m.n == recorded.n == sum(shipped.metadata["training"]["split"]["val_counts"])
    # same predictions, up to a floating-point tie on another CPU (one image moving cell)
    assert np.abs(m.confusion - recorded.confusion).sum() <= 2
    assert m.accuracy == pytest.approx(recorded.accuracy, abs=1.5 / m.n)
    baseline = m.majority_baseline()
    assert baseline == pytest.approx(151 / 367)  # "other" is 151 of the 367 validation images
    assert m.accuracy >= baseline + MARGIN, (m.accuracy, baseline)
    assert m.balanced_accuracy >= 0.5


# ----------------------------------------------------------------------------- issue #16
# The gates at the natural class mix, on the grouped 5-fold cross-validation of the shipped
# training recipe (TrainConfig()) recorded next to the model (cv.json: the held-out originals'
# logits and each fold model's calibration, written by `marsgis ml evaluate --cv 5 --out`).

CV_RECORD = SHIPPED_DIR / "terrain-classifier" / "1" / "cv.json"


@pytest.fixture(scope="module")
def cv() -> Any:
    return CrossValidation.from_dict(json.loads(CV_RECORD.read_text()))


def test_cv_record_is_the_shipped_recipe_over_every_observation(shipped: Any, cv: Any) -> None:
    training = shipped.metadata["training"]
    assert cv.config == TrainConfig.from_dict(training["config"]) == TrainConfig()
    assert cv.data_hash == training["data_hash"] == marsgis.ml.data_hash()
    assert cv.k == len(cv.folds) == 5
    records = read_labels()
    folds = grouped_folds(
        [r.observation for r in records],
        [r.label for r in records],
        5,
        landmarks=[r.landmark for r in records],
        seed=cv.seed,
    )
    assert [f.test_observations for f in cv.folds] == [f.test_observations for f in folds]
    originals = sorted(r.filename for r in records if r.augmentation is None)
    assert sorted(n for f in cv.folds for n in f.filenames) == originals  # 913, each once
    for f in cv.folds:
        assert not any(parse_filename(n)[2] for n in f.filenames)  # no augmented copy


def test_cv_numbers_recomputed_from_the_logits(cv: Any) -> None:
    """The documented figures (docs/ml.md), recomputed without the summary code."""
    y, pred, conf = [], [], []
    for f in cv.folds:
        c = f.calibration
        z = f.logits / c.temperature + c.strength * np.asarray(c.adjustment)
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        y += f.labels.tolist()
        pred += p.argmax(1).tolist()
        conf += p.max(1).tolist()
    y_a, p_a, c_a = np.array(y), np.array(pred), np.array(conf)
    ece = 0.0
    for b in range(15):
        inside = (c_a > b / 15) & (c_a <= (b + 1) / 15)
        if inside.any():
            ece += inside.mean() * abs((p_a[inside] == y_a[inside]).mean() - c_a[inside].mean())
    s = cv.summary("calibrated")["pooled"]
    assert s["n"] == len(y_a) == 913
    assert s["majority_baseline"] == pytest.approx(771 / 913)
    assert s["accuracy"] == pytest.approx((p_a == y_a).mean())
    assert s["false_landmark_rate"] == pytest.approx((p_a[y_a == 0] != 0).mean())
    assert s["ece"] == pytest.approx(ece)
    assert DOCUMENTED == pytest.approx({k: round(s[k], 3) for k in DOCUMENTED}, abs=1e-9)


#: The pooled figures of the calibrated rule in docs/ml.md (issue #16 table).
DOCUMENTED = {
    "accuracy": 0.848,
    "balanced_accuracy": 0.211,
    "false_landmark_rate": 0.026,
    "ece": 0.023,
}

#: Gates of issue #16 the shipped recipe does not meet (docs/ml.md, "Real use: grouped
#: cross-validation"): strict xfails, so a model that passes shows up as a failure here.
_BELOW_GATE: dict[str, str] = {
    "accuracy": "0.848 at the natural mix against 0.874 (majority baseline 0.844 + 3 points)",
    "balanced_accuracy": "0.211: the prior correction that stops false landmarks (0.026) "
    "sends most landmarks of unseen observations to 'other'",
    "recall crater": "0.29 (16 of 56 originals)",
    "recall dark dune": "0.14 (1 of 7)",
    "recall slope streak": "0.04 (1 of 28)",
    "recall bright dune": "0.25 (5 of 20)",
    "recall swiss cheese": "0.00 (0 of 20)",
}


@pytest.mark.parametrize(
    "gate",
    [
        pytest.param(
            g,
            marks=pytest.mark.xfail(strict=True, reason=_BELOW_GATE[g]) if g in _BELOW_GATE else (),
        )
        for g in (
            "accuracy",
            "balanced_accuracy",
            "false_landmark_rate",
            "ece",
            "recall crater",
            "recall dark dune",
            "recall slope streak",
            "recall bright dune",
            "recall swiss cheese",
        )
    ],
)
def test_gate_at_the_natural_class_mix(gate: str, cv: Any) -> None:
    gates = cv.summary("calibrated")["gates"]
    # the gated landmark classes: originals in at least 3 observations
    assert sorted(g for g in gates if g.startswith("recall")) == [
        "recall bright dune",
        "recall crater",
        "recall dark dune",
        "recall slope streak",
        "recall swiss cheese",
    ]
    assert gates[gate]["passed"], (gate, gates[gate])


def test_predict_on_files_and_arrays_agree(shipped: Any) -> None:
    from PIL import Image

    from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR

    names = [r.filename for r in read_labels()[:5]]
    paths = [HIRISE_LANDMARKS_DIR / "images" / n for n in names]
    by_path = shipped.predict(paths)
    arrays = np.stack([np.asarray(Image.open(p)) for p in paths])
    by_array = shipped.predict(arrays)
    np.testing.assert_array_equal(by_path.probabilities, by_array.probabilities)
    np.testing.assert_allclose(by_path.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert by_path.labels == [shipped.classes[i] for i in by_path.class_ids]
    records = by_path.to_records([str(p) for p in paths])
    assert records[0] == {
        "path": str(paths[0]),
        "class": by_path.labels[0],
        "probability": pytest.approx(float(by_path.confidence[0])),
    }
    with pytest.raises(marsgis.exceptions.ValidationError, match=r"scale them to \[0, 1\]"):
        shipped.predict(arrays.astype(np.float32))
