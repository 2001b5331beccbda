"""Augmentation written with torch tensor ops (no torchvision): rotations, flips, brightness.

Works on batches ``(N, C, H, W)`` of images in [0, 1], drawing every random number from an
explicit :class:`torch.Generator` so that training is reproducible and resumable.
"""

from __future__ import annotations

import math
from typing import Any

from marsgis.exceptions import ValidationError
from marsgis.ml._torch import F, torch

__all__ = ["Augment", "augment_batch", "dihedral", "normalize"]


def augment_batch(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    rotate: bool = True,
    flip: bool = True,
    brightness: float = 0.2,
    contrast: float = 0.2,
    zoom: float = 0.0,
    invert: float = 0.0,
    scale: tuple[float, float] | None = None,
    gamma: float = 0.0,
    noise: float = 0.0,
) -> torch.Tensor:
    """Randomly rotate (by multiples of 90°), flip and change brightness/contrast of a batch.

    Parameters
    ----------
    images
        ``(N, C, H, W)`` float tensor in [0, 1] (H == W when ``rotate``).
    generator
        Source of randomness (CPU generator).
    rotate
        Rotate each image by k·90°, k uniform in {0, 1, 2, 3}.
    flip
        Flip each image horizontally with probability 1/2 (with the rotations this gives all
        eight symmetries of the square).
    brightness
        Add an offset uniform in [-brightness, brightness] and multiply by a gain uniform in
        [1 - brightness, 1 + brightness].
    contrast
        Scale deviations from each image's mean by a factor in [1 - contrast, 1 + contrast].
    zoom
        Rescale each image by a factor log-uniform in [1 / (1 + zoom), 1 + zoom]: a random
        crop resized back when magnifying, a mirrored wider view when shrinking (bilinear).
    invert
        Probability of inverting an image's brightness (``1 - x``): the photometric negative,
        so that a texture is learnt both as dark-on-bright and bright-on-dark.
    scale
        ``(low, high)``: rescale the image content by a factor log-uniform in that range
        (< 1 shrinks features and shows a wider, mirrored view; > 1 magnifies a random crop).
        Overrides ``zoom``, which is ``scale=(1 / (1 + zoom), 1 + zoom)``.
    gamma
        Raise each image to a power log-uniform in [1 / (1 + gamma), 1 + gamma] (a
        non-linear change of contrast, applied before inversion).
    noise
        Add Gaussian noise with a standard deviation uniform in [0, noise] per image.

    Returns
    -------
    torch.Tensor
        New tensor, same shape, clipped to [0, 1]. The input is not modified.
    """
    n = images.shape[0]
    out = images.clone()
    if n == 0:
        return out
    if rotate:
        k = torch.randint(0, 4, (n,), generator=generator)
        for turns in (1, 2, 3):
            sel = k == turns
            if bool(sel.any()):
                out[sel] = torch.rot90(out[sel], turns, dims=(-2, -1))
    if flip:
        sel = torch.rand(n, generator=generator) < 0.5
        if bool(sel.any()):
            out[sel] = torch.flip(out[sel], dims=(-1,))
    shape = (n,) + (1,) * (images.ndim - 1)
    if scale is None and zoom > 0:
        scale = (1.0 / (1.0 + zoom), 1.0 + zoom)
    if scale is not None and (scale[0] != 1.0 or scale[1] != 1.0):
        out = _rescale(out, generator, scale)
    if gamma > 0:
        log_g = math.log(1.0 + gamma)
        power = torch.exp((torch.rand(shape, generator=generator) * 2 - 1) * log_g)
        out = out.clamp(min=0.0).pow(power)
    if invert > 0:
        sel = torch.rand(n, generator=generator) < invert
        if bool(sel.any()):
            out[sel] = 1.0 - out[sel]
    if contrast > 0:
        factor = 1.0 + (torch.rand(shape, generator=generator) * 2 - 1) * contrast
        mean = out.mean(dim=(-3, -2, -1), keepdim=True)
        out = (out - mean) * factor + mean
    if brightness > 0:
        gain = 1.0 + (torch.rand(shape, generator=generator) * 2 - 1) * brightness
        offset = (torch.rand(shape, generator=generator) * 2 - 1) * brightness
        out = out * gain + offset
    if noise > 0:
        sigma = torch.rand(shape, generator=generator) * noise
        out = out + sigma * torch.randn(out.shape, generator=generator)
    return out.clamp_(0.0, 1.0)


def _rescale(
    images: torch.Tensor, generator: torch.Generator, factors: tuple[float, float]
) -> torch.Tensor:
    """Rescale by a factor log-uniform in ``factors`` (reflecting at the edges).

    Magnifying (factor > 1) shows a random crop resized back; shrinking shows a larger,
    mirrored view.
    """
    n = images.shape[0]
    lo, hi = math.log(factors[0]), math.log(factors[1])
    # side of the sampled window relative to the image (< 1: magnify, > 1: shrink)
    scale = torch.exp(torch.rand(n, generator=generator) * (hi - lo) - hi)
    free = (1.0 - scale).clamp(min=0.0)[:, None]  # room to move a magnifying window
    shift = free * (torch.rand(n, 2, generator=generator) * 2 - 1)
    theta = torch.zeros(n, 2, 3, dtype=images.dtype)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )


def dihedral(images: torch.Tensor, index: int) -> torch.Tensor:
    """Symmetry ``index`` (0 … 7) of the square applied to a ``(N, C, H, W)`` batch.

    ``index % 4`` quarter turns, then a horizontal flip when ``index >= 4``; index 0 is the
    identity. Together the eight are the views averaged by test-time augmentation.
    """
    if not 0 <= index < 8:
        raise ValidationError(f"index={index!r} must be in 0 … 7")
    out = torch.rot90(images, index % 4, dims=(-2, -1)) if index % 4 else images
    return torch.flip(out, dims=(-1,)) if index >= 4 else out


def normalize(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """``(images - mean) / std``: the normalisation recorded in a model's metadata."""
    return (images - mean) / std


class Augment:
    """Sample transform (for ``HiRISELandmarks(transforms=...)``) applying :func:`augment_batch`.

    Parameters
    ----------
    seed
        Seed of the transform's own generator.
    **kwargs
        Passed to :func:`augment_batch`.
    """

    def __init__(self, seed: int = 0, **kwargs: Any) -> None:
        self.generator = torch.Generator().manual_seed(seed)
        self.kwargs = kwargs

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Return a copy of ``sample`` with its ``"image"`` augmented."""
        image = augment_batch(sample["image"][None], self.generator, **self.kwargs)[0]
        return {**sample, "image": image}
