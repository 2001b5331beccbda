"""Real `marsgis scheduler` processes on schedules every few seconds.

* Two schedulers share a PostGIS database: runs are recorded, a failing report is isolated,
  a schedule never runs twice at once, and every due time is accounted for.
* A scheduler killed mid-run (SIGKILL to its process group, like a crashed container) and a
  new one started: the interrupted run is marked failed once its lease expires, nothing is
  duplicated and no due time is lost.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from croniter import croniter

from marsgis import reports
from marsgis.reports import ReportRun

CLI = str(Path(sys.executable).parent / "marsgis")


class Schedulers:
    """Starts scheduler processes and makes sure every one (and its children) is gone after."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.db_url, self.tmp_path = db_url, tmp_path
        self.procs: list[subprocess.Popen[str]] = []
        self.children: list[psutil.Process] = []

    def start(self, name: str, lease_s: float = 3.0) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "MARSGIS_DATABASE_URL": self.db_url,
            "MARSGIS_DATA_DIR": str(self.tmp_path / "data"),
            "MARSGIS_REPORTS_DIR": str(self.tmp_path / "reports"),
        }
        proc = subprocess.Popen(
            [CLI, "scheduler", "--interval", "1", "--lease", str(lease_s), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=(self.tmp_path / f"{name}.log").open("w"),
            text=True,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def descendants(self, proc: subprocess.Popen[str]) -> list[psutil.Process]:
        try:
            found = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.children += found
        return found

    def stop(self, proc: subprocess.Popen[str]) -> dict[str, Any]:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        summary: dict[str, Any] = json.loads(out)
        return summary

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.descendants(proc)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        for child in self.children:
            if child.is_running():
                child.kill()


@pytest.fixture
def schedulers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Schedulers]]:
    made: list[Schedulers] = []

    def make(db_url: str) -> Schedulers:
        made.append(Schedulers(db_url, tmp_path))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _runs(db_url: str, schedule: str) -> list[ReportRun]:
    return sorted(
        reports.list_runs(schedule=schedule, limit=None, db=db_url), key=lambda r: r.started_at
    )


def _check_history(runs: list[ReportRun], cron: str) -> None:
    """No duplicate, no overlap, and every due time from the first to the last accounted for."""
    dues = [r.due_at for r in runs]
    assert all(d is not None for d in dues)
    assert len(set(dues)) == len(dues), "a due time ran twice"
    for before, after in itertools.pairwise(runs):
        assert before.finished_at is not None
        assert after.started_at >= before.finished_at, "one schedule ran twice at once"
    covered = {d for d in dues if d is not None}
    for r in runs:
        covered |= {datetime.fromisoformat(t) for t in r.outputs.get("missed_due_times", [])}
    first, last = min(covered), max(covered)
    expected, it = [first], croniter(cron, first)
    while (t := it.get_next(datetime).astimezone(UTC)) <= last:
        expected.append(t)
    assert sorted(covered) == expected, "a due time was lost"


@pytest.mark.postgis
def test_two_schedulers_isolate_failures_and_never_double_run(
    postgis_url: str, tiny_report: Path, schedulers: Callable[[str], Schedulers]
) -> None:
    start = datetime.now(UTC)
    ok_cron, bad_cron = "* * * * * */2", "* * * * * */3"
    reports.add_schedule(
        "ok", tiny_report, ok_cron, {"label": "ok", "sleep_s": 1}, start=start, db=postgis_url
    )
    reports.add_schedule(
        "bad", tiny_report, bad_cron, {"label": "bad", "fail": True}, start=start, db=postgis_url
    )
    pool = schedulers(postgis_url)
    first, second = pool.start("a"), pool.start("b")

    def enough() -> bool:
        ok = [r for r in _runs(postgis_url, "ok") if r.status == "succeeded"]
        bad = [r for r in _runs(postgis_url, "bad") if r.status == "failed"]
        # what the last assertion checks: a good run started after the first failure ended
        # (not merely after it started: the other scheduler may run "ok" alongside it)
        first_bad_end = bad[0].finished_at if bad else None
        return (
            len(ok) >= 2
            and len(bad) >= 2
            and first_bad_end is not None
            and ok[-1].started_at > first_bad_end
        )

    _wait(enough, 90, "2 good and 2 failed runs, a good one after a failure")
    summaries = [pool.stop(first), pool.stop(second)]

    ok_runs, bad_runs = _runs(postgis_url, "ok"), _runs(postgis_url, "bad")
    assert {r.status for r in ok_runs} == {"succeeded"}  # none left running after SIGTERM
    assert {r.status for r in bad_runs} == {"failed"}
    assert all((r.error or "").startswith("ValueError: boom: bad") for r in bad_runs)
    assert all(r.html is not None and r.html.exists() for r in ok_runs)
    # the failures did not stop the scheduler: good runs went on after the first failure
    assert any(r.started_at > bad_runs[0].finished_at for r in ok_runs)  # type: ignore[operator]
    _check_history(ok_runs, ok_cron)
    _check_history(bad_runs, bad_cron)
    reported = sorted(r["id"] for s in summaries for r in s["runs"])
    assert reported == sorted(r.id for r in ok_runs + bad_runs)  # each run by one scheduler
    assert {s["schedule_id"] for s in summaries[0]["runs"] + summaries[1]["runs"]} == {
        ok_runs[0].schedule_id,
        bad_runs[0].schedule_id,
    }


@pytest.mark.slow  # ~20 s: kills and restarts schedulers (make test-slow)
def test_restart_after_a_kill_neither_duplicates_nor_loses(
    spatialite_url: str, tiny_report: Path, schedulers: Callable[[str], Schedulers]
) -> None:
    cron = "* * * * * */2"
    reports.add_schedule(
        "slow",
        tiny_report,
        cron,
        {"label": "slow", "sleep_s": 2},
        start=datetime.now(UTC),
        db=spatialite_url,
    )
    pool = schedulers(spatialite_url)
    crashed = pool.start("a", lease_s=2)
    _wait(
        lambda: (
            any(r.status == "running" for r in _runs(spatialite_url, "slow"))
            and bool(pool.descendants(crashed))
        ),
        60,
        "a run in its kernel",
    )
    time.sleep(1.0)  # into the notebook
    orphans = pool.descendants(crashed)
    assert orphans, "the report runs in a kernel process"
    os.killpg(crashed.pid, signal.SIGKILL)
    crashed.wait(timeout=30)
    killed = [r for r in _runs(spatialite_url, "slow") if r.status == "running"]
    assert len(killed) == 1
    victim = killed[0]
    # the killed scheduler's report processes do not outlive it
    _, alive = psutil.wait_procs(orphans, timeout=15)
    assert alive == []

    restarted = pool.start("b", lease_s=2)

    def recovered() -> bool:
        runs = _runs(spatialite_url, "slow")
        after = [r for r in runs if r.started_at > victim.started_at and r.status == "succeeded"]
        return reports.get_run(victim.id, db=spatialite_url).status == "failed" and len(after) >= 1

    _wait(recovered, 90, "the recovery and a new run")
    pool.stop(restarted)

    runs = _runs(spatialite_url, "slow")
    failed = reports.get_run(victim.id, db=spatialite_url)
    assert failed.error is not None
    assert "interrupted: the scheduler" in failed.error and "lease" in failed.error
    assert failed.finished_at is not None
    # the lease ran out before anyone touched the schedule again
    assert failed.finished_at >= victim.started_at + timedelta(seconds=2)
    assert [r.status for r in runs if r.id != victim.id] == ["succeeded"] * (len(runs) - 1)
    _check_history(runs, cron)
