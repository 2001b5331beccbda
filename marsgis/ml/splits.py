"""Train/validation splits that never separate the crops of one HiRISE observation.

Augmented variants (rotations, flips, brightness) of a landmark and neighbouring crops of one
observation share a source image strip; putting them on both sides of a split would leak the
validation set into training. :func:`split_by_observation` therefore assigns whole
observations, and among many seeded random assignments keeps the one whose per-class share of
validation landmarks is closest to ``val_fraction`` (a grouped, stratified split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import ValidationError

__all__ = ["Split", "split_by_observation"]


@dataclass(frozen=True)
class Split:
    """Indices of a train/validation split and the observations on each side."""

    train: npt.NDArray[np.int64]
    val: npt.NDArray[np.int64]
    train_observations: tuple[str, ...]
    val_observations: tuple[str, ...]
    seed: int
    val_fraction: float


def split_by_observation(
    observations: Sequence[str],
    labels: Sequence[int] | npt.NDArray[np.integer],
    *,
    landmarks: Sequence[str] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    n_trials: int = 4000,
) -> Split:
    """Split samples into train and validation by HiRISE observation.

    Parameters
    ----------
    observations
        Observation id of each sample (``HiRISELandmarks.observations``).
    labels
        Class id of each sample.
    landmarks
        Landmark id of each sample (observation + crop); classes are balanced on distinct
        landmarks rather than on files, so augmented copies do not count as new examples.
        Default: every sample is its own landmark.
    val_fraction
        Target share of each class's landmarks in validation, in (0, 1).
    seed
        Seed of the random search; the same inputs and seed give the same split.
    n_trials
        Number of random observation assignments tried.

    Returns
    -------
    Split
        ``train`` and ``val`` sample indices (sorted) and the observations of each side.

    Notes
    -----
    Each trial draws a random observation order and moves observations into validation until
    about ``val_fraction`` of the landmarks are there. Its score is the squared deviation of
    every class's validation share from ``val_fraction``, plus a penalty of 1 for each class
    seen in at least two observations that ends up entirely on one side. The best trial wins.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValidationError(f"val_fraction={val_fraction!r} must lie in (0, 1), e.g. 0.2")
    obs = np.asarray(observations, dtype=object)
    lab = np.asarray(labels, dtype=np.int64)
    if obs.shape != lab.shape or obs.ndim != 1:
        raise ValidationError(
            f"observations ({len(obs)}) and labels ({len(lab)}) must be 1-D and of equal length"
        )
    lmk = obs if landmarks is None else np.asarray(landmarks, dtype=object)
    if lmk.shape != obs.shape:
        raise ValidationError(f"landmarks ({len(lmk)}) must match observations ({len(obs)})")
    uniq_obs, obs_idx = np.unique(obs.astype(str), return_inverse=True)
    if len(uniq_obs) < 2:
        raise ValidationError(
            f"only {len(uniq_obs)} observation(s) given; a split by observation needs two or more"
        )
    n_classes = int(lab.max()) + 1
    # distinct landmarks per (observation, class)
    counts = np.zeros((len(uniq_obs), n_classes), dtype=np.float64)
    seen: set[tuple[int, str, int]] = set()
    for o, m, c in zip(obs_idx, lmk.astype(str), lab, strict=True):
        key = (int(o), str(m), int(c))
        if key not in seen:
            seen.add(key)
            counts[o, c] += 1
    class_total = counts.sum(axis=0)
    n_obs_with_class = (counts > 0).sum(axis=0)
    total = counts.sum()

    rng = np.random.default_rng(seed)
    best_score = np.inf
    best_val = np.zeros(len(uniq_obs), dtype=bool)
    for _ in range(n_trials):
        order = rng.permutation(len(uniq_obs))
        cum = np.cumsum(counts[order].sum(axis=1))
        n_val = int(np.searchsorted(cum, val_fraction * total)) + 1
        in_val = np.zeros(len(uniq_obs), dtype=bool)
        in_val[order[: min(n_val, len(uniq_obs) - 1)]] = True
        val_counts = counts[in_val].sum(axis=0)
        share = np.divide(val_counts, class_total, out=np.zeros(n_classes), where=class_total > 0)
        score = float(((share - val_fraction) ** 2)[class_total > 0].sum())
        splittable = n_obs_with_class >= 2
        one_sided = splittable & ((val_counts == 0) | (val_counts == class_total))
        score += float(one_sided.sum())
        if score < best_score:
            best_score, best_val = score, in_val
    val_mask = best_val[obs_idx]
    return Split(
        train=np.flatnonzero(~val_mask).astype(np.int64),
        val=np.flatnonzero(val_mask).astype(np.int64),
        train_observations=tuple(str(o) for o in uniq_obs[~best_val]),
        val_observations=tuple(str(o) for o in uniq_obs[best_val]),
        seed=seed,
        val_fraction=val_fraction,
    )
