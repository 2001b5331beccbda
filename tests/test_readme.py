"""README is the front door: its tour runs as written, and CI calls its test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _tour() -> str:
    section = README.split("## A 5-minute tour", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's tour has no python block"
    # the remote COG line needs a network; everything else runs on the shipped data
    return "\n".join(line for line in match.group(1).splitlines() if "https://" not in line)


def test_tour_runs_as_written(tmp_path: Path) -> None:
    """The tour pasted into a script (no ``if __name__ == "__main__":``) runs once.

    As ``python tour.py``, dask's spawned worker processes would re-import ``__main__`` and
    re-run the whole tour in each worker; ``marsgis.compute.client()`` uses threads then, so
    the store holds exactly one tour mission and one report run.
    """
    env = {
        **os.environ,
        "MARSGIS_DATA_DIR": str(tmp_path / "data"),
        "MARSGIS_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("MARSGIS_DATABASE_URL", None)
    script = tmp_path / "tour.py"
    script.write_text(
        _tour() + "\nprint('tour-ok', route['length_m'].sum() > route['great_circle_m'].sum())\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,  # the tour is read from the repository root, as README says
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "tour-ok True"
    assert proc.stdout.count("tour-ok") == 1
    runs = list((tmp_path / "data" / "reports" / "mission-plan").glob("*/mission-plan.html"))
    assert len(runs) == 1

    from marsgis import db, reports

    store = f"sqlite:///{tmp_path / 'data' / 'marsgis.sqlite'}"  # the default store's place
    names = sorted(m.name for m in db.list_missions(db=store))
    assert names == ["Gale landing", "Gale traverse"]  # add_mission and save_plan, once each
    assert len(reports.list_runs(db=store)) == 1


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"^make (\w[\w-]*)\s+#", README, re.M)
    assert commands[:2] == ["demo", "test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
