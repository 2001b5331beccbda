"""The events section of ``make bench`` runs end to end at a tiny size (timings not asserted).

A real ``marsgis serve`` over a fresh PostGIS database, WebSocket clients and a writer process:
every client must have received exactly the writer's events, in order, and the doc block must
carry the two rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_events  # noqa: E402
import run as bench_run  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.setenv("MARSGIS_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)


@pytest.mark.slow  # ~18 s: a benchmark section (make test-slow)
@pytest.mark.postgis
def test_events_section_runs_end_to_end(tmp_path: Path) -> None:
    res = bench_events.measure(tmp_path, subscribers=3, events=7, rate=50.0)
    for run, subscribers, count in ((res["one"], 1, 7), (res["many"], 3, 7)):
        assert len(run.clients) == subscribers and len(run.expected) == count
        assert len(run.commit_times) == count
        assert all(c.ids == run.expected for c in run.clients), [c.error for c in run.clients]
        assert run.complete() == subscribers
        assert all(c.resyncs == 0 and c.error is None for c in run.clients)
        # one latency per delivered message
        assert run.latencies_ms().shape == (subscribers * count,)
    # the second run follows on from the first in the same log
    assert res["many"].expected[0] > res["one"].expected[-1]
    section = bench_events.to_section(res, bench_run.Row, bench_run.Section)
    block = bench_run.render("events", section, "2026-01-01", "test (1 CPU)", "idle")
    assert "| 3 / 3 (21 messages; 0 resyncs) |" in block
    assert section.rows[0].passed is True
    assert block.startswith("<!-- bench:events -->") and block.endswith("<!-- /bench:events -->")
