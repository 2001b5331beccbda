"""Training loop: fixed seeds, augmentation, class weighting, early stopping, checkpoints.

>>> from marsgis.ml.train import TrainConfig, fit
>>> result = fit(None, "runs/cnn", TrainConfig(epochs=40))     # doctest: +SKIP
>>> result.metrics.balanced_accuracy                             # doctest: +SKIP

Everything random (weight init, shuffling, augmentation) comes from ``config.seed``; the
generator state is saved in every checkpoint so ``fit(..., resume=True)`` continues exactly
where an interrupted run stopped.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from marsgis.exceptions import ValidationError
from marsgis.io.atomic import atomic_path, check_json, write_text
from marsgis.ml._torch import F, nn, torch
from marsgis.ml.calibration import Calibration, fit_calibration
from marsgis.ml.datasets import CLASS_NAMES, HiRISELandmarks, data_hash, read_labels
from marsgis.ml.metrics import ClassificationMetrics, classification_metrics
from marsgis.ml.models import build_model
from marsgis.ml.splits import Split, split_by_observation
from marsgis.ml.transforms import augment_batch, normalize
from marsgis.progress import enabled as progress_enabled

if TYPE_CHECKING:
    from marsgis.ml.classifier import Classifier

__all__ = ["TrainConfig", "TrainResult", "calibrate", "class_weights", "fit", "predict_logits"]

log = logging.getLogger(__name__)

_WEIGHTINGS = ("inverse", "sqrt", "none")
_SAMPLINGS = ("shuffle", "balanced", "sqrt")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved with checkpoints and models).

    The defaults are the settings of the shipped ``terrain-classifier``.

    Attributes
    ----------
    size
        Side the 227 px crops are resized to before entering the network.
    architecture, widths, dropout, standardize
        The network (see :class:`marsgis.ml.models.TerrainCNN`).
    epochs
        Maximum number of epochs.
    batch_size, lr, weight_decay
        AdamW optimiser settings; the learning rate follows a cosine schedule over ``epochs``.
    patience
        Stop after this many epochs without a better selection score.
    select_min_support
        The selection score (which epoch is kept, when to stop) is the balanced accuracy over
        the classes with at least this many validation images, so that a class with one or
        two images cannot swing it by ±1/K.
    seed
        Seed of the split search, weight init, shuffling and augmentation.
    val_fraction
        Target share of each class's landmarks in the observation-held-out validation split.
    class_weighting
        ``"inverse"`` (loss weight n / (K n_c)), ``"sqrt"`` (its square root) or ``"none"``.
    max_class_weight
        Cap on a class weight relative to the smallest one (rare classes with a handful of
        images would otherwise dominate).
    augment
        Random rotations by 90°, flips, brightness and contrast during training.
    brightness, contrast
        Strength of the brightness (gain and offset) and contrast jitter of the augmentation.
    zoom, invert
        Extra augmentation: random rescaling by up to ``1 + zoom`` either way, and brightness
        inversion (photometric negative) with probability ``invert``.
    scale
        ``(low, high)`` range of the random rescaling of the image content (overrides
        ``zoom``; e.g. ``(0.5, 1.25)`` mostly shrinks features, with mirrored borders).
    gamma, noise
        Random gamma in [1 / (1 + gamma), 1 + gamma] and Gaussian noise of standard deviation
        up to ``noise`` (augmentation).
    gradient
        Give the network the Sobel gradient magnitude as a second input channel (part of the
        network, so inference applies it too).
    sampling
        How training batches are drawn: ``"shuffle"`` (every image once per epoch),
        ``"balanced"`` (with replacement, every class equally likely) or ``"sqrt"`` (class
        probability proportional to the square root of its size); an epoch has as many
        images as the training set either way.
    label_smoothing
        Label smoothing of the cross-entropy loss.
    num_threads
        ``torch.set_num_threads`` for the run (None leaves torch's setting).
    """

    size: int = 64
    architecture: str = "terrain-cnn"
    widths: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.2
    standardize: bool = True
    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 12
    select_min_support: int = 5
    seed: int = 0
    val_fraction: float = 0.2
    class_weighting: str = "sqrt"
    max_class_weight: float = 20.0
    augment: bool = True
    brightness: float = 0.2
    contrast: float = 0.2
    zoom: float = 0.0
    invert: float = 0.0
    scale: tuple[float, float] | None = None
    gamma: float = 0.0
    noise: float = 0.0
    gradient: bool = False
    sampling: str = "shuffle"
    label_smoothing: float = 0.0
    num_threads: int | None = 2

    def __post_init__(self) -> None:
        if self.class_weighting not in _WEIGHTINGS:
            raise ValidationError(
                f"class_weighting={self.class_weighting!r}; expected one of {_WEIGHTINGS}"
            )
        for name in ("size", "epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name}={value!r} must be a positive integer")
        if not self.lr > 0:
            raise ValidationError(f"lr={self.lr!r} must be positive, e.g. 3e-3")
        if self.sampling not in _SAMPLINGS:
            raise ValidationError(f"sampling={self.sampling!r}; expected one of {_SAMPLINGS}")
        if self.scale is not None and not (
            len(self.scale) == 2 and 0 < self.scale[0] <= self.scale[1]
        ):
            raise ValidationError(
                f"scale={self.scale!r} must be (low, high) with 0 < low <= high, e.g. (0.5, 1.25)"
            )
        for name in ("zoom", "label_smoothing", "brightness", "contrast", "gamma", "noise"):
            if not getattr(self, name) >= 0:
                raise ValidationError(f"{name}={getattr(self, name)!r} must be ≥ 0")
        if not 0 <= self.invert <= 1:
            raise ValidationError(f"invert={self.invert!r} must be a probability in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the settings."""
        data = asdict(self)
        data["widths"] = list(self.widths)
        if self.scale is not None:
            data["scale"] = list(self.scale)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output (unknown keys are refused)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValidationError(
                f"unknown TrainConfig keys {sorted(unknown)}; known: {sorted(known)}"
            )
        values = dict(data)
        if "widths" in values:
            values["widths"] = tuple(values["widths"])
        if values.get("scale") is not None:
            values["scale"] = tuple(float(v) for v in values["scale"])
        return cls(**values)

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the network constructor."""
        return {
            "num_classes": len(CLASS_NAMES),
            "widths": list(self.widths),
            "dropout": self.dropout,
            "standardize": self.standardize,
            "gradient": self.gradient,
        }


@dataclass
class TrainResult:
    """What :func:`fit` returns: the best model and how it was obtained."""

    model: nn.Module
    config: TrainConfig
    split: Split
    metrics: ClassificationMetrics
    history: list[dict[str, Any]]
    best_epoch: int
    class_weights: list[float]
    normalization: dict[str, float]
    data_hash: str
    data_root: str
    train_counts: list[int]
    val_counts: list[int]
    stopped_early: bool
    seconds: float
    out_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None
    observations: tuple[str, ...] | None = None

    def classifier(self, *, device: str | None = "cpu") -> Classifier:
        """The trained network as a :class:`~marsgis.ml.Classifier` with full metadata."""
        from marsgis.ml.classifier import Classifier
        from marsgis.ml.registry import build_metadata

        return Classifier(self.model, build_metadata(self), device=device)


def class_weights(
    labels: npt.NDArray[np.integer],
    n_classes: int,
    *,
    weighting: str = "inverse",
    cap: float = 20.0,
) -> npt.NDArray[np.float64]:
    """Loss weight of every class from its training frequency.

    ``"inverse"`` gives ``n / (K n_c)`` (a balanced loss, as scikit-learn's
    ``class_weight="balanced"``), ``"sqrt"`` its square root, ``"none"`` ones. Weights are capped
    at ``cap`` times the smallest weight; classes absent from ``labels`` get weight 0.
    """
    if weighting not in _WEIGHTINGS:
        raise ValidationError(f"weighting={weighting!r}; expected one of {_WEIGHTINGS}")
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(np.float64)
    present = counts > 0
    w = np.zeros(n_classes)
    if weighting == "none":
        w[present] = 1.0
        return w
    w[present] = counts.sum() / (present.sum() * counts[present])
    if weighting == "sqrt":
        w[present] = np.sqrt(w[present])
    w[present] = np.minimum(w[present], cap * w[present].min())
    return w


def predict_logits(
    model: nn.Module,
    images: torch.Tensor,
    *,
    mean: float,
    std: float,
    batch_size: int = 256,
) -> torch.Tensor:
    """Logits of a ``(N, 1, S, S)`` batch in [0, 1], computed in eval mode without gradients."""
    device = next(model.parameters()).device
    model.eval()
    outs = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            x = normalize(images[start : start + batch_size].to(device), mean, std)
            outs.append(model(x).float().cpu())
    if not outs:
        return torch.zeros((0, len(CLASS_NAMES)))
    return torch.cat(outs)


def fit(
    data: str | Path | None = None,
    out_dir: str | Path | None = None,
    config: TrainConfig | None = None,
    *,
    model: nn.Module | None = None,
    resume: bool = False,
    progress: bool | None = None,
    stop_after: int | None = None,
    observations: Sequence[str] | None = None,
) -> TrainResult:
    """Train a landmark classifier with an observation-held-out validation split.

    Parameters
    ----------
    data
        Landmark folder (``images/`` + ``labels.txt``); None: the shipped subset.
    out_dir
        Where ``last.pt`` (every epoch), ``best.pt``, ``history.jsonl`` and ``config.json``
        go; None keeps nothing on disk (and cannot resume).
    config
        Training settings (default :class:`TrainConfig`).
    model
        Start from this network instead of a freshly initialised one (fine-tuning, tests).
    resume
        Continue from ``out_dir/last.pt`` when it exists (the config must be the same apart
        from ``epochs`` and ``patience``).
    progress
        Show a progress bar (default: the ``progress`` option).
    stop_after
        Return after this many epochs of this call even if training is not finished (a
        time-boxed run: call again with ``resume=True`` to continue; the result is the same
        as one uninterrupted run).
    observations
        Train only on the crops of these HiRISE observations (the training folds of a
        cross-validation, :func:`marsgis.ml.evaluation.cross_validate`); the validation
        split is drawn from them. None: every crop of ``data``.

    Returns
    -------
    TrainResult
        The model at its best validation epoch, its validation metrics and the history.

    Notes
    -----
    Every epoch logs (``logging`` at INFO, ``history.jsonl`` and the progress bar) the training
    loss, the validation loss, accuracy, balanced accuracy and per-class recall. At the end
    the best network's calibration is fitted (:mod:`marsgis.ml.calibration`): the logit
    adjustment from the effective training prior (files incl. augmented copies × loss
    weights) to the natural prior (the original crops of the run's data), and the temperature
    minimising the NLL on the validation originals; it is stored in the model metadata.
    """
    cfg = config or TrainConfig()
    t0 = time.perf_counter()
    previous_threads = torch.get_num_threads()
    if cfg.num_threads is not None:
        torch.set_num_threads(cfg.num_threads)
    try:
        return _fit(
            data,
            out_dir,
            cfg,
            model=model,
            resume=resume,
            progress=progress,
            stop_after=stop_after,
            t0=t0,
            observations=observations,
        )
    finally:
        torch.set_num_threads(previous_threads)


def _fit(
    data: str | Path | None,
    out_dir: str | Path | None,
    cfg: TrainConfig,
    *,
    model: nn.Module | None,
    resume: bool,
    progress: bool | None,
    stop_after: int | None,
    t0: float,
    observations: Sequence[str] | None = None,
) -> TrainResult:
    """The training run: data, network, optional resume, the epoch loop, the best model."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    td = _load_training_data(data, cfg, observations)
    run = _Run.start(cfg, model, generator)
    state = _RunState(best_state=copy.deepcopy(run.net.state_dict()))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _open_out_dir(out, cfg, run, state, resume=resume)

    show = progress_enabled() if progress is None else progress
    start_epoch = state.start_epoch
    epochs = range(start_epoch, cfg.epochs + 1) if not state.stopped else range(0)
    bar = _progress(epochs, show, cfg.epochs, start_epoch - 1)
    for epoch in bar:
        record = _run_epoch(epoch, run, td, cfg, state)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(
                loss=f"{record['train_loss']:.3f}",
                val_bacc=f"{record['val_balanced_accuracy']:.3f}",
            )
        state.stopped = state.bad_epochs >= cfg.patience
        if out is not None:
            _save_checkpoint(
                out,
                _checkpoint(cfg, epoch, run, state),
                state.best_state if record["best"] else None,
                state.history,
            )
        if state.stopped:
            log.info("early stop at epoch %d (best epoch %d)", epoch, state.best_epoch)
            break
        if stop_after is not None and epoch - start_epoch + 1 >= stop_after:
            log.info("stopping after %d epoch(s) of this call (resume to continue)", stop_after)
            break
    if hasattr(bar, "close"):
        bar.close()
    return _best_result(run.net, td, cfg, state, out=out, t0=t0)


@dataclass(frozen=True)
class _TrainingData:
    """The landmark images split by observation, with their normalisation and class weights."""

    dataset: HiRISELandmarks
    split: Split
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    mean: float
    std: float
    weights: npt.NDArray[np.float64]
    weight_t: torch.Tensor


def _load_training_data(
    data: str | Path | None, cfg: TrainConfig, observations: Sequence[str] | None = None
) -> _TrainingData:
    """Load the images (of ``observations``), split them, derive normalisation and weights.

    The normalisation (mean, std) and the class weights come from the training split only.
    """
    indices = None
    if observations is not None:
        wanted = set(observations)
        records = read_labels(data)
        indices = [i for i, r in enumerate(records) if r.observation in wanted]
        if len({records[i].observation for i in indices}) < 2:
            raise ValidationError(
                f"{len(wanted)} observation(s) given, {len(indices)} crops of "
                f"{str(data or 'the shipped subset')!r} come from them: training needs crops "
                "from two or more observations"
            )
    ds = HiRISELandmarks(data, size=cfg.size, indices=indices)
    images = ds.load_all()
    labels = torch.from_numpy(ds.labels)
    split = split_by_observation(
        ds.observations,
        ds.labels,
        landmarks=[r.landmark for r in ds.records],
        val_fraction=cfg.val_fraction,
        seed=cfg.seed,
    )
    train_idx = torch.from_numpy(split.train)
    val_idx = torch.from_numpy(split.val)
    x_train, y_train = images[train_idx], labels[train_idx]
    weights = class_weights(
        y_train.numpy(), len(CLASS_NAMES), weighting=cfg.class_weighting, cap=cfg.max_class_weight
    )
    return _TrainingData(
        dataset=ds,
        split=split,
        x_train=x_train,
        y_train=y_train,
        x_val=images[val_idx],
        y_val=labels[val_idx],
        mean=float(x_train.mean()),
        std=float(x_train.std()),
        weights=weights,
        weight_t=torch.tensor(weights, dtype=torch.float32),
    )


@dataclass(frozen=True)
class _Run:
    """The network and everything that steps it: optimiser, schedule, random generator."""

    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator

    @classmethod
    def start(cls, cfg: TrainConfig, model: nn.Module | None, generator: torch.Generator) -> _Run:
        """``model`` (or a fresh network of ``cfg``) with AdamW and a cosine schedule."""
        net = model if model is not None else build_model(cfg.architecture, **cfg.model_kwargs())
        optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
        return cls(net, optimizer, scheduler, generator)


@dataclass
class _RunState:
    """Where a run stands between epochs (saved in every checkpoint, restored on resume)."""

    best_state: dict[str, torch.Tensor]
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    start_epoch: int = 1
    stopped: bool = False


def _open_out_dir(
    out: Path, cfg: TrainConfig, run: _Run, state: _RunState, *, resume: bool
) -> None:
    """Create ``out``, restore ``last.pt`` into ``run``/``state`` if resuming, write the config."""
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    if resume and last.exists():
        ckpt = torch.load(last, weights_only=True)
        _check_resumable(TrainConfig.from_dict(ckpt["config"]), cfg, last)
        run.net.load_state_dict(ckpt["model"])
        run.optimizer.load_state_dict(ckpt["optimizer"])
        run.scheduler.load_state_dict(ckpt["scheduler"])
        run.generator.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])  # dropout masks
        state.history = ckpt["history"]
        state.best_score = ckpt["best_score"]
        state.best_epoch = ckpt["best_epoch"]
        state.bad_epochs = ckpt["bad_epochs"]
        state.best_state = ckpt["best_state"]
        state.stopped = ckpt["stopped"]
        state.start_epoch = ckpt["epoch"] + 1
        log.info("resuming %s at epoch %d", last, state.start_epoch)
    write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2), check=check_json)


def _checkpoint(cfg: TrainConfig, epoch: int, run: _Run, state: _RunState) -> dict[str, Any]:
    """Everything ``last.pt`` holds after ``epoch``: enough to resume exactly."""
    return {
        "config": cfg.to_dict(),
        "epoch": epoch,
        "model": run.net.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "generator": run.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": state.history,
        "best_score": state.best_score,
        "best_epoch": state.best_epoch,
        "bad_epochs": state.bad_epochs,
        "best_state": state.best_state,
        "stopped": state.stopped,
    }


def _run_epoch(
    epoch: int, run: _Run, td: _TrainingData, cfg: TrainConfig, state: _RunState
) -> dict[str, Any]:
    """Train and validate one epoch, keep the best network, and log the epoch's record."""
    t_epoch = time.perf_counter()
    train_loss, batch_losses = _train_one_epoch(run, td, cfg)
    run.scheduler.step()
    logits = predict_logits(run.net, td.x_val, mean=td.mean, std=td.std)
    val_loss = (
        float(F.cross_entropy(logits, td.y_val, weight=td.weight_t)) if len(td.y_val) else math.nan
    )
    m = classification_metrics(td.y_val.numpy(), logits.argmax(1).numpy(), CLASS_NAMES)
    score = _selection_score(m, cfg.select_min_support)
    improved = score > state.best_score + 1e-4
    if improved:
        state.best_score, state.best_epoch, state.bad_epochs = score, epoch, 0
        state.best_state = copy.deepcopy(run.net.state_dict())
    else:
        state.bad_epochs += 1
    record = {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_accuracy": m.accuracy,
        "val_balanced_accuracy": m.balanced_accuracy,
        "selection_score": score,
        "val_recall": {n: _finite(r) for n, r in zip(CLASS_NAMES, m.recall, strict=True)},
        "val_precision": {n: _finite(p) for n, p in zip(CLASS_NAMES, m.precision, strict=True)},
        "lr": run.optimizer.param_groups[0]["lr"],
        "seconds": time.perf_counter() - t_epoch,
        "best": improved,
        "batch_losses": batch_losses,
    }
    state.history.append(record)
    log.info(
        "epoch %d: train loss %.4f, val loss %.4f, val acc %.3f, val balanced acc %.3f, "
        "selection score %.3f",
        epoch,
        record["train_loss"],
        val_loss,
        m.accuracy,
        m.balanced_accuracy,
        score,
    )
    return record


def _train_one_epoch(run: _Run, td: _TrainingData, cfg: TrainConfig) -> tuple[float, list[float]]:
    """One pass over the training split; the mean loss per image and each batch's loss."""
    run.net.train()
    perm = _epoch_order(td.y_train, len(CLASS_NAMES), cfg.sampling, run.generator)
    total, count = 0.0, 0
    batch_losses: list[float] = []
    for start in range(0, len(perm), cfg.batch_size):
        idx = perm[start : start + cfg.batch_size]
        if len(idx) < 2:  # batch norm needs two samples
            continue
        xb = td.x_train[idx]
        if cfg.augment:
            xb = augment_batch(
                xb,
                run.generator,
                brightness=cfg.brightness,
                contrast=cfg.contrast,
                zoom=cfg.zoom,
                invert=cfg.invert,
                scale=cfg.scale,
                gamma=cfg.gamma,
                noise=cfg.noise,
            )
        loss = F.cross_entropy(
            run.net(normalize(xb, td.mean, td.std)),
            td.y_train[idx],
            weight=td.weight_t,
            label_smoothing=cfg.label_smoothing,
        )
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        batch_losses.append(float(loss.detach()))
        total += batch_losses[-1] * len(idx)
        count += len(idx)
    return total / max(count, 1), batch_losses


def _best_result(
    net: nn.Module,
    td: _TrainingData,
    cfg: TrainConfig,
    state: _RunState,
    *,
    out: Path | None,
    t0: float,
) -> TrainResult:
    """Restore the best epoch's network, measure it, and save it under ``out/model``."""
    net.load_state_dict(state.best_state)
    net.eval()
    # the final metrics go through the Classifier, exactly as marsgis.ml.evaluate does
    from marsgis.ml.classifier import Classifier

    probe = Classifier(
        net,
        {
            "classes": list(CLASS_NAMES),
            "input_shape": [1, cfg.size, cfg.size],
            "normalization": {"mean": td.mean, "std": td.std},
        },
        device="cpu",
    )
    probs = probe.probabilities(td.x_val, batch_size=256)
    metrics = classification_metrics(td.y_val.numpy(), probs.argmax(1).numpy(), CLASS_NAMES)
    k = len(CLASS_NAMES)
    calibration = _calibrate(probe, td)
    result = TrainResult(
        model=net,
        config=cfg,
        split=td.split,
        metrics=metrics,
        history=state.history,
        best_epoch=state.best_epoch,
        class_weights=[float(w) for w in td.weights],
        normalization={"mean": td.mean, "std": td.std},
        data_hash=data_hash(td.dataset.root),
        data_root=str(td.dataset.root),
        train_counts=np.bincount(td.y_train.numpy(), minlength=k).tolist(),
        val_counts=np.bincount(td.y_val.numpy(), minlength=k).tolist(),
        stopped_early=state.stopped,
        seconds=time.perf_counter() - t0,
        out_dir=out,
        calibration=calibration,
        observations=None
        if len(td.dataset) == len(read_labels(td.dataset.root))
        else tuple(sorted(set(td.dataset.observations))),
    )
    if out is not None:
        from marsgis.ml.registry import save_artefact

        save_artefact(result.classifier(), out / "model")
    return result


def _calibrate(probe: Classifier, td: _TrainingData) -> Calibration:
    """Prior correction and temperatures of the best network (see :mod:`marsgis.ml.calibration`).

    The natural prior is the class mix of the original crops of the run's data (training and
    validation observations); the temperatures are fitted on the validation originals.
    """
    k = len(CLASS_NAMES)
    records = td.dataset.records
    original = np.array([r.augmentation is None for r in records], dtype=bool)
    labels = td.dataset.labels
    val_orig = td.split.val[original[td.split.val]]
    pos = {int(i): j for j, i in enumerate(td.split.val)}
    rows = torch.tensor([pos[int(i)] for i in val_orig], dtype=torch.int64)
    x = td.x_val[rows]
    return fit_calibration(
        train_counts=np.bincount(td.y_train.numpy(), minlength=k),
        weights=td.weights,
        natural_counts=np.bincount(labels[original], minlength=k),
        val_logits=probe.raw_logits(x, batch_size=256).numpy(),
        val_logits_tta=probe.raw_logits(x, batch_size=256, tta=True).numpy(),
        val_labels=labels[val_orig],
        n_observations=len({records[int(i)].observation for i in val_orig}),
    )


def calibrate(
    classifier: Classifier,
    data: str | Path | None = None,
    *,
    fit_observations: Sequence[str] | None = None,
) -> Classifier:
    """Fit the calibration of a trained classifier from its recorded training split.

    For artefacts trained before calibration existed (the shipped ``terrain-classifier`` v1):
    the logit adjustment comes from the recorded training counts and class weights and the
    natural class mix of the original crops of its training and validation observations; the
    temperatures are fitted on the original crops of its validation observations (or of
    ``fit_observations``, a subset of them). The weights are not touched.

    Returns
    -------
    Classifier
        The same network with ``metadata["calibration"]``.
    """
    from marsgis.ml.classifier import Classifier

    meta = classifier.metadata
    training = meta.get("training", {})
    split = training.get("split", {})
    if "train_counts" not in split or "class_weights" not in training:
        raise ValidationError(
            f"model {classifier.name!r} records no training split counts or class weights; "
            "calibration needs a model trained by marsgis.ml.fit"
        )
    digest = data_hash(data)
    if digest != training.get("data_hash"):
        raise ValidationError(
            f"{str(data or 'the shipped subset')!r} is not the data model {classifier.name!r} "
            "was trained on (content hash differs); pass its training folder"
        )
    val_obs = set(split["val_observations"])
    chosen = val_obs if fit_observations is None else set(fit_observations)
    if not chosen <= val_obs:
        raise ValidationError(
            f"fit_observations {sorted(chosen - val_obs)!r} are not validation observations "
            "of the model; the temperature must be fitted on held-out observations"
        )
    used = val_obs | set(split["train_observations"])
    records = read_labels(data)
    k = len(classifier.classes)
    natural = np.bincount(
        [r.label for r in records if r.observation in used and r.augmentation is None],
        minlength=k,
    )
    fit_idx = [
        i for i, r in enumerate(records) if r.observation in chosen and r.augmentation is None
    ]
    x = HiRISELandmarks(data, size=classifier.input_size, indices=fit_idx, cache=False).load_all()
    cal = fit_calibration(
        train_counts=split["train_counts"],
        weights=training["class_weights"],
        natural_counts=natural,
        val_logits=classifier.raw_logits(x, batch_size=256).numpy(),
        val_logits_tta=classifier.raw_logits(x, batch_size=256, tta=True).numpy(),
        val_labels=[records[i].label for i in fit_idx],
        n_observations=len({records[i].observation for i in fit_idx}),
    )
    meta["calibration"] = {**cal.to_dict(), "fitted_on": "validation originals"}
    return Classifier(classifier.model, meta, device=classifier.device)


def _epoch_order(
    labels: torch.Tensor, k: int, sampling: str, generator: torch.Generator
) -> torch.Tensor:
    """Indices of the training images of one epoch, in batch order."""
    n = labels.shape[0]
    if sampling == "shuffle":
        return torch.randperm(n, generator=generator)
    counts = torch.bincount(labels, minlength=k).to(torch.float64)
    per_class = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    if sampling == "sqrt":
        per_class = per_class * counts.sqrt()
    return torch.multinomial(per_class[labels], n, replacement=True, generator=generator)


def _selection_score(m: ClassificationMetrics, min_support: int) -> float:
    """Mean recall over the classes with at least ``min_support`` true samples."""
    keep = m.support >= max(1, min_support)
    if not keep.any():
        return m.balanced_accuracy
    return float(m.recall[keep].mean())


def _check_resumable(old: TrainConfig, new: TrainConfig, path: Path) -> None:
    a = {k: v for k, v in old.to_dict().items() if k not in {"epochs", "patience", "num_threads"}}
    b = {k: v for k, v in new.to_dict().items() if k not in {"epochs", "patience", "num_threads"}}
    if a != b:
        diff = sorted(k for k in a if a[k] != b.get(k))
        raise ValidationError(
            f"cannot resume from {str(path)!r}: its config differs in {diff}; use the same "
            "settings, or a new out_dir / resume=False to start afresh"
        )


def _save_checkpoint(
    out: Path,
    state: dict[str, Any],
    best_state: dict[str, torch.Tensor] | None,
    history: list[dict[str, Any]],
) -> None:
    with atomic_path(out / "last.pt") as tmp:
        torch.save(state, tmp)
    if best_state is not None:
        with atomic_path(out / "best.pt") as tmp:
            torch.save(best_state, tmp)
    write_text(out / "history.jsonl", "".join(json.dumps(record) + "\n" for record in history))


def _progress(epochs: range, show: bool, total: int, initial: int) -> Iterator[int] | Any:
    if not show:
        return iter(epochs)
    from tqdm.auto import tqdm

    return tqdm(epochs, total=total, initial=initial, desc="epochs", unit="epoch")


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
