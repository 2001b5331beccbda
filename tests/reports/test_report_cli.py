"""`marsgis report` and `marsgis scheduler` as a user runs them (subprocesses of the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from marsgis import reports

CLI = [str(Path(sys.executable).parent / "marsgis")]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=False, timeout=300)


def doc(out: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(out.stdout)


@pytest.mark.slow  # ~30 s: three CLI processes running a notebook (make test-slow)
def test_report_run_runs_show_list(tiny_report: Path) -> None:
    ok = run("report", "run", str(tiny_report), "-p", "label", "hi", "--json")
    assert ok.returncode == 0, ok.stderr
    good = doc(ok)
    assert good["status"] == "succeeded" and good["parameters"] == {"label": "hi"}
    assert "tiny report hi done" in Path(good["outputs"]["html"]).read_text(encoding="utf-8")

    bad = run("report", "run", str(tiny_report), "-p", "label", "x", "-p", "fail", "true", "--json")
    assert bad.returncode == 1
    failed = doc(bad)  # still one JSON document: the recorded run
    assert failed["status"] == "failed" and failed["parameters"] == {"label": "x", "fail": True}
    assert bad.stderr.startswith(f"error: report run {failed['id']} failed: ValueError: boom: x")

    refused = run("report", "run", "mission-plan", "--json")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: report 'mission-plan' needs parameter(s) 'mission_id'")
    message = refused.stderr.removeprefix("error: ").strip()  # --json: also one JSON document
    assert doc(refused) == {"error": {"type": "ValidationError", "message": message}}
    assert "Traceback" not in refused.stderr

    listed = doc(run("report", "runs", "--json"))
    assert [r["id"] for r in listed] == [failed["id"], good["id"]]  # newest first
    only_failed = doc(run("report", "runs", "--status", "failed", "--json"))
    assert [r["id"] for r in only_failed] == [failed["id"]]
    shown = run("report", "show", str(good["id"]))
    assert shown.returncode == 0
    assert f"html: {good['outputs']['html']}" in shown.stdout
    missing = run("report", "show", "999")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no report run with id 999")

    names = {r["name"]: r for r in doc(run("report", "list", "--json"))}
    assert names["mission-plan"]["required"] == ["mission_id"]
    assert set(names["mission-plan"]["parameters"]) == {"mission_id", "date"}


def test_schedule_add_list_remove(tiny_report: Path) -> None:
    bad = run(
        "report", "schedule", "add", "s1", str(tiny_report), "--cron", "nope", "-p", "label", "a"
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: cron expression 'nope' is not valid; use five fields")

    added = run(
        "report", "schedule", "add", "s1", str(tiny_report), "--cron", "0 6 * * *",
        "-p", "label", "a", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    schedule = doc(added)
    due = datetime.fromisoformat(schedule["next_run_at"])
    now = datetime.now(UTC)
    assert due.hour == 6 and due.minute == 0 and due.second == 0
    assert now < due <= now + timedelta(days=1)
    assert schedule["parameters"] == {"label": "a"} and schedule["enabled"] is True

    listed = doc(run("report", "schedule", "list", "--json"))
    assert [s["name"] for s in listed] == ["s1"]
    text = run("report", "schedule", "list").stdout
    assert "s1" in text and "0 6 * * *" in text

    removed = run("report", "schedule", "remove", "s1", "--json")
    assert removed.returncode == 0 and doc(removed)["removed"]["id"] == schedule["id"]
    assert doc(run("report", "schedule", "list", "--json")) == []
    again = run("report", "schedule", "remove", "s1")
    assert again.returncode == 2 and again.stderr.startswith("error: no report schedule 's1'")


def test_scheduler_once_runs_the_latest_missed_time(tiny_report: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    reports.add_schedule("every 10 s", tiny_report, "* * * * * */10", {"label": "b"}, start=start)
    out = run("scheduler", "--once", "--json")
    assert out.returncode == 0, out.stderr
    summary = doc(out)
    assert (summary["succeeded"], summary["failed"]) == (1, 0)
    (done,) = summary["runs"]
    due = datetime.fromisoformat(done["due_at"])
    assert due.second % 10 == 0
    missed = [datetime.fromisoformat(t) for t in done["outputs"]["missed_due_times"]]
    assert missed and all(t < due and t.second % 10 == 0 for t in missed)
    assert missed[0] == start + timedelta(seconds=10 - start.second % 10)  # first due after start
    assert done["schedule"] == "every 10 s"
    nothing = doc(run("scheduler", "--once", "--json"))  # the next time is not due yet
    assert nothing["runs"] == [] or nothing["runs"][0]["due_at"] > done["due_at"]
    bad = run("scheduler", "--once", "--interval", "0")
    assert bad.returncode == 2 and bad.stderr.startswith("error: interval 0.0 must be a positive")


def test_schedule_add_refuses_a_cron_that_never_fires_and_an_unknown_mission() -> None:
    ghost = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    never = run(
        "report", "schedule", "add", "s", "mission-plan", "--cron", "0 0 31 2 *",
        "-p", "mission_id", ghost,
    )  # fmt: skip
    assert never.returncode == 2
    assert never.stderr.startswith("error: cron expression '0 0 31 2 *' never fires")
    assert "Traceback" not in never.stderr
    unknown = run(
        "report", "schedule", "add", "s", "mission-plan", "--cron", "0 6 * * *",
        "-p", "mission_id", ghost,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(
        f"error: schedule 's': report 'mission-plan' is for mission_id={ghost!r}, but the "
        "database has no mission with that id"
    )
    assert "Traceback" not in unknown.stderr
    assert doc(run("report", "schedule", "list", "--json")) == []
