"""A wheel install (what the hub images do) carries the report notebooks and the shipped data.

Builds the wheel from this checkout, installs it into a folder of its own and imports marsgis
from there, away from the source tree, so nothing can be found through ``notebooks/`` or an
editable install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pip(cwd: Path, command: str, *args: str) -> None:
    """``pip <command> -q --no-deps <args>`` with this interpreter (no network needed)."""
    subprocess.run(
        [sys.executable, "-m", "pip", command, "-q", "--no-deps", *args],
        check=True,
        cwd=cwd,
        capture_output=True,
    )


def test_wheel_install_finds_the_shipped_reports(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _pip(tmp_path, "wheel", "--no-build-isolation", "-w", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("marsgis-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (ROOT / "marsgis" / "reports" / "notebooks").glob("*.ipynb"))
    assert "mission-plan.ipynb" in shipped
    for name in shipped:
        assert f"marsgis/reports/notebooks/{name}" in names
    for needed in (
        "marsgis/data/models/terrain-classifier/1/model.pt",
        "marsgis/db/migrations/env.py",
        "marsgis/py.typed",
    ):
        assert needed in names, needed

    target = tmp_path / "site"
    _pip(tmp_path, "install", "--no-compile", "--target", str(target), str(wheel))
    probe = (
        "import json, marsgis, marsgis.reports as r; "
        "print(json.dumps({'module': marsgis.__file__, "
        "'reports': {i.name: str(i.path) for i in r.list_reports()}, "
        "'required': r.report_info('mission-plan').required}))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, cwd=tmp_path, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    got = json.loads(out.stdout)
    assert Path(got["module"]).is_relative_to(target)
    assert sorted(got["reports"]) == [Path(n).stem for n in shipped]
    for path in got["reports"].values():
        assert Path(path).is_relative_to(target / "marsgis" / "reports" / "notebooks")
    assert got["required"] == ["mission_id"]
