"""Model definitions: plain ``nn.Module`` subclasses, nothing else (torchgeo habit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marsgis.exceptions import ValidationError
from marsgis.ml._torch import nn, torch

__all__ = ["MODELS", "TerrainCNN", "build_model"]


class TerrainCNN(nn.Module):
    """A small VGG-style CNN for greyscale terrain crops.

    Each stage is conv3×3 → batch norm → ReLU (twice in the first stage) followed by 2×2 max
    pooling; a global average pool and a linear layer give the class logits. With the default
    widths it has about 100 k parameters (0.4 MB of float32 weights).

    Parameters
    ----------
    num_classes
        Number of output classes.
    in_channels
        Image channels (1 for HiRISE greyscale).
    widths
        Output channels of each stage; each stage halves the resolution except the last.
    dropout
        Dropout before the classifier.
    standardize
        Standardise each image to zero mean and unit variance before the first convolution
        (HiRISE browse images differ in brightness and contrast from one observation to the
        next; this makes the network see only relative brightness).
    gradient
        Add the Sobel gradient magnitude of the (standardised) image as an extra input
        channel (edges are the same for dark-on-bright and bright-on-dark features).
    """

    def __init__(
        self,
        num_classes: int = 8,
        *,
        in_channels: int = 1,
        widths: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.2,
        standardize: bool = True,
        gradient: bool = False,
    ) -> None:
        super().__init__()
        self.standardize = bool(standardize)
        self.gradient = bool(gradient)
        if not widths or any(int(w) < 1 for w in widths):
            raise ValidationError(f"widths={tuple(widths)!r} must be positive channel counts")
        layers: list[nn.Module] = []
        prev = in_channels * (2 if self.gradient else 1)
        for i, width in enumerate(widths):
            layers += [nn.Conv2d(prev, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)]
            layers.append(nn.ReLU(inplace=True))
            if i == 0:
                layers += [
                    nn.Conv2d(width, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            prev = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)`` of a ``(N, in_channels, H, W)`` batch."""
        if self.standardize:
            mean = x.mean(dim=(-3, -2, -1), keepdim=True)
            std = x.std(dim=(-3, -2, -1), keepdim=True)
            x = (x - mean) / (std + 1e-3)
        if self.gradient:
            x = torch.cat([x, _sobel_magnitude(x)], dim=1)
        features = self.pool(self.features(x)).flatten(1)
        logits: torch.Tensor = self.classifier(self.dropout(features))
        return logits


def _sobel_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Per-channel Sobel gradient magnitude of a ``(N, C, H, W)`` batch (edges replicated)."""
    c = x.shape[1]
    kx = (
        torch.tensor(
            [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype, device=x.device
        )
        / 8.0
    )
    kernels = torch.stack([kx, kx.T])[:, None].repeat(c, 1, 1, 1)  # (2C, 1, 3, 3)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")
    g = torch.nn.functional.conv2d(padded, kernels, groups=c)
    gx, gy = g[:, 0::2], g[:, 1::2]
    return torch.sqrt(gx * gx + gy * gy + 1e-12)


#: Architectures the registry can rebuild from a model's metadata.
MODELS: dict[str, type[nn.Module]] = {"terrain-cnn": TerrainCNN}


def build_model(architecture: str, **kwargs: Any) -> nn.Module:
    """Instantiate a registered architecture by name with its keyword arguments."""
    try:
        cls = MODELS[architecture]
    except KeyError:
        raise ValidationError(
            f"unknown architecture {architecture!r}; known: {sorted(MODELS)}"
        ) from None
    return cls(**kwargs)
