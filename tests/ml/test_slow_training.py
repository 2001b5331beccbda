"""The full training run of the shipped classifier (`make test-ml`): slow, a few minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import marsgis.ml
from marsgis.ml import TrainConfig, fit

pytestmark = pytest.mark.slow


def test_full_training_reproduces_the_shipped_model(tmp_path: Path, shipped: Any) -> None:
    recorded = shipped.metadata["training"]
    cfg = TrainConfig.from_dict(recorded["config"])
    assert cfg == TrainConfig()  # the defaults are the shipped run's settings
    result = fit(None, tmp_path / "run", cfg, progress=False)
    m = result.metrics
    assert list(result.split.val_observations) == recorded["split"]["val_observations"]
    assert result.data_hash == recorded["data_hash"]
    # the gates of issue #4 on the observation-held-out validation split, except the two
    # classes documented as below it (tests/ml/test_shipped_model.py, docs/ml.md)
    assert m.accuracy >= m.majority_baseline() + 0.15
    for k, name in enumerate(m.class_names):
        if name not in {"other", "swiss cheese", "spider"} and m.support[k] >= 5:
            assert m.recall[k] >= 0.60, (name, m.recall[k])
    # same seed, same data, same CPU: the shipped run again (other CPUs' kernels round
    # differently, and 35 epochs amplify that, hence the tolerances)
    ref = shipped.validation_metrics
    assert m.accuracy == pytest.approx(ref.accuracy, abs=0.05)
    assert m.balanced_accuracy == pytest.approx(ref.balanced_accuracy, abs=0.08)
    # and the run's artefact evaluates to its own recorded (uncalibrated) metrics
    ev = marsgis.ml.evaluate(tmp_path / "run" / "model", calibrated=False)
    assert np.array_equal(ev.metrics.confusion, m.confusion)
