"""The top-level package: subpackages reachable lazily, and ``import marsgis`` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest

import marsgis

#: The heavy stacks ``import marsgis`` must not load (each is imported by the function needing it).
HEAVY = ("torch", "sqlalchemy", "ipyleaflet", "matplotlib", "dask.distributed")


def _modules_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return list(json.loads(out.splitlines()[-1]))


def test_import_marsgis_loads_no_heavy_stack() -> None:
    loaded = set(_modules_after("import marsgis"))
    assert sorted(loaded & set(HEAVY)) == []
    assert "marsgis.terrain" not in loaded


def test_subpackage_is_imported_on_first_attribute_access() -> None:
    loaded = set(_modules_after("import marsgis\nmarsgis.terrain.slope"))
    assert "marsgis.terrain.slope" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_terrain_slope_through_the_top_level_package() -> None:
    from marsgis.terrain import slope

    dem = marsgis.open_dem("gale-mola")
    via_package = marsgis.terrain.slope(dem)
    np.testing.assert_array_equal(via_package.values, slope(dem).values)


def test_dir_lists_the_subpackages_and_entry_points() -> None:
    names = dir(marsgis)
    for name in ("terrain", "planning", "ml", "viz", "reports", "db", "catalog", "io", "geo"):
        assert name in names
    assert {"open_dem", "sample", "set_options", "show_versions"} <= set(names)


def test_unknown_attribute_names_itself() -> None:
    with pytest.raises(AttributeError, match="'no_such_thing'"):
        marsgis.no_such_thing  # type: ignore[attr-defined]  # noqa: B018


def test_every_lazy_subpackage_imports() -> None:
    # in-process: the rest of the suite imports these anyway, so this costs nothing there
    names = [n for n in sorted(marsgis._SUBMODULES) if find_spec(f"marsgis.{n}") is not None]
    # every name but ``geo`` (its package arrives with the geometry work) must exist
    assert set(names) >= marsgis._SUBMODULES - {"geo"}
    assert [getattr(marsgis, n).__name__ for n in names] == [f"marsgis.{n}" for n in names]
