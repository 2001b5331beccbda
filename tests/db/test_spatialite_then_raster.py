"""Using the SpatiaLite store before opening a DEM works in one process (PROJ clash regression)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import marsgis

SNIPPET = """
from marsgis import db
db.list_missions(db={url!r})
import marsgis
print(float(marsgis.open_dem("gale-mola").mean()))
"""


def test_store_first_then_dem_in_a_fresh_process(tmp_path: Path) -> None:
    (tmp_path / "store.sqlite").touch()  # an empty store: the snippet migrates it first
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    proc = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(url=url)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = float(np.nanmean(marsgis.open_dem("gale-mola").values))
    assert abs(float(proc.stdout.strip().splitlines()[-1]) - expected) < 1e-3
