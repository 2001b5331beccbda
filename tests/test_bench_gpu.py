"""The GPU section of ``make bench``: rows that no CUDA device measured say so, and why.

Issue #17: "a GPU row measured nowhere stays marked 'not measured'". On a machine with CuPy
and a CUDA torch the same section measures instead (``python benchmarks/run.py --only gpu``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_gpu  # noqa: E402
import run as bench_run  # noqa: E402


def _cuda_here() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def test_without_cuda_the_gpu_rows_say_not_measured_and_why(tmp_path: Path) -> None:
    if _cuda_here():  # a CUDA machine measures these rows: `make bench`, not this test
        pytest.skip("CUDA present: the GPU section measures (benchmarks/run.py --only gpu)")
    reason = bench_gpu.cuda_unavailable()
    if importlib.util.find_spec("cupy") is None:
        assert reason == "CuPy is not installed (No module named 'cupy')"
    else:  # CuPy without a device, or a CPU build of torch
        assert reason is not None and "no CUDA" in reason

    ctx = bench_run.Context(tmp=tmp_path, repeats=1)
    section = bench_run.BENCHMARKS["gpu"](ctx)
    assert [(r.ours, r.reference, r.ratio, r.passed) for r in section.rows] == [
        ("not measured", "—", "—", None),
        ("not measured", "—", "—", None),
    ]
    assert "CuPy-backed 8192² float32" in section.rows[0].measurement
    assert 'device="cuda"' in section.rows[1].measurement
    assert section.notes == [
        f"Not measured on this machine: {reason}. These rows are only ever filled by a run on "
        "a CUDA device, named in them (`python benchmarks/run.py --only gpu`; the "
        "`gpu`-marked tests are `make test-gpu`)."
    ]
    assert ctx.cache == {}  # nothing was built: the 8192² input is made only to measure

    block = bench_run.render("gpu", section, "2026-12-06", "2 CPU (test)", "idle")
    assert block.count("| not measured | — | — | — | — |") == 2
