"""Terrain products of Mars DEMs: slope, aspect, roughness, hillshade and cell sizes.

Every function takes a DEM DataArray (dims ``("y", "x")``, Mars CRS, numpy- or dask-backed)
and returns a new float32 DataArray on the same grid, following ``gdaldem``'s definitions
(Horn's 3×3 method) but with cell sizes in true metres on the Mars sphere, longitude wrap on
global grids, and NaN for nodata and incomplete edge windows.

>>> import marsgis
>>> dem = marsgis.open_dem("gale-mola")
>>> slope = marsgis.terrain.slope(dem)          # or dem.mars.slope()
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marsgis.terrain.aspect import aspect
    from marsgis.terrain.cellsize import CellSize, cell_size
    from marsgis.terrain.files import to_file
    from marsgis.terrain.hillshade import hillshade
    from marsgis.terrain.profile import line_profile
    from marsgis.terrain.regions import PRODUCTS, box_window, terrain_product, zonal_stats
    from marsgis.terrain.roughness import roughness
    from marsgis.terrain.slope import slope

__all__ = (
    "PRODUCTS",
    "CellSize",
    "aspect",
    "box_window",
    "cell_size",
    "hillshade",
    "line_profile",
    "roughness",
    "slope",
    "terrain_product",
    "to_file",
    "zonal_stats",
)

#: public name -> the module that defines it (imported on first use, PEP 562)
_LAZY = {
    "PRODUCTS": "marsgis.terrain.regions",
    "CellSize": "marsgis.terrain.cellsize",
    "aspect": "marsgis.terrain.aspect",
    "box_window": "marsgis.terrain.regions",
    "cell_size": "marsgis.terrain.cellsize",
    "hillshade": "marsgis.terrain.hillshade",
    "line_profile": "marsgis.terrain.profile",
    "roughness": "marsgis.terrain.roughness",
    "slope": "marsgis.terrain.slope",
    "terrain_product": "marsgis.terrain.regions",
    "to_file": "marsgis.terrain.files",
    "zonal_stats": "marsgis.terrain.regions",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'marsgis.terrain' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _TerrainPackage(types.ModuleType):
    """``marsgis.terrain.slope`` stays the function when its module ``slope.py`` is imported.

    Importing a submodule binds it as an attribute of its package; four modules share their
    name with the function they define (slope, aspect, roughness, hillshade), and that binding
    would hide the function behind the module. The module stays reachable in ``sys.modules``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _TerrainPackage
