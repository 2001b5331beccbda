"""environment.yml lists the same dependencies, with the same bounds, as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"psycopg2-binary": "psycopg2", "redis": "redis-py", "torch": "pytorch"}
CONDA_ONLY = {"python", "pip", "gdal", "libspatialite", "proj"}


def _parse(req: str) -> tuple[str, str]:
    # an environment marker (``; sys_platform != 'win32'``) has no conda equivalent: dropped
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*([^;]*)", req.strip())
    assert m, req
    return m.group(1).lower(), m.group(3).replace(" ", "")


def test_environment_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {}
    extras = [req for reqs in project["optional-dependencies"].values() for req in reqs]
    for req in project["dependencies"] + extras:
        name, spec = _parse(req)
        wanted[CONDA_NAMES.get(name, name)] = spec
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    listed = {}
    for dep in env["dependencies"]:
        assert isinstance(dep, str), f"pip sections are not used: {dep!r}"
        m = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", dep)
        assert m
        listed[m.group(1).lower()] = (
            m.group(2).lstrip("=") if m.group(1) == "python" else m.group(2)
        )
    extra = set(listed) - set(wanted) - CONDA_ONLY
    missing = set(wanted) - set(listed)
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"
    assert not extra, f"in environment.yml but not pyproject.toml: {sorted(extra)}"
    for name, spec in wanted.items():
        assert listed[name] == spec, (
            f"{name}: pyproject {spec!r} vs environment.yml {listed[name]!r}"
        )
    assert listed["python"].startswith("3.11")
