"""Register the ``.mars`` DataArray accessor when xarray is imported, not before.

``import marsgis`` must stay cheap (the CLI's start-up), and xarray with pandas costs about
half a second, so :mod:`marsgis.accessor` is imported only once xarray is: right away when
xarray is already in ``sys.modules``, otherwise by a finder on ``sys.meta_path`` that wraps
xarray's loader once and removes itself after registering the accessor.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["register_accessor_when_xarray_loads"]


def _register() -> None:
    importlib.import_module("marsgis.accessor")


class _AccessorOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps xarray's loader so the accessor follows xarray's import."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "xarray":
            return None
        _remove_hook()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader: Any = spec.loader
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            _register()

        loader.exec_module = exec_then_register
        return spec


def _remove_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AccessorOnImport)]


def register_accessor_when_xarray_loads() -> None:
    """Register ``.mars`` now if xarray is loaded, else as soon as it is imported."""
    if "xarray" in sys.modules:
        _register()
    elif not any(isinstance(f, _AccessorOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AccessorOnImport())
