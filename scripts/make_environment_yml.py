"""Write environment.yml (conda-forge) from pyproject.toml's dependencies.

Run after changing dependencies: ``.venv/bin/python scripts/make_environment_yml.py``.
tests/test_environment.py checks that the two files agree.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"psycopg2-binary": "psycopg2", "redis": "redis-py", "torch": "pytorch"}
#: conda-only pieces (the system libraries pip wheels bundle) listed first.
CONDA_ONLY = ["python=3.11", "pip", "gdal", "libspatialite", "proj"]


def split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req.strip())
    assert m, req
    return m.group(1).lower(), m.group(3).replace(" ", "")


def conda_lines(reqs: list[str]) -> list[str]:
    out = []
    for req in reqs:
        name, spec = split(req)
        out.append(f"{CONDA_NAMES.get(name, name)}{spec}")
    return out


def render() -> str:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = conda_lines(meta["dependencies"])
    extras = meta["optional-dependencies"]
    lines = [
        "# Generated from pyproject.toml by scripts/make_environment_yml.py; do not edit by hand.",
        "# conda env create -f environment.yml && conda activate marsgis && pip install -e . --no-deps",
        "name: marsgis",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        *[f"  - {d}" for d in CONDA_ONLY],
        "  # runtime (pyproject [project.dependencies])",
        *[f"  - {d}" for d in deps],
    ]
    for extra, reqs in extras.items():
        lines.append(f"  # {extra} (pyproject [project.optional-dependencies] {extra})")
        lines.extend(f"  - {d}" for d in conda_lines(reqs))
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(render())
    print("wrote", ROOT / "environment.yml")
