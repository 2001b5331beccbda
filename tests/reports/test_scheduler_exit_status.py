"""``marsgis scheduler --once`` exits 1 when a report of its pass ran and failed, as ``report run``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from marsgis import reports
from marsgis.cli import main


def test_once_pass_with_a_failed_run_exits_1(tiny_report: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    reports.add_schedule(
        "failing", tiny_report, "* * * * * */10", {"label": "z", "fail": True}, start=start
    )
    result = CliRunner().invoke(main, ["scheduler", "--once", "--json"])
    assert result.exit_code == 1, (result.stdout, result.stderr)
    summary = json.loads(result.stdout)  # the pass's runs, printed all the same
    assert (summary["succeeded"], summary["failed"]) == (0, 1)
    (run,) = summary["runs"]
    assert run["status"] == "failed" and run["error"].startswith("ValueError: boom: z")
    assert result.stderr.splitlines()[-1] == (
        f"error: 1 of 1 scheduled report run(s) failed: run {run['id']} [failing]: {run['error']}"
    )
    assert "Traceback" not in result.stderr
    # the run is recorded failed, as a report run that started and failed
    assert reports.get_run(run["id"]).status == "failed"
