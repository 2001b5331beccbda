"""The package's dependency rules, read from its imports (AST), including function-level ones.

* ``marsgis.db`` is the only package that imports SQLAlchemy, GeoAlchemy2 or Alembic, or names a
  table (``marsgis.db.schema``).
* The computing layers (``marsgis.geo``, ``marsgis.terrain``, ``marsgis.planning``) and the
  station domain (``marsgis.station``) never import the store or the surfaces (``marsgis.db``,
  ``marsgis.viz``, ``marsgis.reports``, ``marsgis.cli``).
* ``marsgis.geo`` is a foundation: it imports no other marsgis package but ``crs`` and
  ``exceptions``.
* Private names do not cross modules: ``from marsgis.x import _name`` only names a module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "marsgis"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module (or module.name), dotted
    name: str | None  # the name imported with ``from``, if any
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split("."))
    base = PACKAGE.parent / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(here, alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                found.append(Import(here, f"{module}.{alias.name}", alias.name, node.lineno))
    return found


ALL_IMPORTS = [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in _imports(path)]


def _under(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith(prefix + ".")


def _where(imp: Import) -> str:
    return f"{imp.module} (line {imp.line}) imports {imp.target}"


def test_the_reader_sees_the_package() -> None:
    # the rules below would pass vacuously on an empty list: check the reader found real imports
    targets = {imp.target for imp in ALL_IMPORTS}
    assert "marsgis.db.schema.missions" in targets
    assert any(_under(t, "sqlalchemy") for t in targets)
    assert len({imp.module for imp in ALL_IMPORTS}) > 100


@pytest.mark.parametrize("library", ["sqlalchemy", "geoalchemy2", "alembic"])
def test_only_db_imports_the_database_libraries(library: str) -> None:
    offenders = [
        _where(imp)
        for imp in ALL_IMPORTS
        if _under(imp.target, library) and not _under(imp.module, "marsgis.db")
    ]
    assert offenders == []


def test_only_db_names_tables() -> None:
    offenders = [
        _where(imp)
        for imp in ALL_IMPORTS
        if _under(imp.target, "marsgis.db.schema") and not _under(imp.module, "marsgis.db")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "layer", ["marsgis.geo", "marsgis.terrain", "marsgis.planning", "marsgis.station"]
)
def test_computing_layers_do_not_import_store_or_surfaces(layer: str) -> None:
    forbidden = ("marsgis.db", "marsgis.viz", "marsgis.reports", "marsgis.cli")
    offenders = [
        _where(imp)
        for imp in ALL_IMPORTS
        if _under(imp.module, layer) and any(_under(imp.target, f) for f in forbidden)
    ]
    assert offenders == []


def test_geo_is_a_foundation() -> None:
    allowed = ("marsgis.geo", "marsgis.crs", "marsgis.exceptions")
    offenders = [
        _where(imp)
        for imp in ALL_IMPORTS
        if _under(imp.module, "marsgis.geo")
        and _under(imp.target, "marsgis")
        and not any(_under(imp.target, a) for a in allowed)
    ]
    assert offenders == []


def test_private_names_do_not_cross_modules() -> None:
    offenders = [
        _where(imp)
        for imp in ALL_IMPORTS
        if imp.name is not None
        and imp.name.startswith("_")
        and _under(imp.target, "marsgis")
        and not _is_module(imp.target)
    ]
    assert offenders == []
