"""Every example in a marsgis docstring runs here, as part of the default ``pytest`` run.

Examples that need a server, the network or the user's own database carry
``# doctest: +SKIP`` in the docstring itself; everything else runs on the shipped data. The
store, the download cache and the reports directory point at a fresh temporary folder, so an
example never writes into the user's data dir.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import marsgis

#: Not examples to run: the Alembic migration scripts, and ``python -m marsgis`` (runs the CLI).
EXCLUDED = ("marsgis.db.migrations", "marsgis.__main__")

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["marsgis"]
    for info in pkgutil.walk_packages(marsgis.__path__, "marsgis."):
        if not any(info.name == ex or info.name.startswith(ex + ".") for ex in EXCLUDED):
            names.append(info.name)
    return sorted(names)


def _has_examples(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    return origin is not None and ">>>" in Path(origin).read_text(encoding="utf-8")


MODULES = [name for name in _modules() if _has_examples(name)]


@pytest.fixture
def _private_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user data dir, download cache and reports dir in a temporary folder."""
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MARSGIS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_module_with_examples_is_collected() -> None:
    # the modules whose docstrings hold the most-read examples
    for name in ("marsgis", "marsgis.terrain.slope", "marsgis.catalog._coverage"):
        assert name in MODULES


@pytest.mark.usefixtures("_private_store")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # `make test` installs every extra: a missing one is a failure
        pytest.fail(f"{name} needs {exc.name or exc}; install marsgis[dev,hub] to run its examples")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    for test in finder.find(module, name):  # each docstring runs in a copy of the module's globals
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)
