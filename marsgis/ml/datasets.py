"""Datasets returning dict samples (torchgeo habit): the HiRISE landmark crops.

The shipped subset of the HiRISE landmark data set v3 (Wagstaff et al., DOI
10.5281/zenodo.2538136) lives in ``marsgis/data/hirise-landmarks-v3-subset`` (see its
``PROVENANCE.md``). Any folder with the same layout works: ``images/*.jpg`` and a
``labels.txt`` of ``<filename> <class id>`` lines.

File names are ``<OBSERVATION>-<crop>[-<augmentation>].jpg``, for example
``ESP_011289_1950_RED-0208-r270.jpg``: HiRISE observation ``ESP_011289_1950_RED``, crop
``0208``, rotated by 270°. Splits must group by observation (:mod:`marsgis.ml.splits`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from marsgis.data import DATA_DIR
from marsgis.exceptions import DataNotFoundError, DataReadError, ValidationError
from marsgis.ml._torch import F, torch

__all__ = [
    "CLASS_NAMES",
    "HIRISE_LANDMARKS_DIR",
    "HiRISELandmarks",
    "LandmarkRecord",
    "data_hash",
    "parse_filename",
    "pil_to_grey",
    "read_image",
    "read_labels",
    "resize_images",
]

#: The eight classes of the HiRISE landmark data set v3, by class id.
CLASS_NAMES: tuple[str, ...] = (
    "other",
    "crater",
    "dark dune",
    "slope streak",
    "bright dune",
    "impact ejecta",
    "swiss cheese",
    "spider",
)

#: The shipped subset (1787 crops from 129 HiRISE observations).
HIRISE_LANDMARKS_DIR = DATA_DIR / "hirise-landmarks-v3-subset"

_NAME_RE = re.compile(
    r"^(?P<observation>[A-Z]{3}_\d{6}_\d{4}_[A-Z0-9]+)-(?P<crop>\d+)(?:-(?P<aug>[a-z0-9]+))?\.jpg$"
)
_AUGMENTATIONS = {"r90", "r180", "r270", "fh", "fv", "brt"}


@dataclass(frozen=True)
class LandmarkRecord:
    """One labelled crop: file name, class id and what the name says about it."""

    filename: str
    label: int
    observation: str
    crop: str
    augmentation: str | None

    @property
    def landmark(self) -> str:
        """The original landmark this crop shows (``<observation>-<crop>``)."""
        return f"{self.observation}-{self.crop}"


def parse_filename(filename: str) -> tuple[str, str, str | None]:
    """Split a landmark file name into ``(observation, crop, augmentation)``.

    Examples
    --------
    >>> parse_filename("ESP_011289_1950_RED-0208-r270.jpg")
    ('ESP_011289_1950_RED', '0208', 'r270')
    >>> parse_filename("ESP_011289_1950_RED-0039.jpg")
    ('ESP_011289_1950_RED', '0039', None)
    """
    match = _NAME_RE.match(Path(filename).name)
    if match is None:
        raise ValidationError(
            f"file name {filename!r} is not <OBSERVATION>-<crop>[-<augmentation>].jpg "
            "(e.g. 'ESP_011289_1950_RED-0208-r270.jpg')"
        )
    aug = match["aug"]
    if aug is not None and aug not in _AUGMENTATIONS:
        raise ValidationError(
            f"file name {filename!r} has unknown augmentation suffix {aug!r}; "
            f"known: {sorted(_AUGMENTATIONS)}"
        )
    return match["observation"], match["crop"], aug


def read_labels(root: str | Path | None = None) -> list[LandmarkRecord]:
    """Read ``labels.txt`` of a landmark folder (default: the shipped subset), sorted by name."""
    root_path = _root(root)
    labels = root_path / "labels.txt"
    if not labels.is_file():
        raise DataNotFoundError(
            f"{str(labels)!r} does not exist; a landmark folder needs images/ and labels.txt "
            "(`<filename> <class id>` per line), like marsgis/data/hirise-landmarks-v3-subset"
        )
    records = []
    for lineno, line in enumerate(labels.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) >= len(CLASS_NAMES):
            raise ValidationError(
                f"{str(labels)!r} line {lineno} is {line!r}; expected '<filename> <class id 0-7>'"
            )
        observation, crop, aug = parse_filename(parts[0])
        records.append(LandmarkRecord(parts[0], int(parts[1]), observation, crop, aug))
    if not records:
        raise DataNotFoundError(f"{str(labels)!r} lists no images")
    return sorted(records, key=lambda r: r.filename)


def data_hash(root: str | Path | None = None) -> str:
    """A sha256 identifying a landmark folder's content: every image's bytes and its label.

    The digest covers ``<sha256 of image>  <filename> <label>`` lines in file-name order, so
    it changes when any image, label or the file list changes.
    """
    root_path = _root(root)
    digest = hashlib.sha256()
    for rec in read_labels(root_path):
        image_sha = hashlib.sha256((root_path / "images" / rec.filename).read_bytes()).hexdigest()
        digest.update(f"{image_sha}  {rec.filename} {rec.label}\n".encode())
    return digest.hexdigest()


def read_image(path: str | Path) -> npt.NDArray[np.uint8]:
    """Read an image file as a 2-D greyscale uint8 array (colour images are converted).

    Raises
    ------
    DataNotFoundError
        No such file.
    DataReadError
        The file is not an image Pillow can decode (another format, truncated, corrupt).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"image {str(p)!r} does not exist")
    try:
        with Image.open(p) as img:
            return pil_to_grey(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataReadError(
            f"image {str(p)!r} cannot be read ({type(exc).__name__}: {exc}); give a JPEG, "
            "PNG or TIFF file that Pillow opens, e.g. a HiRISE landmark crop"
        ) from exc


def pil_to_grey(image: Image.Image) -> npt.NDArray[np.uint8]:
    """A Pillow image as a 2-D greyscale uint8 array (colour is converted to luminance)."""
    grey = image.convert("L") if image.mode != "L" else image
    return np.asarray(grey, dtype=np.uint8).copy()


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a ``(N, 1, H, W)`` float batch to ``size``×``size`` (antialiased bilinear).

    The same resampling is used in training, :meth:`Classifier.predict` and raster inference,
    so the model always sees the same pixel scale.
    """
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(
        images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )


class HiRISELandmarks(torch.utils.data.Dataset[dict[str, Any]]):
    """HiRISE landmark crops as dict samples.

    Each sample is ``{"image": float32 tensor (1, size, size) in [0, 1], "label": int64 tensor,
    "observation": str, "landmark": str, "path": str}``.

    Parameters
    ----------
    root
        Folder with ``images/`` and ``labels.txt`` (default: the shipped subset).
    size
        Side the 227×227 crops are resized to (antialiased bilinear); ``None`` keeps 227.
    indices
        Use only these records (positions in the sorted label list), e.g. one split.
    transforms
        Callable applied to each sample dict (augmentation).
    cache
        Decode every image once and keep the resized tensors in memory (1787 crops at
        96 px take 66 MB).

    Examples
    --------
    >>> ds = HiRISELandmarks(size=96)
    >>> sample = ds[0]
    >>> sample["image"].shape, CLASS_NAMES[int(sample["label"])], sample["observation"]
    (torch.Size([1, 96, 96]), 'other', 'ESP_011289_1950_RED')
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        size: int | None = 96,
        indices: Sequence[int] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        cache: bool = True,
    ) -> None:
        self.root = _root(root)
        all_records = read_labels(self.root)
        self.records: list[LandmarkRecord] = (
            all_records if indices is None else [all_records[int(i)] for i in indices]
        )
        if size is not None and size < 8:
            raise ValidationError(f"size={size!r} is too small; use at least 8 pixels")
        self.size = size
        self.transforms = transforms
        self._cache: torch.Tensor | None = None
        if cache:
            self._cache = self.load_all()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        """Class id of every sample."""
        return np.array([r.label for r in self.records], dtype=np.int64)

    @property
    def observations(self) -> list[str]:
        """HiRISE observation of every sample."""
        return [r.observation for r in self.records]

    def _load(self, i: int) -> torch.Tensor:
        arr = read_image(self.root / "images" / self.records[i].filename)
        img = torch.from_numpy(arr).to(torch.float32).div_(255.0)[None, None]
        if self.size is not None:
            img = resize_images(img, self.size)
        return img[0]

    def load_all(self) -> torch.Tensor:
        """Every image as one ``(N, 1, size, size)`` float32 tensor (from the cache if any)."""
        if self._cache is not None:
            return self._cache
        if not self.records:
            side = self.size or 227
            return torch.zeros((0, 1, side, side))
        out = []
        step = 256  # decode and resize in batches: one small torch call per image is slow
        for start in range(0, len(self.records), step):
            arrays = [
                read_image(self.root / "images" / rec.filename)
                for rec in self.records[start : start + step]
            ]
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1 and self.size is None:
                raise ValidationError(
                    f"images of {str(self.root)!r} differ in size {sorted(shapes)!r}; pass size= "
                    "to resize them to one square size"
                )
            if len(shapes) > 1:
                out += [self._load(start + i) for i in range(len(arrays))]
                continue
            batch = torch.from_numpy(np.stack(arrays)).to(torch.float32).div_(255.0)[:, None]
            out.append(batch if self.size is None else resize_images(batch, self.size))
        return torch.cat([t if t.ndim == 4 else t[None] for t in out])

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.records[index]
        image = self._cache[index] if self._cache is not None else self._load(index)
        sample: dict[str, Any] = {
            "image": image,
            "label": torch.tensor(rec.label, dtype=torch.int64),
            "observation": rec.observation,
            "landmark": rec.landmark,
            "path": str(self.root / "images" / rec.filename),
        }
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample


def _root(root: str | Path | None) -> Path:
    path = HIRISE_LANDMARKS_DIR if root is None else Path(root).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(
            f"landmark folder {str(path)!r} does not exist; pass a folder with images/ and "
            "labels.txt, or None for the shipped subset"
        )
    return path
