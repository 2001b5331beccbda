"""Data access: DEMs (PDS3, GeoTIFF/COG, shipped) and vector features.

``open_dem`` and ``dem_from_array`` are imported on first use (PEP 562), so the light modules
of this package (:mod:`marsgis.io.atomic`) load without xarray and dask.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marsgis.io.raster import dem_from_array, open_dem

__all__ = ["dem_from_array", "open_dem"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("marsgis.io.raster"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'marsgis.io' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
