"""compute.client() in a script without a ``__main__`` guard: the script runs once.

dask starts LocalCluster workers with ``spawn``, which re-imports ``__main__``: an unguarded
script would run again in every worker. ``client()`` then uses threads (one process); where
nothing would be re-run (``python -c``, a notebook kernel) it keeps worker processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BODY = """
print("top-level ran")
from marsgis.compute import client, main_reruns_in_workers
with client(n_workers=2) as c:
    own = {os.getpid()} | set(c.run(os.getpid).values())
    print("reruns", main_reruns_in_workers(), "workers", len(c.scheduler_info()["workers"]),
          "processes", len(own))
"""


def _run(args: list[str], tmp_path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_unguarded_script_runs_once_on_threads(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text("import os\n" + BODY)
    out = _run([str(script)], tmp_path)
    assert out.count("top-level ran") == 1, out
    assert "reruns True workers 2 processes 1" in out  # two workers, threads of this process


def test_python_c_keeps_worker_processes(tmp_path: Path) -> None:
    out = _run(["-c", "import os\n" + BODY], tmp_path)
    assert out.count("top-level ran") == 1, out
    assert "reruns False workers 2 processes 3" in out  # this process and two workers
