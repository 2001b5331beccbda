"""Prior correction and calibration on a real held-out fold of the shipped model's observations.

The shipped model's validation observations are split in two halves by name order: the
calibration is fitted on the originals of half A only, and decisions are scored on the
originals of half B (observations neither the network nor the calibration has seen).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import optimize

import marsgis.ml
from marsgis.exceptions import ValidationError
from marsgis.ml.calibration import (
    Calibration,
    expected_calibration_error,
    fit_temperature,
    fit_temperature_and_strength,
    logit_adjustment,
    nll,
    reliability_bins,
)
from marsgis.ml.datasets import HiRISELandmarks, read_labels
from marsgis.ml.train import calibrate


def _originals(observations: set[str]) -> tuple[Any, np.ndarray]:
    records = read_labels()
    idx = [
        i for i, r in enumerate(records) if r.observation in observations and r.augmentation is None
    ]
    images = HiRISELandmarks(size=64, indices=idx, cache=False).load_all()
    return images, np.array([records[i].label for i in idx])


@pytest.fixture(scope="module")
def halves(shipped: Any) -> dict[str, Any]:
    val = shipped.metadata["training"]["split"]["val_observations"]
    a, b = val[0::2], val[1::2]
    stripped = marsgis.ml.Classifier(
        shipped.model,
        {k: v for k, v in shipped.metadata.items() if k != "calibration"},
        device="cpu",
    )
    fitted = calibrate(stripped, fit_observations=a)
    xa, ya = _originals(set(a))
    xb, yb = _originals(set(b))
    return {
        "clf": fitted,
        "za": stripped.raw_logits(xa).numpy().astype(np.float64),
        "ya": ya,
        "xb": xb,
        "yb": yb,
    }


def _ece_loop(p: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE, one sample at a time (the textbook definition)."""
    total = 0.0
    for lo in range(n_bins):
        left, right = lo / n_bins, (lo + 1) / n_bins
        members = [
            i
            for i in range(len(y))
            if (left < p[i].max() <= right) or (lo == 0 and p[i].max() == 0)
        ]
        if members:
            conf = np.mean([p[i].max() for i in members])
            acc = np.mean([p[i].argmax() == y[i] for i in members])
            total += len(members) / len(y) * abs(acc - conf)
    return total


def test_adjustment_is_the_log_ratio_of_natural_to_effective_prior(shipped: Any) -> None:
    training = shipped.metadata["training"]
    n = np.array(training["split"]["train_counts"], dtype=float)
    w = np.array(training["class_weights"])
    records = read_labels()  # the model was trained on every observation of the subset
    nat = np.bincount([r.label for r in records if r.augmentation is None], minlength=8)
    assert nat.tolist() == [771, 56, 7, 28, 20, 2, 20, 9]
    b = logit_adjustment(n, w, nat)
    eff = (n + 0.5) * w / ((n + 0.5) * w).sum()
    ref = np.log((nat + 0.5) / (nat.sum() + 4.0)) - np.log(eff)
    np.testing.assert_allclose(b, ref - ref.mean(), atol=1e-12)
    # "other": 84 % of the originals but 27 % of the weighted training mix → +1.15 nats
    assert (nat[0] + 0.5) / (nat.sum() + 4) == pytest.approx(0.8413, abs=1e-4)
    assert eff[0] == pytest.approx(0.2666, abs=1e-4)
    assert b[0] - b.mean() == pytest.approx(np.log(0.8413 / 0.2666) - ref.mean(), abs=1e-3)
    assert shipped.calibration.adjustment == pytest.approx(tuple(b), abs=1e-9)


def test_temperature_and_strength_are_the_nll_minimisers(halves: dict[str, Any]) -> None:
    z, y = halves["za"], halves["ya"]
    cal = halves["clf"].calibration
    b = np.asarray(cal.adjustment)
    # temperature alone (full correction): scipy's bounded scalar minimiser
    t = fit_temperature(z, y, b)
    ref = optimize.minimize_scalar(
        lambda log_t: nll(z, y, np.exp(log_t), b),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-8},
    )
    assert t == pytest.approx(np.exp(ref.x), abs=1e-3)
    # temperature and strength together: scipy's Nelder-Mead from (T, τ) = (1, 1)
    t2, tau = fit_temperature_and_strength(z, y, b)
    ref2 = optimize.minimize(
        lambda v: nll(z, y, v[0], v[1] * b),
        x0=[1.0, 1.0],
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000},
    )
    assert (t2, tau) == pytest.approx(tuple(ref2.x), abs=1e-3)
    assert (cal.temperature, cal.strength) == pytest.approx((t2, tau), abs=1e-6)
    assert nll(z, y, t2, tau * b) <= nll(z, y, 1.0, b)  # beats the plain Bayes correction
    # the network is overconfident on unseen observations: T > 1, and the correction is
    # kept at most at full strength
    assert t2 > 1.3 and 0.5 < tau <= 1.0


def test_correction_lowers_false_landmarks_and_ece_on_the_held_out_half(
    halves: dict[str, Any],
) -> None:
    clf, xb, yb = halves["clf"], halves["xb"], halves["yb"]
    assert len(yb) == 89 and int((yb == 0).sum()) == 67  # 67 "other" originals, 22 landmarks
    raw = clf.probabilities(xb, calibrated=False).numpy().astype(np.float64)
    cal = clf.probabilities(xb).numpy().astype(np.float64)
    other = yb == 0
    flr_raw = float((raw[other].argmax(1) != 0).mean())
    flr_cal = float((cal[other].argmax(1) != 0).mean())
    # the raw network calls a third of the plain terrain a landmark; corrected: at most 1 of 67
    assert flr_raw == pytest.approx(22 / 67, abs=1.5 / 67)
    assert flr_cal <= 1 / 67
    acc_raw = float((raw.argmax(1) == yb).mean())
    acc_cal = float((cal.argmax(1) == yb).mean())
    assert acc_raw == pytest.approx(59 / 89, abs=1.5 / 89)
    assert acc_cal > acc_raw + 0.08
    assert acc_cal >= 67 / 89  # at least the constant "other" answer
    ece_raw, ece_cal = _ece_loop(raw, yb), _ece_loop(cal, yb)
    assert expected_calibration_error(raw, yb) == pytest.approx(ece_raw, abs=1e-12)
    assert expected_calibration_error(cal, yb) == pytest.approx(ece_cal, abs=1e-12)
    assert ece_raw == pytest.approx(0.20, abs=0.02)
    assert ece_cal < ece_raw - 0.08
    # the price at this prior: landmark recall collapses (the gates of issue #16 in docs/ml.md)
    landmarks = ~other
    assert float((cal[landmarks].argmax(1) == yb[landmarks]).mean()) < 0.2


def test_reliability_bins_against_a_loop() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(500, 4)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 4, 500)
    bins = reliability_bins(p, y, n_bins=10)
    conf, pred = p.max(1), p.argmax(1)
    for i in range(10):
        inside = (conf > i / 10) & (conf <= (i + 1) / 10)
        assert bins["count"][i] == int(inside.sum())
        if inside.any():
            assert bins["confidence"][i] == pytest.approx(conf[inside].mean())
            assert bins["accuracy"][i] == pytest.approx((pred[inside] == y[inside]).mean())
    assert expected_calibration_error(p, y, 10) == pytest.approx(_ece_loop(p, y, 10))
    with pytest.raises(ValidationError, match="n_bins"):
        reliability_bins(p, y, n_bins=0)


def test_an_artefact_without_calibration_loads_unchanged(shipped: Any, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    shutil.copytree(Path(shipped.metadata["path"]), folder)
    meta = json.loads((folder / "model.json").read_text())
    del meta["calibration"]
    (folder / "model.json").write_text(json.dumps(meta))
    old = marsgis.ml.load(folder, device="cpu")
    assert old.calibration is None
    x, _ = _originals({"ESP_011289_1950_RED"})
    z = old.raw_logits(x).numpy()
    ref = np.exp(z - z.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    np.testing.assert_allclose(old.probabilities(x).numpy(), ref, atol=1e-6)
    np.testing.assert_allclose(shipped.probabilities(x, calibrated=False).numpy(), ref, atol=1e-6)
    # the shipped model's calibrated probabilities are softmax(z / T + τ b)
    cal = shipped.calibration
    zc = z / cal.temperature + cal.strength * np.asarray(cal.adjustment)
    refc = np.exp(zc - zc.max(1, keepdims=True))
    refc /= refc.sum(1, keepdims=True)
    np.testing.assert_allclose(shipped.probabilities(x).numpy(), refc, atol=1e-6)
    with pytest.raises(ValidationError, match="temperature"):
        Calibration(adjustment=(0.0,) * 8, temperature=0.0)
