"""The shipped terrain classifier, re-evaluated on its observation-held-out validation split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import marsgis.ml
from marsgis.ml.datasets import read_labels

#: Classes with fewer validation images than this are reported but not gated (issue #4).
MIN_GATED = 5
#: Recall every landmark class other than "other" must reach.
MIN_RECALL = 0.60
#: "A clear margin" over always answering the majority class, in accuracy.
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


def test_reevaluated_metrics_match_the_record_and_pass_the_gates(shipped: Any) -> None:
    ev = marsgis.ml.evaluate(shipped)  # the shipped data is its training data: validation split
    assert ev.split == "validation"
    m = ev.metrics
    recorded = shipped.validation_metrics
    assert m.n == recorded.n == sum(shipped.metadata["training"]["split"]["val_counts"])
    # same predictions up to floating-point ties on another CPU: at most one image differs
    assert np.abs(m.confusion - recorded.confusion).sum() <= 2
    baseline = m.majority_baseline()
    assert m.accuracy >= baseline + MARGIN, (m.accuracy, baseline)
    assert m.balanced_accuracy >= 0.5
    for k, name in enumerate(m.class_names):
        if name == "other" or m.support[k] < MIN_GATED:
            continue
        assert m.recall[k] >= MIN_RECALL, (name, m.recall[k], m.support[k])


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
