"""Evaluate a classifier: on one held-out split, or by grouped k-fold cross-validation.

:func:`evaluate` scores one trained model (the quick single split). :func:`cross_validate`
trains one model per fold of whole observations (:func:`marsgis.ml.splits.grouped_folds`) and
scores each on its held-out fold's *original* crops only, so the class mix is the one of real
observations (~84 % "other"), not that of the augmented training folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import ValidationError
from marsgis.io.atomic import check_json, write_text
from marsgis.ml.calibration import (
    N_BINS,
    Calibration,
    apply_calibration,
    expected_calibration_error,
    reliability_bins,
)
from marsgis.ml.classifier import Classifier
from marsgis.ml.datasets import CLASS_NAMES, HiRISELandmarks, data_hash, read_labels
from marsgis.ml.metrics import ClassificationMetrics, classification_metrics
from marsgis.ml.splits import grouped_folds
from marsgis.ml.train import TrainConfig, fit

__all__ = [
    "GATES",
    "VARIANTS",
    "CrossValidation",
    "Evaluation",
    "FoldResult",
    "cross_validate",
    "evaluate",
    "recalibrate",
]

log = logging.getLogger(__name__)

_SPLITS = ("auto", "validation", "all")


@dataclass(frozen=True)
class Evaluation:
    """Metrics of a classifier on a set of labelled images.

    Attributes
    ----------
    metrics
        Accuracy, balanced accuracy, per-class precision/recall, confusion matrix.
    split
        ``"validation"`` (the observations the model was validated on) or ``"all"``.
    data, data_hash
        The landmark folder and its content hash (:func:`marsgis.ml.datasets.data_hash`).
    observations
        HiRISE observations evaluated.
    model, model_version
        The classifier evaluated.
    """

    metrics: ClassificationMetrics
    split: str
    data: str
    data_hash: str
    observations: tuple[str, ...]
    model: str
    model_version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: what was evaluated and :meth:`ClassificationMetrics.to_dict`."""
        return {
            "model": self.model,
            "model_version": self.model_version,
            "data": self.data,
            "data_hash": self.data_hash,
            "split": self.split,
            "n_observations": len(self.observations),
            **self.metrics.to_dict(),
        }


def evaluate(
    model: Classifier | str = "terrain-classifier",
    data: str | Path | None = None,
    *,
    split: str = "auto",
    batch_size: int = 256,
    calibrated: bool = True,
    tta: bool = False,
) -> Evaluation:
    """Classify every image of a landmark folder (or its validation split) and score it.

    Parameters
    ----------
    model
        A :class:`~marsgis.ml.Classifier`, or a name/path for :func:`marsgis.ml.load`.
    data
        Folder with ``images/`` and ``labels.txt`` (default: the shipped HiRISE subset).
    split
        ``"validation"``: only the observations recorded as the model's validation split
        (``metadata["training"]["split"]["val_observations"]``); ``"all"``: every image;
        ``"auto"``: validation when ``data`` is the model's training data (same content
        hash), else all.
    batch_size
        Images per forward pass.
    calibrated, tta
        As for :meth:`marsgis.ml.Classifier.probabilities` (default: the model's calibrated
        decisions; ``calibrated=False`` gives the raw network's, as recorded in training).

    Returns
    -------
    Evaluation
        Metrics and what they were computed on.
    """
    from marsgis.ml.registry import load

    if split not in _SPLITS:
        raise ValidationError(f"split={split!r}; expected one of {_SPLITS}")
    clf = model if isinstance(model, Classifier) else load(model)
    records = read_labels(data)
    digest = data_hash(data)
    training = clf.metadata.get("training", {})
    chosen = split
    if split == "auto":
        chosen = "validation" if digest == training.get("data_hash") else "all"
    if chosen == "validation":
        val_obs = set(training.get("split", {}).get("val_observations", []))
        if not val_obs:
            raise ValidationError(
                f"model {clf.name!r} records no validation observations; use split='all'"
            )
        indices = [i for i, r in enumerate(records) if r.observation in val_obs]
        if not indices:
            raise ValidationError(
                f"no image of {str(data)!r} comes from the model's {len(val_obs)} validation "
                "observations; use split='all' to evaluate on every image"
            )
    else:
        indices = list(range(len(records)))
    ds = HiRISELandmarks(data, size=clf.input_size, indices=indices, cache=False)
    images = ds.load_all()
    probs = clf.probabilities(images, batch_size=batch_size, calibrated=calibrated, tta=tta).numpy()
    names = clf.classes
    if int(ds.labels.max()) >= len(names):
        raise ValidationError(
            f"labels of {str(ds.root)!r} go up to {int(ds.labels.max())} but model "
            f"{clf.name!r} knows {len(names)} classes {list(names)!r}"
        )
    metrics = classification_metrics(ds.labels, np.argmax(probs, axis=1), names)
    return Evaluation(
        metrics=metrics,
        split=chosen,
        data=str(ds.root),
        data_hash=digest,
        observations=tuple(sorted(set(ds.observations))),
        model=clf.name,
        model_version=clf.version,
    )


# --------------------------------------------------------------------------- cross-validation

#: The decision rules compared by :func:`cross_validate`, from the same trained networks:
#: name → (test-time augmentation, full prior correction ``z + b``, fitted calibration
#: ``z / T + τ b``).
VARIANTS: dict[str, tuple[bool, bool, bool]] = {
    "raw": (False, False, False),
    "prior": (False, True, False),
    "calibrated": (False, True, True),
    "raw+tta": (True, False, False),
    "prior+tta": (True, True, False),
    "calibrated+tta": (True, True, True),
}

#: Acceptance gates of issue #16 on the pooled held-out originals.
GATES = {
    "accuracy_margin": 0.03,  # accuracy ≥ majority baseline + 3 points
    "balanced_accuracy": 0.60,
    "recall": 0.60,  # every landmark class with originals in ≥ GATE_MIN_OBSERVATIONS observations
    "false_landmark_rate": 0.10,
    "ece": 0.05,
}
GATE_MIN_OBSERVATIONS = 3
OTHER = "other"


@dataclass(frozen=True)
class FoldResult:
    """One fold of a cross-validation: the network's raw logits on the held-out originals.

    Attributes
    ----------
    index, test_observations
        The fold and its held-out HiRISE observations.
    filenames, observations, labels
        The held-out original crops (no augmented copies), their observation and class id.
    logits, logits_tta
        Raw network logits ``(N, K)``: one forward pass, and the mean over the eight symmetries.
    calibration
        The fold model's calibration (fitted inside its training folds only).
    best_epoch, epochs_run, seconds
        How the fold's model was trained.
    """

    index: int
    test_observations: tuple[str, ...]
    filenames: tuple[str, ...]
    observations: tuple[str, ...]
    labels: npt.NDArray[np.int64]
    logits: npt.NDArray[np.float64]
    logits_tta: npt.NDArray[np.float64]
    calibration: Calibration
    best_epoch: int
    epochs_run: int
    seconds: float

    def probabilities(self, variant: str) -> npt.NDArray[np.float64]:
        """Class probabilities of the held-out originals under a :data:`VARIANTS` rule."""
        if variant not in VARIANTS:
            raise ValidationError(f"variant={variant!r}; expected one of {list(VARIANTS)}")
        tta, prior, fitted = VARIANTS[variant]
        z = self.logits_tta if tta else self.logits
        if fitted:  # z / T + τ b, T and τ fitted on the fold model's validation originals
            return apply_calibration(z, self.calibration, tta=tta)
        if prior:  # the full Bayes correction z + b
            z = z + np.asarray(self.calibration.adjustment)
        return apply_calibration(z, None, tta=tta)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (logits included, so every summary can be recomputed)."""
        return {
            "index": self.index,
            "test_observations": list(self.test_observations),
            "filenames": list(self.filenames),
            "observations": list(self.observations),
            "labels": self.labels.tolist(),
            "logits": np.round(self.logits, 6).tolist(),
            "logits_tta": np.round(self.logits_tta, 6).tolist(),
            "calibration": self.calibration.to_dict(),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "seconds": round(self.seconds, 1),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FoldResult:
        """Rebuild from :meth:`to_dict` output."""
        k = len(data["calibration"]["adjustment"])
        return cls(
            index=int(data["index"]),
            test_observations=tuple(data["test_observations"]),
            filenames=tuple(data["filenames"]),
            observations=tuple(data["observations"]),
            labels=np.asarray(data["labels"], dtype=np.int64),
            logits=np.asarray(data["logits"], dtype=np.float64).reshape(-1, k),
            logits_tta=np.asarray(data["logits_tta"], dtype=np.float64).reshape(-1, k),
            calibration=Calibration.from_dict(data["calibration"]),
            best_epoch=int(data["best_epoch"]),
            epochs_run=int(data["epochs_run"]),
            seconds=float(data["seconds"]),
        )


@dataclass(frozen=True)
class CrossValidation:
    """A grouped k-fold cross-validation over HiRISE observations (:func:`cross_validate`)."""

    config: TrainConfig
    k: int
    seed: int
    data: str
    data_hash: str
    class_names: tuple[str, ...]
    folds: tuple[FoldResult, ...]

    def metrics(self, variant: str, fold: int | None = None) -> ClassificationMetrics:
        """Confusion-matrix metrics of one fold, or pooled over all (``fold=None``)."""
        folds = self.folds if fold is None else (self.folds[fold],)
        y = np.concatenate([f.labels for f in folds])
        p = np.concatenate([f.probabilities(variant).argmax(axis=1) for f in folds])
        return classification_metrics(y, p, self.class_names)

    def summary(self, variant: str = "calibrated", n_bins: int = N_BINS) -> dict[str, Any]:
        """Mean ± sd over folds, pooled metrics, reliability bins and the gates of issue #16.

        ``false_landmark_rate`` is the share of true "other" originals predicted as a
        landmark; ``majority_baseline`` the accuracy of always answering the most frequent
        class; ``ece`` the top-label expected calibration error (``n_bins`` equal bins).
        """
        other = self.class_names.index(OTHER)
        per_fold = []
        for f in self.folds:
            m = self.metrics(variant, f.index)
            probs = f.probabilities(variant)
            per_fold.append(
                {
                    "n": m.n,
                    "accuracy": m.accuracy,
                    "balanced_accuracy": m.balanced_accuracy,
                    "macro_f1": m.macro_f1,
                    "false_landmark_rate": _false_landmark_rate(m, other),
                    "majority_baseline": m.majority_baseline(),
                    "ece": expected_calibration_error(probs, f.labels, n_bins),
                    "recall": m.recall.tolist(),
                    "precision": m.precision.tolist(),
                }
            )
        pooled = self.metrics(variant)
        y = np.concatenate([f.labels for f in self.folds])
        probs = np.concatenate([f.probabilities(variant) for f in self.folds])
        scalars = (
            "accuracy",
            "balanced_accuracy",
            "macro_f1",
            "false_landmark_rate",
            "majority_baseline",
            "ece",
        )
        mean_sd = {name: _mean_sd([r[name] for r in per_fold]) for name in scalars}
        per_class = {}
        for c, name in enumerate(self.class_names):
            per_class[name] = {
                "support": int(pooled.support[c]),
                "observations": len(
                    {
                        o
                        for f in self.folds
                        for o, lab in zip(f.observations, f.labels, strict=True)
                        if lab == c
                    }
                ),
                "recall": _mean_sd([r["recall"][c] for r in per_fold]),
                "precision": _mean_sd([r["precision"][c] for r in per_fold]),
                "pooled_recall": _finite(pooled.recall[c]),
                "pooled_precision": _finite(pooled.precision[c]),
            }
        pooled_values = {
            "n": pooled.n,
            "accuracy": pooled.accuracy,
            "balanced_accuracy": pooled.balanced_accuracy,
            "macro_f1": pooled.macro_f1,
            "false_landmark_rate": _false_landmark_rate(pooled, other),
            "majority_baseline": pooled.majority_baseline(),
            "ece": expected_calibration_error(probs, y, n_bins),
        }
        return {
            "variant": variant,
            "k": self.k,
            "mean_sd": mean_sd,
            "pooled": pooled_values,
            "per_class": per_class,
            "confusion_matrix": pooled.confusion.tolist(),
            "reliability": reliability_bins(probs, y, n_bins),
            "gates": _gates(pooled_values, per_class),
        }

    def to_dict(self, *, logits: bool = True) -> dict[str, Any]:
        """JSON-ready dict: settings, every variant's summary and (``logits``) the folds."""
        out: dict[str, Any] = {
            "method": "grouped k-fold cross-validation over HiRISE observations "
            "(marsgis.ml.evaluation.cross_validate), held-out originals only",
            "k": self.k,
            "seed": self.seed,
            "data": self.data,
            "data_hash": self.data_hash,
            "classes": list(self.class_names),
            "config": self.config.to_dict(),
            "folds_done": len(self.folds),
            "summaries": {v: self.summary(v) for v in VARIANTS} if self.folds else {},
        }
        fold_dicts = [f.to_dict() for f in self.folds]
        if not logits:
            for d in fold_dicts:
                for key in ("filenames", "observations", "labels", "logits", "logits_tta"):
                    d.pop(key)
        out["folds"] = fold_dicts
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrossValidation:
        """Rebuild from :meth:`to_dict` output (written with ``logits=True``)."""
        return cls(
            config=TrainConfig.from_dict(data["config"]),
            k=int(data["k"]),
            seed=int(data["seed"]),
            data=str(data["data"]),
            data_hash=str(data["data_hash"]),
            class_names=tuple(data["classes"]),
            folds=tuple(FoldResult.from_dict(f) for f in data["folds"]),
        )


def _jsonable(obj: Any) -> Any:
    """NaN and infinities as None, recursively (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _false_landmark_rate(m: ClassificationMetrics, other: int) -> float:
    """Share of the true ``other`` samples predicted as any other class."""
    sup = int(m.support[other])
    return float((sup - m.confusion[other, other]) / sup) if sup else float("nan")


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _mean_sd(values: list[float]) -> dict[str, float | int | None]:
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    return {
        "mean": float(arr.mean()) if arr.size else None,
        "sd": float(arr.std(ddof=1)) if arr.size > 1 else None,
        "folds": int(arr.size),
    }


def _gates(pooled: dict[str, Any], per_class: dict[str, dict[str, Any]]) -> dict[str, Any]:
    g = GATES
    gates: dict[str, Any] = {
        "accuracy": {
            "value": pooled["accuracy"],
            "threshold": pooled["majority_baseline"] + g["accuracy_margin"],
        },
        "balanced_accuracy": {
            "value": pooled["balanced_accuracy"],
            "threshold": g["balanced_accuracy"],
        },
        "false_landmark_rate": {
            "value": pooled["false_landmark_rate"],
            "threshold": g["false_landmark_rate"],
            "at_most": True,
        },
        "ece": {"value": pooled["ece"], "threshold": g["ece"], "at_most": True},
    }
    for name, row in per_class.items():
        if name != OTHER and row["observations"] >= GATE_MIN_OBSERVATIONS:
            gates[f"recall {name}"] = {"value": row["pooled_recall"], "threshold": g["recall"]}
    for gate in gates.values():
        v, t = gate["value"], gate["threshold"]
        ok = v is not None and np.isfinite(v)
        gate["passed"] = bool(ok and (v <= t if gate.get("at_most") else v >= t))
    return gates


def cross_validate(
    config: TrainConfig | None = None,
    k: int = 5,
    data: str | Path | None = None,
    *,
    seed: int = 0,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
) -> CrossValidation:
    """Grouped k-fold cross-validation: one model per fold, scored on held-out originals.

    The observations are split into ``k`` folds (:func:`marsgis.ml.splits.grouped_folds`,
    stratified by class, seeded); for every fold a model is trained with :func:`fit` on the
    other folds' observations only (its own validation split, early stopping and calibration
    come from those), then its raw logits — plain and averaged over the eight symmetries —
    are recorded on the held-out fold's *original* crops (augmented copies are not
    evaluated: the class mix is the natural one). :meth:`CrossValidation.summary` scores any
    decision rule of :data:`VARIANTS` from them.

    Parameters
    ----------
    config
        Training settings (default: the shipped run's :class:`TrainConfig`).
    k
        Number of folds.
    data
        Landmark folder (default: the shipped subset).
    seed
        Seed of the fold assignment (the training seed is ``config.seed``).
    out_dir
        Keep each fold's run under ``out_dir/fold-<i>`` and write ``out_dir/cv.json`` after
        every fold; None keeps nothing on disk.
    resume
        Reuse the folds already recorded in ``out_dir/cv.json`` (same config, k, seed, data).
    progress
        Show the training progress bars.
    """
    cfg = config or TrainConfig()
    records = read_labels(data)
    root = HiRISELandmarks(data, size=cfg.size, indices=[], cache=False).root
    digest = data_hash(root)
    folds = grouped_folds(
        [r.observation for r in records],
        [r.label for r in records],
        k,
        landmarks=[r.landmark for r in records],
        seed=seed,
    )
    out = None if out_dir is None else Path(out_dir)
    done: list[FoldResult] = []
    if out is not None and resume and (out / "cv.json").is_file():
        old = CrossValidation.from_dict(json.loads((out / "cv.json").read_text()))
        if (old.config, old.k, old.seed, old.data_hash) != (cfg, k, seed, digest):
            raise ValidationError(
                f"cannot resume from {str(out / 'cv.json')!r}: it was run with other settings "
                "(config, k, seed or data); use another out_dir or resume=False"
            )
        done = list(old.folds)
    for fold in folds[len(done) :]:
        log.info(
            "fold %d/%d: %d held-out observations", fold.index + 1, k, len(fold.test_observations)
        )
        result = fit(
            root,
            None if out is None else out / f"fold-{fold.index}",
            cfg,
            observations=fold.train_observations,
            progress=progress,
        )
        clf = result.classifier()
        test = [int(i) for i in fold.test if records[int(i)].augmentation is None]
        images = HiRISELandmarks(root, size=cfg.size, indices=test, cache=False).load_all()
        assert result.calibration is not None  # fit always calibrates
        done.append(
            FoldResult(
                index=fold.index,
                test_observations=fold.test_observations,
                filenames=tuple(records[i].filename for i in test),
                observations=tuple(records[i].observation for i in test),
                labels=np.asarray([records[i].label for i in test], dtype=np.int64),
                logits=clf.raw_logits(images, batch_size=256).numpy().astype(np.float64),
                logits_tta=clf.raw_logits(images, batch_size=256, tta=True)
                .numpy()
                .astype(np.float64),
                calibration=result.calibration,
                best_epoch=result.best_epoch,
                epochs_run=len(result.history),
                seconds=result.seconds,
            )
        )
        cv = CrossValidation(cfg, k, seed, str(root), digest, CLASS_NAMES, tuple(done))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            write_text(out / "cv.json", json.dumps(_jsonable(cv.to_dict())), check=check_json)
    return CrossValidation(cfg, k, seed, str(root), digest, CLASS_NAMES, tuple(done))


def recalibrate(cv: CrossValidation, run_dir: str | Path) -> CrossValidation:
    """Refit every fold model's calibration with the current method, from its saved artefact.

    ``run_dir`` is the ``out_dir`` of :func:`cross_validate` (``fold-<i>/model`` inside); each
    fold's calibration is refitted by :func:`marsgis.ml.train.calibrate` on that model's own
    validation originals, so the held-out logits need not be recomputed.
    """
    from marsgis.ml.registry import load
    from marsgis.ml.train import calibrate

    folds = []
    for f in cv.folds:
        clf = calibrate(load(Path(run_dir) / f"fold-{f.index}" / "model", device="cpu"), cv.data)
        assert clf.calibration is not None  # calibrate always sets it
        folds.append(replace(f, calibration=clf.calibration))
    return replace(cv, folds=tuple(folds))
