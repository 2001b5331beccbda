"""A trained terrain classifier: a network plus the metadata that says how to feed it.

:class:`Classifier` wraps an ``nn.Module`` with its metadata (class names, input size,
normalisation, training provenance, validation metrics) and turns images into
:class:`Prediction` s. It is what :func:`marsgis.ml.load` returns and what
:func:`marsgis.ml.classify_raster` runs over a raster.

Input convention: greyscale images in [0, 1] (8-bit images are divided by 255), any size;
each is resized to the network's ``input_size`` × ``input_size`` with antialiased bilinear
resampling (:func:`marsgis.ml.datasets.resize_images`, the same as in training), then
normalised with the training mean and standard deviation.

Float32 on CUDA: PyTorch lets cuDNN convolutions use TF32 (10-bit mantissa) by default,
which moves probabilities by ~1e-3 and can flip near-ties. Every forward pass of a
:class:`Classifier` on CUDA runs in IEEE float32 instead (:func:`ieee_float32`: the TF32
switches are turned off for the pass and restored afterwards), so CUDA and CPU give the same
classes and probabilities within float32 rounding.
"""

from __future__ import annotations

import copy
import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from marsgis.exceptions import ValidationError
from marsgis.ml._torch import nn, torch
from marsgis.ml.calibration import Calibration
from marsgis.ml.datasets import pil_to_grey, read_image, resize_images
from marsgis.ml.metrics import ClassificationMetrics
from marsgis.ml.models import build_model
from marsgis.ml.transforms import dihedral, normalize

__all__ = ["Classifier", "Prediction", "default_device", "ieee_float32"]

ImageInput = Any  # a path, a Pillow image, a sequence of those or of arrays, an array, a tensor


def default_device() -> str:
    """``"cuda"`` when PyTorch sees a CUDA GPU, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


_TF32_LOCK = threading.Lock()
_tf32_users = 0
_tf32_saved: dict[str, Any] = {}


def _tf32_switches() -> dict[str, Any]:
    """The TF32 switches of this torch: the ``fp32_precision`` API (torch >= 2.9) or legacy."""
    matmul = torch.backends.cuda.matmul
    conv = getattr(torch.backends.cudnn, "conv", None)
    if hasattr(matmul, "fp32_precision") and conv is not None:
        return {
            "matmul": (matmul, "fp32_precision", "ieee"),
            "conv": (conv, "fp32_precision", "ieee"),
        }
    return {
        "matmul": (matmul, "allow_tf32", False),
        "conv": (torch.backends.cudnn, "allow_tf32", False),
    }


@contextmanager
def ieee_float32(device: str | torch.device) -> Iterator[None]:
    """Run float32 matmuls and convolutions on ``device`` in IEEE float32, not TF32.

    On CUDA the process-wide TF32 switches are turned off while at least one thread is inside
    the context and restored when the last one leaves; on other devices nothing changes.

    Examples
    --------
    >>> with ieee_float32("cpu"):
    ...     pass
    """
    global _tf32_users  # noqa: PLW0603 (one process-wide count, guarded by the lock)
    if torch.device(device).type != "cuda":
        yield
        return
    switches = _tf32_switches()
    with _TF32_LOCK:
        if _tf32_users == 0:
            for key, (owner, attr, exact) in switches.items():
                _tf32_saved[key] = getattr(owner, attr)
                setattr(owner, attr, exact)
        _tf32_users += 1
    try:
        yield
    finally:
        with _TF32_LOCK:
            _tf32_users -= 1
            if _tf32_users == 0:
                for key, (owner, attr, _exact) in switches.items():
                    setattr(owner, attr, _tf32_saved.pop(key))


@dataclass(frozen=True)
class Prediction:
    """Class predictions of a batch of images.

    Attributes
    ----------
    classes
        Names of all classes (column order of ``probabilities``).
    class_ids
        Predicted class id of each image, shape ``(N,)``.
    probabilities
        Class probabilities, shape ``(N, K)`` (calibrated when the model has a calibration).
    """

    classes: tuple[str, ...]
    class_ids: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.class_ids.shape[0])

    @property
    def labels(self) -> list[str]:
        """Predicted class name of each image."""
        return [self.classes[int(i)] for i in self.class_ids]

    @property
    def confidence(self) -> npt.NDArray[np.float32]:
        """Probability of the predicted class of each image."""
        return np.take_along_axis(self.probabilities, self.class_ids[:, None], axis=1)[:, 0]

    def to_records(
        self, paths: Sequence[str | Path] | None = None, *, vector: bool = False
    ) -> list[dict[str, Any]]:
        """``[{"path", "class", "probability"}, ...]`` (``path`` only when ``paths`` given).

        With ``vector`` each record also has ``"probabilities"``: ``{class name: p}`` over
        every class.
        """
        if paths is not None and len(paths) != len(self):
            raise ValidationError(f"{len(paths)} paths for {len(self)} predictions")
        records = []
        for i, (label, p) in enumerate(zip(self.labels, self.confidence, strict=True)):
            rec: dict[str, Any] = {} if paths is None else {"path": str(paths[i])}
            rec.update({"class": label, "probability": float(p)})
            if vector:
                rec["probabilities"] = {
                    name: float(v)
                    for name, v in zip(self.classes, self.probabilities[i], strict=True)
                }
            records.append(rec)
        return records


class Classifier:
    """A terrain classifier: network, preprocessing and metadata.

    Parameters
    ----------
    model
        The network (class logits of ``(N, 1, S, S)`` batches).
    metadata
        At least ``classes``, ``input_shape`` (``[1, S, S]``) and ``normalization``
        (``{"mean", "std"}``); see :func:`marsgis.ml.registry.build_metadata`.
    device
        ``"cpu"``, ``"cuda"``, a :class:`torch.device`, or None for CUDA when present.

    Examples
    --------
    >>> import marsgis.ml
    >>> from marsgis.data import DATA_DIR
    >>> images = DATA_DIR / "hirise-landmarks-v3-subset/images"
    >>> clf = marsgis.ml.load("terrain-classifier")
    >>> pred = clf.predict([images / "ESP_011289_1950_RED-0039.jpg",
    ...                     images / "ESP_011289_1950_RED-0131-fh.jpg"])
    >>> pred.labels, [round(float(c), 2) for c in pred.confidence]   # at the natural class mix
    (['other', 'other'], [0.77, 0.63])
    >>> raw = clf.predict([images / "ESP_011289_1950_RED-0039.jpg"], calibrated=False)
    >>> raw.labels, round(float(raw.confidence[0]), 2)                # the network's own softmax
    (['dark dune'], 0.76)
    """

    def __init__(
        self,
        model: nn.Module,
        metadata: Mapping[str, Any],
        *,
        device: str | torch.device | None = None,
    ) -> None:
        for key in ("classes", "input_shape", "normalization"):
            if key not in metadata:
                raise ValidationError(
                    f"classifier metadata lacks {key!r}; build it with "
                    "marsgis.ml.registry.build_metadata"
                )
        self._metadata = copy.deepcopy(dict(metadata))
        self._device_request = None if device is None else str(device)
        self.device = torch.device(device if device is not None else default_device())
        self.model = model.to(self.device).eval()

    # ------------------------------------------------------------------ metadata
    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the metadata."""
        return copy.deepcopy(self._metadata)

    @property
    def name(self) -> str:
        """Registered name (``"unregistered"`` for a model fresh from training)."""
        return str(self._metadata.get("name", "unregistered"))

    @property
    def version(self) -> int:
        """Registered version (0 for a model fresh from training)."""
        return int(self._metadata.get("version", 0))

    @property
    def sha256(self) -> str | None:
        """sha256 of the weights file this classifier was loaded from (None if unsaved)."""
        value = self._metadata.get("sha256")
        return None if value is None else str(value)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, by class id."""
        return tuple(self._metadata["classes"])

    @property
    def input_size(self) -> int:
        """Side in pixels of the square images the network sees."""
        return int(self._metadata["input_shape"][-1])

    @property
    def tile_size(self) -> int:
        """Side in source pixels of the crops the network was trained on (HiRISE: 227)."""
        return int(self._metadata.get("tile_size", self.input_size))

    @property
    def mean(self) -> float:
        """Training-set mean of the [0, 1] pixels (subtracted before the network)."""
        return float(self._metadata["normalization"]["mean"])

    @property
    def std(self) -> float:
        """Training-set standard deviation of the [0, 1] pixels."""
        return float(self._metadata["normalization"]["std"])

    @property
    def calibration(self) -> Calibration | None:
        """Prior correction and temperature (:mod:`marsgis.ml.calibration`); None if absent.

        Artefacts written before calibration existed have none: their probabilities are the
        plain softmax of the network's logits.
        """
        data = self._metadata.get("calibration")
        return None if data is None else Calibration.from_dict(data)

    @property
    def validation_metrics(self) -> ClassificationMetrics | None:
        """Recorded metrics on the observation-held-out validation split (None if unknown)."""
        data = self._metadata.get("metrics", {}).get("validation")
        return None if data is None else ClassificationMetrics.from_dict(data)

    def __repr__(self) -> str:
        return (
            f"Classifier(name={self.name!r}, version={self.version}, classes={len(self.classes)}, "
            f"input_size={self.input_size}, device={str(self.device)!r})"
        )

    # ------------------------------------------------------------------ running
    def to(self, device: str | torch.device) -> Classifier:
        """Move the network to ``device`` (in place) and return self."""
        self.device = torch.device(device)
        self._device_request = str(device)
        self.model.to(self.device)
        return self

    def copy_to(self, device: str | torch.device | None = None) -> Classifier:
        """A new classifier with a copy of the network on ``device``; self is left as it is.

        ``device=None`` picks CUDA when present (on a dask worker: that worker's device).
        """
        model = copy.deepcopy(self.model)
        return Classifier(model, self._metadata, device=device)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Resize and normalise a ``(N, 1, H, W)`` batch in [0, 1]; result on :attr:`device`."""
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValidationError(
                f"expected a (N, 1, H, W) batch of greyscale images, got shape "
                f"{tuple(images.shape)!r}"
            )
        x = images.to(self.device, dtype=torch.float32, non_blocking=True)
        x = resize_images(x, self.input_size)
        return normalize(x, self.mean, self.std)

    def logits(self, prepared: torch.Tensor) -> torch.Tensor:
        """The network's class logits of a batch from :meth:`prepare` (no gradients)."""
        with torch.inference_mode(), ieee_float32(self.device):
            out: torch.Tensor = self.model(prepared)
        return out

    def raw_logits(
        self, images: torch.Tensor, *, batch_size: int = 64, tta: bool = False
    ) -> torch.Tensor:
        """The network's logits ``(N, K)`` (float32, CPU) of a [0, 1] batch, uncalibrated.

        With ``tta`` the logits are the mean over the eight symmetries of the square (four
        quarter turns, each also flipped) of every image.
        """
        if batch_size < 1:
            raise ValidationError(f"batch_size={batch_size!r} must be a positive integer")
        outs = []
        for start in range(0, images.shape[0], batch_size):
            x = self.prepare(images[start : start + batch_size])
            if tta:
                z = torch.stack([self.logits(dihedral(x, i)).float() for i in range(8)]).mean(0)
            else:
                z = self.logits(x).float()
            outs.append(z.cpu())
        if not outs:
            return torch.zeros((0, len(self.classes)))
        return torch.cat(outs)

    def probabilities(
        self,
        images: torch.Tensor,
        *,
        batch_size: int = 64,
        tta: bool = False,
        calibrated: bool = True,
    ) -> torch.Tensor:
        """Class probabilities ``(N, K)`` (float32, on the CPU) of a [0, 1] batch.

        Parameters
        ----------
        images
            ``(N, 1, H, W)`` float batch in [0, 1].
        batch_size
            Images per forward pass.
        tta
            Average the logits over the eight symmetries of the square.
        calibrated
            Apply the model's :attr:`calibration` (prior correction to the natural class
            mix and temperature): ``softmax(z / T + τ b)``. Without a calibration, or with
            ``calibrated=False``, the plain softmax of the network's logits.
        """
        z = self.raw_logits(images, batch_size=batch_size, tta=tta)
        cal = self.calibration if calibrated else None
        if cal is None:
            return torch.softmax(z, dim=1)
        return torch.from_numpy(cal.apply(z.numpy(), tta=tta)).softmax(dim=1).to(torch.float32)

    def predict(
        self,
        images: ImageInput,
        *,
        batch_size: int = 64,
        tta: bool = False,
        calibrated: bool = True,
    ) -> Prediction:
        """Classify images.

        Parameters
        ----------
        images
            A path or a Pillow image (any format Pillow reads; colour is converted to
            greyscale), or a sequence of them; a 2-D array (one image) or 3-D array
            ``(N, H, W)``; a sequence of 2-D arrays; or a tensor ``(N, 1, H, W)`` /
            ``(N, H, W)``. 8-bit arrays are divided by 255; float arrays must lie in [0, 1].
        batch_size
            Images per forward pass.
        tta, calibrated
            As for :meth:`probabilities`: by default the calibrated probabilities (prior
            correction to the natural class mix and temperature) of plain forward passes.

        Returns
        -------
        Prediction
            Class ids, names and probabilities, in input order.
        """
        batches = _as_batches(images)
        probs = [
            self.probabilities(b, batch_size=batch_size, tta=tta, calibrated=calibrated)
            for b in batches
        ]
        p = torch.cat(probs) if probs else torch.zeros((0, len(self.classes)))
        arr = p.numpy().astype(np.float32)
        return Prediction(self.classes, arr.argmax(axis=1).astype(np.int64), arr)

    # ------------------------------------------------------------------ pickling (dask workers)
    def __getstate__(self) -> dict[str, Any]:
        buffer = io.BytesIO()
        torch.save({k: v.cpu() for k, v in self.model.state_dict().items()}, buffer)
        return {
            "metadata": self._metadata,
            "state": buffer.getvalue(),
            "device": self._device_request,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        meta = state["metadata"]
        model = build_model(meta["architecture"], **meta["model_kwargs"])
        model.load_state_dict(torch.load(io.BytesIO(state["state"]), weights_only=True))
        self.__init__(model, meta, device=state["device"])  # type: ignore[misc]

    def __dask_tokenize__(self) -> tuple[str, ...]:
        return (
            "marsgis.ml.Classifier",
            self.name,
            str(self.version),
            str(self.sha256),
            str(id(self)),
        )


def _as_batches(images: ImageInput) -> list[torch.Tensor]:
    """Group inputs into ``(N, 1, H, W)`` float tensors of equal image size."""
    if isinstance(images, torch.Tensor):
        t = images.detach().to(torch.float32)
        if t.ndim == 2:
            t = t[None, None]
        elif t.ndim == 3:
            t = t[:, None]
        if t.ndim != 4 or t.shape[1] != 1:
            raise ValidationError(
                f"tensor of shape {tuple(images.shape)!r}: expected (N, 1, H, W), (N, H, W) or (H, W)"
            )
        return [t]
    if isinstance(images, (str, Path, Image.Image)):
        items: list[Any] = [images]
    elif isinstance(images, np.ndarray):
        if images.ndim == 2:
            items = [images]
        elif images.ndim == 3:
            items = list(images)
        else:
            raise ValidationError(
                f"array of shape {images.shape!r}: expected (H, W) or (N, H, W) greyscale"
            )
    else:
        try:
            items = list(images)
        except TypeError:
            raise ValidationError(
                f"cannot classify an object of type {type(images).__name__!r}: give a path, a Pillow image, "
                "a 2-D or (N, H, W) array, a tensor, or a sequence of paths, images or arrays"
            ) from None
    arrays = [_as_image(item) for item in items]
    # one batch per run of equal-sized images, keeping input order
    batches: list[torch.Tensor] = []
    run: list[npt.NDArray[np.float32]] = []
    for arr in arrays:
        if run and arr.shape != run[0].shape:
            batches.append(torch.from_numpy(np.stack(run))[:, None])
            run = []
        run.append(arr)
    if run:
        batches.append(torch.from_numpy(np.stack(run))[:, None])
    return batches


def _as_image(item: Any) -> npt.NDArray[np.float32]:
    if isinstance(item, (str, Path)):
        return read_image(item).astype(np.float32) / np.float32(255.0)
    if isinstance(item, Image.Image):
        return pil_to_grey(item).astype(np.float32) / np.float32(255.0)
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    arr = np.asarray(item)
    if arr.dtype == object or arr.ndim != 2:
        raise ValidationError(
            f"image of type {type(item).__name__} and shape {arr.shape!r}: expected a path, "
            "a Pillow image or a 2-D greyscale array"
        )
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    if arr.dtype.kind not in "fiu":
        raise ValidationError(f"image of dtype {arr.dtype!r}: expected uint8 or float in [0, 1]")
    out = arr.astype(np.float32)
    finite = out[np.isfinite(out)]
    if not np.isfinite(out).all() or (finite.size and (finite.min() < 0 or finite.max() > 1)):
        raise ValidationError(
            f"float image values span {np.nanmin(out):g}..{np.nanmax(out):g}; scale them to "
            "[0, 1] (e.g. (a - a.min()) / (a.max() - a.min())) or pass uint8, without NaN"
        )
    return out
