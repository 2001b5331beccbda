"""Decisions at the natural class mix: prior (logit) correction, temperature scaling, ECE.

The network is trained on a class mix that is not the one it meets: the training folder holds
every augmented copy of the landmark crops but only original "other" crops, and the loss is
weighted per class (:func:`marsgis.ml.train.class_weights`). A network trained with loss weight
``w_c`` on class frequencies ``n_c`` estimates posteriors under the *effective prior*
``π_eff(c) ∝ n_c · w_c``. Bayes' rule moves them to the *natural prior* ``π_nat`` (the class
mix of the original crops, ~84 % "other") by adding ``log π_nat(c) − log π_eff(c)`` to the
logits (logit adjustment). Crops of observations the network has not seen are harder than
its training crops, so the network's posteriors are neither as sharp nor as prior-dependent
as that formula assumes: a temperature ``T`` and a strength ``τ`` of the correction are
fitted together, by minimising the negative log-likelihood on the training run's own
validation originals (observations held out of its training, never the evaluation data)::

    p = softmax(z / T + τ b),    b_c = log π_nat(c) − log π_eff(c)

(``τ = 1``: the full Bayes correction; ``τ = 0``: none.) The NLL is jointly convex in
``(1 / T, τ)``, so nested bounded scalar minimisations (scipy's Brent method) find the
minimum.

:class:`Calibration` holds ``b``, ``T`` and ``τ`` (one pair for plain forward passes, one for
test-time augmentation over the eight symmetries of the square); it is stored in a model's
metadata under ``"calibration"`` and applied by :meth:`marsgis.ml.Classifier.probabilities`.

>>> import numpy as np
>>> b = logit_adjustment([600, 300], [1.0, 2.0], [900, 100])  # π_eff 1:1, π_nat 9:1
>>> np.round(np.exp(b[0] - b[1]), 2)        # "other" gains odds of ~9 (half-count smoothing)
np.float64(8.97)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import ValidationError

__all__ = [
    "Calibration",
    "apply_calibration",
    "effective_prior",
    "expected_calibration_error",
    "fit_calibration",
    "fit_temperature",
    "fit_temperature_and_strength",
    "logit_adjustment",
    "natural_prior",
    "nll",
    "reliability_bins",
]

#: Pseudo-count added to every class count before taking a logarithm (a class with no
#: original crops must not get an infinite correction).
SMOOTHING = 0.5
#: Range searched for the temperature.
T_BOUNDS = (0.05, 20.0)
#: Range searched for the strength of the prior correction.
STRENGTH_BOUNDS = (0.0, 1.5)
#: Default number of equal-width confidence bins of the ECE and the reliability diagram.
N_BINS = 15

FloatArray = npt.NDArray[np.float64]


def _counts(values: Sequence[float] | npt.NDArray[Any], what: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise ValidationError(f"{what}={values!r} must be non-negative finite numbers, one a class")
    return arr


def natural_prior(counts: Sequence[float] | npt.NDArray[Any]) -> FloatArray:
    """Class prior from the counts of original crops, with :data:`SMOOTHING` added to each."""
    c = _counts(counts, "counts") + SMOOTHING
    return c / c.sum()


def effective_prior(
    train_counts: Sequence[float] | npt.NDArray[Any],
    weights: Sequence[float] | npt.NDArray[Any],
) -> FloatArray:
    """The prior a class-weighted loss trains into the network: ``(n_c + ½) · w_c``, normalised.

    Classes with weight 0 (absent from training) get the smallest positive weight.
    """
    n = _counts(train_counts, "train_counts")
    w = _counts(weights, "weights")
    if n.shape != w.shape:
        raise ValidationError(f"{n.size} class counts but {w.size} class weights")
    positive = w[w > 0]
    w = np.where(w > 0, w, positive.min() if positive.size else 1.0)
    e = (n + SMOOTHING) * w
    return e / e.sum()


def logit_adjustment(
    train_counts: Sequence[float] | npt.NDArray[Any],
    weights: Sequence[float] | npt.NDArray[Any],
    natural_counts: Sequence[float] | npt.NDArray[Any],
) -> FloatArray:
    """``b = log π_nat − log π_eff``, centred to mean 0 (softmax ignores a common offset).

    A class without training files was never learnt: it gets the smallest adjustment of the
    others rather than a boost from its tiny smoothed effective prior.
    """
    n = _counts(train_counts, "train_counts")
    nat = natural_prior(natural_counts)
    if nat.shape != n.shape:
        raise ValidationError(f"{nat.size} natural counts for {n.size} classes")
    b = np.log(nat) - np.log(effective_prior(n, weights))
    if (n > 0).any():
        b = np.where(n > 0, b, b[n > 0].min())
    out: FloatArray = b - b.mean()
    return out


def nll(
    logits: npt.NDArray[Any],
    labels: Sequence[int] | npt.NDArray[np.integer],
    temperature: float = 1.0,
    adjustment: npt.NDArray[Any] | None = None,
) -> float:
    """Mean negative log-likelihood of ``softmax(logits / temperature + adjustment)``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    if adjustment is not None:
        z = z + np.asarray(adjustment, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    from scipy import special

    return float(-special.log_softmax(z, axis=1)[np.arange(len(y)), y].mean())


def fit_temperature(
    logits: npt.NDArray[Any],
    labels: Sequence[int] | npt.NDArray[np.integer],
    adjustment: npt.NDArray[Any] | None = None,
    *,
    bounds: tuple[float, float] = T_BOUNDS,
    tol: float = 1e-6,
) -> float:
    """The temperature minimising :func:`nll` (bounded scalar minimisation on ``log T``).

    The NLL of temperature scaling is unimodal in ``T`` for a fixed adjustment, so the
    search converges to the global minimum within ``bounds``.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or len(z) != len(y) or len(y) == 0:
        raise ValidationError(
            f"logits of shape {z.shape!r} and {len(y)} labels: need (N, K) logits, N ≥ 1 labels"
        )
    log_t, _ = _minimise(
        lambda v: nll(z, y, math.exp(v), adjustment),
        math.log(bounds[0]),
        math.log(bounds[1]),
        tol,
    )
    return math.exp(log_t)


def _minimise(f: Callable[[float], float], lo: float, hi: float, tol: float) -> tuple[float, float]:
    """Minimiser and minimum of a unimodal ``f`` on ``[lo, hi]`` (scipy's bounded Brent)."""
    from scipy import optimize

    result = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": tol})
    return float(result.x), float(result.fun)


def fit_temperature_and_strength(
    logits: npt.NDArray[Any],
    labels: Sequence[int] | npt.NDArray[np.integer],
    adjustment: npt.NDArray[Any],
    *,
    t_bounds: tuple[float, float] = T_BOUNDS,
    strength_bounds: tuple[float, float] = STRENGTH_BOUNDS,
    tol: float = 1e-5,
) -> tuple[float, float]:
    """``(T, τ)`` minimising the NLL of ``softmax(z / T + τ b)`` (nested scalar minimisations).

    The NLL is convex in ``(1 / T, τ)`` (a log-sum-exp of functions linear in them), so
    minimising over ``1 / T`` for each ``τ`` leaves a convex function of ``τ``.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    b = np.asarray(adjustment, dtype=np.float64)
    if z.ndim != 2 or len(z) != len(y) or len(y) == 0:
        raise ValidationError(
            f"logits of shape {z.shape!r} and {len(y)} labels: need (N, K) logits, N ≥ 1 labels"
        )
    inv_lo, inv_hi = 1.0 / t_bounds[1], 1.0 / t_bounds[0]

    def best_inverse_t(tau: float) -> tuple[float, float]:
        return _minimise(lambda a: nll(z * a, y, 1.0, tau * b), inv_lo, inv_hi, tol)

    tau, _ = _minimise(lambda t: best_inverse_t(t)[1], *strength_bounds, tol)
    inv_t, _ = best_inverse_t(tau)
    return 1.0 / inv_t, tau


@dataclass(frozen=True)
class Calibration:
    """Prior correction and temperatures of a trained network (``metadata["calibration"]``).

    Attributes
    ----------
    adjustment
        Logit adjustment ``b`` (one value a class), added (times the strength) after dividing
        by the temperature.
    temperature, temperature_tta
        Temperature of plain forward passes and of test-time augmentation (mean logits over
        the eight symmetries of the square).
    strength, strength_tta
        Strength ``τ`` of the prior correction (1: the full Bayes correction).
    effective_prior, natural_prior
        The priors ``b`` moves between.
    n_fit, n_fit_observations
        Validation originals (and their observations) the temperatures were fitted on.
    """

    adjustment: tuple[float, ...]
    temperature: float = 1.0
    temperature_tta: float = 1.0
    strength: float = 1.0
    strength_tta: float = 1.0
    effective_prior: tuple[float, ...] = ()
    natural_prior: tuple[float, ...] = ()
    n_fit: int = 0
    n_fit_observations: int = 0

    def __post_init__(self) -> None:
        for name in ("temperature", "temperature_tta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValidationError(f"calibration {name}={value!r} must be a positive number")
        for name in ("strength", "strength_tta"):
            if not math.isfinite(getattr(self, name)):
                raise ValidationError(f"calibration {name}={getattr(self, name)!r} must be finite")
        if not all(math.isfinite(v) for v in self.adjustment):
            raise ValidationError(f"calibration adjustment {self.adjustment!r} must be finite")

    def apply(self, logits: npt.NDArray[Any], *, tta: bool = False) -> FloatArray:
        """Calibrated logits ``z / T + τ b`` (the TTA ``T`` and ``τ`` when ``tta``)."""
        z = np.asarray(logits, dtype=np.float64)
        if z.shape[-1] != len(self.adjustment):
            raise ValidationError(
                f"logits have {z.shape[-1]} classes but the calibration {len(self.adjustment)}"
            )
        t = self.temperature_tta if tta else self.temperature
        tau = self.strength_tta if tta else self.strength
        out: FloatArray = z / t + tau * np.asarray(self.adjustment)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what :meth:`from_dict` reads)."""
        return {
            "method": "softmax(z / T + strength * b): logit adjustment b to the natural prior, "
            "T and strength fitted by NLL",
            "adjustment": list(self.adjustment),
            "temperature": self.temperature,
            "temperature_tta": self.temperature_tta,
            "strength": self.strength,
            "strength_tta": self.strength_tta,
            "effective_prior": list(self.effective_prior),
            "natural_prior": list(self.natural_prior),
            "n_fit": self.n_fit,
            "n_fit_observations": self.n_fit_observations,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Rebuild from :meth:`to_dict` output."""
        try:
            return cls(
                adjustment=tuple(float(v) for v in data["adjustment"]),
                temperature=float(data.get("temperature", 1.0)),
                temperature_tta=float(data.get("temperature_tta", 1.0)),
                strength=float(data.get("strength", 1.0)),
                strength_tta=float(data.get("strength_tta", 1.0)),
                effective_prior=tuple(float(v) for v in data.get("effective_prior", ())),
                natural_prior=tuple(float(v) for v in data.get("natural_prior", ())),
                n_fit=int(data.get("n_fit", 0)),
                n_fit_observations=int(data.get("n_fit_observations", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"model calibration {dict(data)!r} is malformed ({exc}); re-create it with "
                "marsgis.ml.calibration.fit_calibration"
            ) from exc


def fit_calibration(
    *,
    train_counts: Sequence[float] | npt.NDArray[Any],
    weights: Sequence[float] | npt.NDArray[Any],
    natural_counts: Sequence[float] | npt.NDArray[Any],
    val_logits: npt.NDArray[Any],
    val_logits_tta: npt.NDArray[Any],
    val_labels: Sequence[int] | npt.NDArray[np.integer],
    n_observations: int,
) -> Calibration:
    """The :class:`Calibration` of a training run.

    Parameters
    ----------
    train_counts, weights
        Training files per class (augmented copies included) and the loss weights.
    natural_counts
        Original crops per class of the run's data (its natural class mix).
    val_logits, val_logits_tta, val_labels
        Raw logits (plain and TTA) and labels of the run's validation *originals* — never
        data the model is later evaluated on.
    n_observations
        Number of observations those validation originals come from (recorded).
    """
    b = logit_adjustment(train_counts, weights, natural_counts)
    y = np.asarray(val_labels, dtype=np.int64)
    t, tau = fit_temperature_and_strength(val_logits, y, b) if len(y) else (1.0, 1.0)
    t_tta, tau_tta = fit_temperature_and_strength(val_logits_tta, y, b) if len(y) else (1.0, 1.0)
    return Calibration(
        adjustment=tuple(float(v) for v in b),
        temperature=t,
        temperature_tta=t_tta,
        strength=tau,
        strength_tta=tau_tta,
        effective_prior=tuple(float(v) for v in effective_prior(train_counts, weights)),
        natural_prior=tuple(float(v) for v in natural_prior(natural_counts)),
        n_fit=len(y),
        n_fit_observations=n_observations,
    )


def apply_calibration(
    logits: npt.NDArray[Any], calibration: Mapping[str, Any] | Calibration | None, *, tta: bool
) -> FloatArray:
    """Calibrated probabilities of raw logits (plain softmax when ``calibration`` is None)."""
    if calibration is None:
        return _softmax(logits)
    cal = (
        calibration if isinstance(calibration, Calibration) else Calibration.from_dict(calibration)
    )
    return _softmax(cal.apply(logits, tta=tta))


def _softmax(logits: npt.NDArray[Any]) -> FloatArray:
    from scipy import special

    out: FloatArray = special.softmax(np.asarray(logits, dtype=np.float64), axis=1)
    return out


def reliability_bins(
    probabilities: npt.NDArray[Any],
    labels: Sequence[int] | npt.NDArray[np.integer],
    n_bins: int = N_BINS,
) -> dict[str, Any]:
    """Top-label reliability: per equal-width confidence bin, count, mean confidence, accuracy.

    Returns
    -------
    dict
        ``edges`` (n_bins + 1), ``count``, ``confidence`` and ``accuracy`` (NaN for empty
        bins), each a list of ``n_bins`` values.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or len(p) != len(y):
        raise ValidationError(f"probabilities of shape {p.shape!r} for {len(y)} labels")
    if n_bins < 1:
        raise ValidationError(f"n_bins={n_bins!r} must be a positive integer, e.g. 15")
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin i holds (edges[i], edges[i + 1]]; confidence 0 cannot occur for a top label
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return {
        "edges": edges.tolist(),
        "count": count.tolist(),
        "confidence": mean_conf.tolist(),
        "accuracy": acc.tolist(),
    }


def expected_calibration_error(
    probabilities: npt.NDArray[Any],
    labels: Sequence[int] | npt.NDArray[np.integer],
    n_bins: int = N_BINS,
) -> float:
    """Top-label ECE: ``Σ_bins (n_b / N) · |accuracy_b − confidence_b|`` (equal-width bins)."""
    bins = reliability_bins(probabilities, labels, n_bins)
    count = np.asarray(bins["count"], dtype=np.float64)
    n = count.sum()
    if n == 0:
        return float("nan")
    gap = np.abs(np.asarray(bins["accuracy"]) - np.asarray(bins["confidence"]))
    return float(np.nansum(count * gap) / n)
