"""Classification metrics from a confusion matrix (numpy only, no torch needed).

Conventions follow scikit-learn: rows of the confusion matrix are true classes, columns
predicted classes; balanced accuracy is the mean recall over classes present in ``y_true``;
precision of a class never predicted (or recall of a class absent) is NaN, not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import ValidationError

__all__ = ["ClassificationMetrics", "classification_metrics", "format_confusion"]


@dataclass(frozen=True)
class ClassificationMetrics:
    """Metrics of a labelled prediction run, all derived from :attr:`confusion`."""

    class_names: tuple[str, ...]
    confusion: npt.NDArray[np.int64]

    @property
    def support(self) -> npt.NDArray[np.int64]:
        """Number of true samples of each class."""
        return self.confusion.sum(axis=1)

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        """Share of samples predicted correctly."""
        return float(np.trace(self.confusion) / self.n) if self.n else float("nan")

    @property
    def recall(self) -> npt.NDArray[np.float64]:
        """Per-class recall (NaN for classes with no true samples)."""
        tp = np.diag(self.confusion).astype(np.float64)
        sup = self.support.astype(np.float64)
        return np.divide(tp, sup, out=np.full_like(tp, np.nan), where=sup > 0)

    @property
    def precision(self) -> npt.NDArray[np.float64]:
        """Per-class precision (NaN for classes never predicted)."""
        tp = np.diag(self.confusion).astype(np.float64)
        predicted = self.confusion.sum(axis=0).astype(np.float64)
        return np.divide(tp, predicted, out=np.full_like(tp, np.nan), where=predicted > 0)

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes present in the true labels."""
        rec = self.recall
        present = self.support > 0
        return float(rec[present].mean()) if present.any() else float("nan")

    @property
    def f1(self) -> npt.NDArray[np.float64]:
        """Per-class F1 (NaN for classes with no true samples; 0 when never predicted right)."""
        tp = np.diag(self.confusion).astype(np.float64)
        denom = self.support.astype(np.float64) + self.confusion.sum(axis=0)
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        return np.where(self.support > 0, f1, np.nan)

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the classes present in the true labels."""
        f1 = self.f1
        present = self.support > 0
        return float(f1[present].mean()) if present.any() else float("nan")

    def majority_baseline(self, majority: int | None = None) -> float:
        """Accuracy of always predicting ``majority`` (default: the most frequent true class)."""
        if not self.n:
            return float("nan")
        cls = int(np.argmax(self.support)) if majority is None else majority
        return float(self.support[cls] / self.n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: accuracy, balanced accuracy, per-class table, confusion matrix."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "majority_baseline_accuracy": self.majority_baseline(),
            "per_class": {
                name: {
                    "precision": _nan_to_none(p),
                    "recall": _nan_to_none(r),
                    "support": int(s),
                }
                for name, p, r, s in zip(
                    self.class_names, self.precision, self.recall, self.support, strict=True
                )
            },
            "classes": list(self.class_names),
            "confusion_matrix": self.confusion.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassificationMetrics:
        """Rebuild from :meth:`to_dict` output."""
        return cls(tuple(data["classes"]), np.asarray(data["confusion_matrix"], dtype=np.int64))


def classification_metrics(
    y_true: Sequence[int] | npt.NDArray[np.integer],
    y_pred: Sequence[int] | npt.NDArray[np.integer],
    class_names: Sequence[str],
) -> ClassificationMetrics:
    """Confusion matrix and the metrics derived from it.

    Parameters
    ----------
    y_true, y_pred
        True and predicted class ids (0 … len(class_names) - 1).
    class_names
        Name of every class id.
    """
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    k = len(class_names)
    if t.shape != p.shape:
        raise ValidationError(f"y_true has {t.size} labels but y_pred has {p.size}")
    for what, arr in (("y_true", t), ("y_pred", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise ValidationError(
                f"{what} holds class ids outside 0..{k - 1} (min {arr.min()}, max {arr.max()}); "
                "pass one name per class id"
            )
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)
    return ClassificationMetrics(tuple(class_names), confusion)


def format_confusion(metrics: ClassificationMetrics) -> str:
    """The confusion matrix and per-class precision/recall as a Markdown table."""
    names = metrics.class_names
    head = "| true \\ predicted | " + " | ".join(names) + " | n | recall | precision |"
    sep = "|" + "---|" * (len(names) + 4)
    rows = [head, sep]
    for i, name in enumerate(names):
        cells = " | ".join(str(int(v)) for v in metrics.confusion[i])
        rows.append(
            f"| {name} | {cells} | {int(metrics.support[i])} | "
            f"{_pct(metrics.recall[i])} | {_pct(metrics.precision[i])} |"
        )
    return "\n".join(rows)


def _pct(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{100 * value:.0f} %"


def _nan_to_none(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)
