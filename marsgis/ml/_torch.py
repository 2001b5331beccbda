"""The one place where marsgis.ml imports torch: a missing torch becomes a clear error.

Modules that need torch do ``from marsgis.ml._torch import nn, torch``; importing them without
torch raises :class:`~marsgis.exceptions.DependencyNotFoundError` with the install line
(torchgeo's ``lazy_import`` habit).
"""

from __future__ import annotations

from marsgis.exceptions import DependencyNotFoundError

__all__ = ["TORCH_INSTALL", "F", "nn", "torch"]

#: The install line printed when torch is missing.
TORCH_INSTALL = "pip install torch==2.13.0"

try:
    import torch
    import torch.nn.functional as F  # noqa: N812 (torch convention)
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise DependencyNotFoundError(
        f"marsgis.ml needs PyTorch, which is not installed ({exc}); install it with "
        f"`{TORCH_INSTALL}` (CPU) or the CUDA wheel for your GPU"
    ) from exc
