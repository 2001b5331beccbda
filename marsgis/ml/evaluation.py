"""Evaluate a classifier on a labelled landmark folder (the held-out split or all of it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marsgis.exceptions import ValidationError
from marsgis.ml.classifier import Classifier
from marsgis.ml.datasets import HiRISELandmarks, data_hash, read_labels
from marsgis.ml.metrics import ClassificationMetrics, classification_metrics

__all__ = ["Evaluation", "evaluate"]

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
    probs = clf.probabilities(images, batch_size=batch_size).numpy()
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
