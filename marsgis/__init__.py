"""marsgis: notebook-first Mars terrain analysis and mission planning.

>>> import marsgis
>>> dem = marsgis.open_dem("mola")          # MOLA MEGDR, IAU_2015:49900
>>> round(float(marsgis.sample(dem, lat=-4.5895, lon=137.4417)), 1)  # metres, MOLA areoid
-4333.3
>>> slope = marsgis.terrain.slope(marsgis.open_dem("gale-mola"))  # no import of its own
>>> round(float(slope.max()), 1)
42.0

The entry points and the subpackages (``marsgis.terrain``, ``marsgis.planning``, …) are
imported on first use (PEP 562), so ``import marsgis`` stays quick: it loads neither xarray nor
numpy, torch, SQLAlchemy or the map widgets (the ``marsgis`` command starts in a fraction of a
second). The ``.mars`` DataArray accessor is registered as soon as xarray is imported — at once
when it already is, otherwise by a one-shot import hook (:mod:`marsgis._accessor_hook`) — so
``xr.DataArray(...).mars`` works after ``import marsgis`` whichever is imported first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from marsgis._accessor_hook import register_accessor_when_xarray_loads
from marsgis._options import get_option, set_options

if TYPE_CHECKING:
    from marsgis import (  # noqa: F401
        catalog,
        cli,
        compute,
        config,
        crs,
        data,
        db,
        exceptions,
        geo,
        io,
        ml,
        planning,
        reports,
        sampling,
        terrain,
        viz,
    )
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

#: Entry points: name -> the module that defines it.
_LAZY = {
    "open_dem": "marsgis.io.raster",
    "sample": "marsgis.sampling",
    "gazetteer": "marsgis.io.vector",
    "open_features": "marsgis.io.vector",
    "show_versions": "marsgis._show_versions",
}

#: Subpackages and modules reachable as ``marsgis.<name>`` without an import of their own.
_SUBMODULES = frozenset(
    {
        "api",
        "catalog",
        "cli",
        "compute",
        "config",
        "crs",
        "data",
        "db",
        "exceptions",
        "geo",
        "io",
        "ml",
        "planning",
        "reports",
        "sampling",
        "terrain",
        "viz",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"marsgis.{name}")
    else:
        raise AttributeError(f"module 'marsgis' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


register_accessor_when_xarray_loads()
