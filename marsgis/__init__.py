"""marsgis: notebook-first Mars terrain analysis and mission planning.

>>> import marsgis
>>> dem = marsgis.open_dem("mola")          # MOLA MEGDR, IAU_2015:49900
>>> marsgis.sample(dem, lat=-4.5895, lon=137.4417)

The entry points below are imported on first use (PEP 562), so ``import marsgis`` stays quick;
the ``.mars`` DataArray accessor is registered at import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import marsgis.accessor  # noqa: F401  (registers the .mars accessor)
from marsgis._options import get_option, set_options

if TYPE_CHECKING:
    from marsgis._show_versions import show_versions
    from marsgis.io import open_dem
    from marsgis.io.vector import gazetteer, open_features
    from marsgis.sampling import sample

__version__ = "0.1.0"

__all__ = (
    "__version__",
    "gazetteer",
    "get_option",
    "open_dem",
    "open_features",
    "sample",
    "set_options",
    "show_versions",
)

_LAZY = {
    "open_dem": "marsgis.io.raster",
    "sample": "marsgis.sampling",
    "gazetteer": "marsgis.io.vector",
    "open_features": "marsgis.io.vector",
    "show_versions": "marsgis._show_versions",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'marsgis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
