"""Train/validation splits that never separate the crops of one HiRISE observation.

Augmented variants (rotations, flips, brightness) of a landmark and neighbouring crops of one
observation share a source image strip; putting them on both sides of a split would leak the
validation set into training. :func:`split_by_observation` therefore assigns whole
observations, and among many seeded random assignments keeps the one whose per-class share of
validation landmarks is closest to ``val_fraction`` (a grouped, stratified split).
:func:`grouped_folds` does the same for k-fold cross-validation: every observation is held out
exactly once, and the folds' class mixes are kept as even as the observations allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import ValidationError

__all__ = ["Fold", "Split", "grouped_folds", "split_by_observation"]


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
    uniq_obs, obs_idx, counts = _landmark_counts(observations, labels, landmarks)
    if len(uniq_obs) < 2:
        raise ValidationError(
            f"only {len(uniq_obs)} observation(s) given; a split by observation needs two or more"
        )
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
        share = np.divide(
            val_counts, class_total, out=np.zeros(counts.shape[1]), where=class_total > 0
        )
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


@dataclass(frozen=True)
class Fold:
    """One fold of :func:`grouped_folds`: the held-out observations and the rest."""

    index: int
    train: npt.NDArray[np.int64]
    test: npt.NDArray[np.int64]
    train_observations: tuple[str, ...]
    test_observations: tuple[str, ...]


def _landmark_counts(
    observations: Sequence[str],
    labels: Sequence[int] | npt.NDArray[np.integer],
    landmarks: Sequence[str] | None,
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Observation ids, each sample's observation index, distinct landmarks per (obs, class)."""
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
    n_classes = int(lab.max()) + 1 if lab.size else 1
    counts = np.zeros((len(uniq_obs), n_classes), dtype=np.float64)
    seen: set[tuple[int, str, int]] = set()
    for o, m, c in zip(obs_idx, lmk.astype(str), lab, strict=True):
        key = (int(o), str(m), int(c))
        if key not in seen:
            seen.add(key)
            counts[o, c] += 1
    return uniq_obs, obs_idx, counts


def grouped_folds(
    observations: Sequence[str],
    labels: Sequence[int] | npt.NDArray[np.integer],
    k: int = 5,
    *,
    landmarks: Sequence[str] | None = None,
    seed: int = 0,
    n_trials: int = 200,
) -> list[Fold]:
    """Split samples into ``k`` folds of whole HiRISE observations for cross-validation.

    Every observation is in exactly one fold's ``test``; a sample's augmented copies and the
    other crops of its observation are always on the same side.

    Parameters
    ----------
    observations, labels, landmarks
        As for :func:`split_by_observation` (classes are balanced on distinct landmarks).
    k
        Number of folds, 2 … number of observations.
    seed
        Seed of the search; the same inputs and seed give the same folds.
    n_trials
        Number of random observation orders tried.

    Returns
    -------
    list[Fold]
        ``k`` folds, in order; ``test`` and ``train`` are sorted sample indices.

    Notes
    -----
    A trial visits the observations in decreasing order of their rarity (their landmarks, each
    weighted by 1 / the number of observations showing its class, so that observations of
    rare classes are spread first; ties broken at random, and from the second trial on 30 %
    of the positions shuffled) and puts each into the fold whose distance to an even
    ``1 / k`` share of every class it increases least (ties: the fold with the fewest
    landmarks; every fold gets at least one observation). The score of a trial is the squared
    deviation of every class's fold shares from ``1 / k`` plus that of the fold sizes;
    the best of ``n_trials`` trials wins.
    """
    if not isinstance(k, int) or k < 2:
        raise ValidationError(f"k={k!r} must be an integer of at least 2, e.g. 5")
    uniq_obs, obs_idx, counts = _landmark_counts(observations, labels, landmarks)
    n_obs = len(uniq_obs)
    if k > n_obs:
        raise ValidationError(
            f"k={k} folds need at least {k} observations, but only {n_obs} are given; "
            f"use k <= {n_obs}"
        )
    class_total = counts.sum(axis=0)
    total = counts.sum()
    present = class_total > 0
    # rarity of an observation: its landmarks of classes seen in few observations
    n_obs_with = np.maximum((counts > 0).sum(axis=0), 1)
    rarity = (counts * (1.0 / n_obs_with)).sum(axis=1)
    rng = np.random.default_rng(seed)
    best_score = np.inf
    best: npt.NDArray[np.int64] = np.zeros(n_obs, dtype=np.int64)
    for trial in range(max(1, n_trials)):
        jitter = rng.random(n_obs)
        order = np.lexsort((jitter, -rarity))  # rarest first, random among equals
        if trial > 0:  # later trials also shuffle the visiting order partly
            swap = rng.random(n_obs) < 0.3
            idx = np.flatnonzero(swap)
            order[idx] = order[rng.permutation(idx)]
        fold_counts = np.zeros((k, counts.shape[1]))
        assign = np.zeros(n_obs, dtype=np.int64)
        for n_assigned, o in enumerate(order):
            target = class_total / k
            cand = fold_counts + counts[o]  # (k, C): every fold with o added
            scale = np.maximum(class_total, 1)
            after = (((cand - target) / scale) ** 2)[:, present].sum(axis=1)
            before = (((fold_counts - target) / scale) ** 2)[:, present].sum(axis=1)
            dev = after - before  # how much o moves that fold away from an even share
            empty_left = int((fold_counts.sum(axis=1) == 0).sum())
            if empty_left >= n_obs - n_assigned:  # keep every fold non-empty
                dev = np.where(fold_counts.sum(axis=1) == 0, dev, np.inf)
            size = fold_counts.sum(axis=1)
            f = int(np.lexsort((size, dev))[0])
            fold_counts[f] += counts[o]
            assign[o] = f
        share = fold_counts[:, present] / class_total[present]
        size_share = fold_counts.sum(axis=1) / max(total, 1.0)
        score = float(((share - 1.0 / k) ** 2).sum() + ((size_share - 1.0 / k) ** 2).sum())
        if score < best_score:
            best_score, best = score, assign
    folds = []
    for f in range(k):
        in_test = best[obs_idx] == f
        folds.append(
            Fold(
                index=f,
                train=np.flatnonzero(~in_test).astype(np.int64),
                test=np.flatnonzero(in_test).astype(np.int64),
                train_observations=tuple(str(o) for o in uniq_obs[best != f]),
                test_observations=tuple(str(o) for o in uniq_obs[best == f]),
            )
        )
    return folds
