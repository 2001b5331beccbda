"""Running reports: the mission-plan report end to end, failures, timeouts, bad input."""

from __future__ import annotations

import contextvars
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from marsgis import reports
from marsgis.db import transaction
from marsgis.db.report_runs import insert_run
from marsgis.exceptions import DataNotFoundError, NotFoundError, ValidationError
from marsgis.planning import assess_risk


def _no_code(html: str) -> None:
    """The HTML export shows outputs only: no input areas, prompts or code, no remote scripts."""
    code_cells = re.findall(r'class="jp-Cell jp-CodeCell[^"]*"', html)
    assert code_cells and all("jp-mod-noInput" in c for c in code_cells)
    body = html.rsplit("</style>", maxsplit=1)[-1]
    assert "jp-InputPrompt" not in body and "jp-CodeMirrorEditor" not in body
    assert "hl-ipython3" not in body  # no highlighted source
    assert "reports.mission_report(" not in html and "# parameters" not in html
    assert "<script src=" not in html and "cdnjs" not in html


def test_mission_plan_report_end_to_end(db_url: str, gale_plan: Any, tmp_path: Path) -> None:
    from marsgis.db import save_plan

    stored = save_plan(gale_plan, db=db_url)
    run = reports.run_report(
        "mission-plan",
        {"mission_id": stored.mission.id, "date": "2026-03-01"},
        db=db_url,
        out_dir=tmp_path / "out",
    )
    assert run.status == "succeeded", run.error
    assert run.error is None
    assert run.parameters == {"mission_id": stored.mission.id, "date": "2026-03-01"}
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.html is not None and run.notebook is not None
    assert run.html.parent == run.notebook.parent
    assert run.html.parent.parent == tmp_path / "out" / "mission-plan"
    assert re.fullmatch(r"\d{8}T\d{6}Z-run\d+", run.html.parent.name)
    assert reports.get_run(run.id, db=db_url) == run
    assert [r.id for r in reports.list_runs(db=db_url)] == [run.id]

    html = run.html.read_text(encoding="utf-8")
    _no_code(html)
    assert "Report test: Gale landing" in html
    assert stored.mission.id in html
    # the risk on the report date, on the planned traverse, as assess_risk computes it
    expected = assess_risk(
        lat=gale_plan.lat, lon=gale_plan.lon, when="2026-03-01", traverse=gale_plan.traverse
    )
    assert f"Risk <strong>{expected.score:.4f} ({expected.level})</strong>" in html
    for value in expected.components.values():
        assert f"<td>{value:.4f}</td>" in html
    # and the risk stored at planning (landing date) beside it
    assert f"<td>{gale_plan.risk.score:.4f}</td>" in html
    assert "Drive leg 1" in html and "Review the msl landing ellipse" in html  # tasks
    assert html.count("data:image/png;base64,") >= 1  # the map, embedded
    executed = nbformat.read(run.notebook, as_version=4)
    assert [
        o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ] == []
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)


def test_mission_report_shows_terrain_risk_not_evaluated(
    spatialite_url: str, tmp_path: Path
) -> None:
    """A mission planned without a traverse or an ellipse: terrain risk is "not evaluated"."""
    import math

    import marsgis
    from marsgis import planning
    from marsgis.db import save_plan

    plan = planning.plan_mission(
        "No terrain",
        lat=-4.5895,
        lon=137.4417,
        dem=marsgis.open_dem("gale-mola"),
        when="2026-03-01",
        objectives=(
            "Characterise the sulfate-bearing unit on the lower slopes of Aeolis Mons",
            "Image the Vera Rubin ridge at every stop",
        ),
    )
    assert plan.risk is not None and plan.risk.not_evaluated == {
        "terrain": "no traverse or ellipse evaluation given"
    }
    stored = save_plan(plan, db=spatialite_url)
    report = reports.mission_report(stored.mission.id, when="2026-03-01", db=spatialite_url)
    expected = assess_risk(lat=-4.5895, lon=137.4417, when="2026-03-01")
    table = report.risk_table()
    assert math.isnan(table.loc["terrain", "report date"])
    assert math.isnan(table.loc["terrain", "at planning"])
    assert table.loc["terrain", "weight"] == 0.0
    assert table.loc["terrain", "note"] == "not evaluated; not evaluated at planning"
    assert table.loc["score", "report date"] == round(expected.score, 4)
    assert table.loc["score", "weight"] == 0.5  # season 0.25 + resources 0.25
    assert table.loc["season", "note"] == ""
    run = reports.run_report(
        "mission-plan",
        {"mission_id": stored.mission.id, "date": "2026-03-01"},
        db=spatialite_url,
        out_dir=tmp_path / "out",
    )
    assert run.status == "succeeded", run.error
    assert run.html is not None
    html = run.html.read_text(encoding="utf-8")
    assert "<strong>Terrain risk not evaluated</strong>" in html
    assert f"Risk <strong>{expected.score:.4f} ({expected.level})</strong>" in html
    assert "<td>not evaluated; not evaluated at planning</td>" in html
    # people's notation for the position, and the objectives in full (no "…")
    assert "<td>4.5895° S, 137.4417° E</td>" in html and "° N" not in html.split("<h2")[1]
    full = "; ".join(plan.objectives)
    assert f"<td>{full}</td>" in html


def test_failing_report_is_recorded(spatialite_url: str, tiny_report: Path) -> None:
    run = reports.run_report(tiny_report, {"label": "x", "fail": True}, db=spatialite_url)
    assert run.status == "failed"
    assert run.error is not None and run.error.startswith("ValueError: boom: x")
    assert run.finished_at is not None
    assert run.report == str(tiny_report)
    # the partly executed notebook and its HTML (with the traceback) are kept
    assert run.notebook is not None and run.notebook.exists()
    assert run.html is not None and "boom: x" in run.html.read_text(encoding="utf-8")
    assert reports.list_runs(status="failed", db=spatialite_url) == [run]
    assert reports.list_runs(status="succeeded", db=spatialite_url) == []


def test_timeout_stops_the_report(spatialite_url: str, tiny_report: Path) -> None:
    run = reports.run_report(
        tiny_report, {"label": "slow", "sleep_s": 60}, db=spatialite_url, timeout_s=6
    )
    assert run.status == "failed"
    assert run.error is not None and "did not finish within 6 s" in run.error
    assert run.duration_s is not None and run.duration_s < 30


def test_bad_input_is_refused_and_nothing_recorded(spatialite_url: str, tiny_report: Path) -> None:
    with pytest.raises(ValidationError, match=r"needs parameter\(s\) 'mission_id'.*-p mission_id"):
        reports.run_report("mission-plan", db=spatialite_url)
    with pytest.raises(ValidationError, match=r"no parameter\(s\) 'mision_id'.*date, mission_id"):
        reports.run_report("mission-plan", {"mision_id": "x"}, db=spatialite_url)
    with pytest.raises(DataNotFoundError, match=r"no report named 'mission-plans'.*mission-plan"):
        reports.run_report("mission-plans", db=spatialite_url)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        reports.run_report("/nowhere/report.ipynb", db=spatialite_url)
    with pytest.raises(ValidationError, match="not JSON values"):
        reports.run_report(tiny_report, {"label": float("nan")}, db=spatialite_url)
    with pytest.raises(ValidationError, match="timeout_s 0 must be a positive"):
        reports.run_report(tiny_report, {"label": "x"}, db=spatialite_url, timeout_s=0)
    assert reports.list_runs(db=spatialite_url) == []
    with pytest.raises(NotFoundError, match=r"no report run with id 7.*marsgis report runs"):
        reports.get_run(7, db=spatialite_url)


def test_unknown_mission_is_a_failed_run(spatialite_url: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    run = reports.run_report("mission-plan", {"mission_id": missing}, db=spatialite_url)
    assert run.status == "failed"
    assert run.error is not None and f"NotFoundError: no mission with id '{missing}'" in run.error


def test_runs_of_dead_processes_are_failed(spatialite_url: str, tiny_report: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_started = psutil.Process(dead.pid).create_time()
    dead.wait()
    me = psutil.Process()

    with transaction(spatialite_url, write=True) as conn:
        orphan = insert_run(
            report=str(tiny_report),
            parameters={"label": "x"},
            outputs={
                "runner": {"host": __import__("socket").gethostname(), "pid": dead.pid,
                           "pid_started": dead_started}
            },
            started_at=datetime.now(UTC),
            db=conn,
        )  # fmt: skip
        alive = insert_run(
            report=str(tiny_report),
            parameters={"label": "y"},
            outputs={"runner": reports.runs.runner_identity()},
            started_at=datetime.now(UTC),
            db=conn,
        )
    assert me.pid == alive.outputs["runner"]["pid"]
    failed = reports.fail_abandoned_runs(spatialite_url)
    assert [r.id for r in failed] == [orphan.id]
    assert failed[0].status == "failed"
    assert f"pid {dead.pid}" in (failed[0].error or "")
    assert reports.get_run(alive.id, db=spatialite_url).status == "running"


def test_list_reports_and_parameters() -> None:
    infos = {info.name: info for info in reports.list_reports()}
    plan = infos["mission-plan"]
    assert set(plan.parameters) == {"mission_id", "date"}
    assert plan.required == ("mission_id",)
    assert plan.parameters["date"]["default"] == "None"


def test_export_html_offline_without_inputs(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title $x^2$"),
            nbformat.v4.new_code_cell(
                "secret_code = 41 + 1\nsecret_code",
                execution_count=1,
                outputs=[
                    nbformat.v4.new_output(
                        "execute_result", data={"text/plain": "42"}, execution_count=1
                    )
                ],
            ),
        ]
    )
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    html = reports.export_html(path, tmp_path / "n.html").read_text(encoding="utf-8")
    assert "Title" in html and "42" in html
    assert "secret_code" not in html
    _no_code(html)


def test_runs_frame_tabulates_the_runs(spatialite_url: str) -> None:
    import pandas as pd

    from marsgis.db.report_runs import finish_run

    t0 = datetime(2026, 3, 1, 6, tzinfo=UTC)
    with transaction(spatialite_url, write=True) as conn:
        first = insert_run(
            report="a",
            parameters={"x": 1},
            outputs={"html": "/r/a.html", "missed_due_times": ["t1", "t2"]},
            started_at=t0,
            db=conn,
        )
        second = insert_run(
            report="b", parameters={}, outputs={}, started_at=t0 + timedelta(seconds=1), db=conn
        )
    finish_run(
        first.id,
        status="succeeded",
        outputs=first.outputs,
        error=None,
        finished_at=t0 + timedelta(seconds=30),
        db=spatialite_url,
    )
    frame = reports.runs_frame(db=spatialite_url)
    assert list(frame["id"]) == [second.id, first.id]  # newest first
    row = frame.set_index("id").loc[first.id]
    assert (row["report"], row["status"], row["duration_s"]) == ("a", "succeeded", 30.0)
    assert (row["missed"], row["parameters"], row["html"]) == (2, '{"x": 1}', "/r/a.html")
    assert row["started_at"] == pd.Timestamp("2026-03-01T06:00:00Z")
    assert pd.isna(frame.set_index("id").loc[second.id, "finished_at"])
    # runs already loaded give the same table
    pd.testing.assert_frame_equal(reports.runs_frame(reports.list_runs(db=spatialite_url)), frame)
    assert list(reports.runs_frame(db=spatialite_url, status="running")["id"]) == [second.id]
    with pytest.raises(ValidationError, match="either runs or the filters"):
        reports.runs_frame([first], status="failed")


_DIE_AT_START = """\
import os, sys
_marker = os.environ.get("MARSGIS_TEST_KERNEL_STARTS")
if _marker and "ipykernel_launcher" in " ".join(sys.orig_argv):
    with open(_marker, "a") as _f:
        _f.write("start\\n")
    with open(_marker) as _f:
        _starts = len(_f.readlines())
    if _starts <= int(os.environ["MARSGIS_TEST_KERNEL_DEATHS"]):
        sys.stderr.write(f"kernel start {_starts}: dying on purpose\\n")
        os._exit(3)
"""


@pytest.mark.parametrize("deaths", [1, 5])
def test_a_kernel_that_dies_at_start_is_started_once_more(
    spatialite_url: str,
    tiny_report: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    deaths: int,
) -> None:
    # a real kernel process that exits before answering (a start failure, no cell ran)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_DIE_AT_START, encoding="utf-8")
    starts = tmp_path / "starts.txt"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MARSGIS_TEST_KERNEL_STARTS", str(starts))
    monkeypatch.setenv("MARSGIS_TEST_KERNEL_DEATHS", str(deaths))
    run = reports.run_report(tiny_report, {"label": "again"}, db=spatialite_url)
    assert starts.read_text(encoding="utf-8").count("start") == 2  # never more than twice
    log = Path(run.outputs["kernel_log"]).read_text(encoding="utf-8")
    assert "kernel start 1: dying on purpose" in log and "--- kernel start 2" in log
    if deaths == 1:
        assert (run.status, run.error) == ("succeeded", None)
        assert "tiny report again done" in run.notebook.read_text(encoding="utf-8")
    else:
        assert run.status == "failed"
        assert "Kernel died before replying" in (run.error or "")
        assert "kernel start 2: dying on purpose" in log


def _one_cell_report(path: Path, source: str) -> Path:
    """A report notebook: an empty parameters cell, then ``source``."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(source),
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
    )
    nbformat.write(nb, path)
    return path


def test_a_failing_cell_is_not_run_twice(spatialite_url: str, tmp_path: Path) -> None:
    count = tmp_path / "cells.txt"
    source = (
        f"with open({str(count)!r}, 'a') as f:\n    f.write('ran\\n')\nraise ValueError('once')"
    )
    path = _one_cell_report(tmp_path / "counting.ipynb", source)
    run = reports.run_report(path, db=spatialite_url)
    assert run.status == "failed"
    assert (run.error or "").startswith("ValueError: once")
    assert count.read_text(encoding="utf-8") == "ran\n"


def test_the_kernel_talks_over_unix_sockets(spatialite_url: str, tmp_path: Path) -> None:
    # a TCP port picked free can be taken by another process before the kernel binds it
    source = (
        "import json, os, stat, ipykernel\n"
        "info = json.load(open(ipykernel.get_connection_file()))\n"
        "channels = ['shell', 'iopub', 'stdin', 'control', 'hb']\n"
        "paths = [f\"{info['ip']}-{info[c + '_port']}\" for c in channels]\n"
        "print(info['transport'], all(stat.S_ISSOCK(os.stat(p).st_mode) for p in paths))"
    )
    run = reports.run_report(
        _one_cell_report(tmp_path / "sockets.ipynb", source), db=spatialite_url
    )
    assert (run.status, run.error) == ("succeeded", None)
    executed = nbformat.read(str(run.notebook), as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == "ipc True"


def test_runs_started_in_copies_of_one_context_run_side_by_side(
    spatialite_url: str, tiny_report: Path
) -> None:
    # a server starts each run in a copy of its request's context (the API does, for the actor);
    # a report run earlier in that context must not hand its event loop to all of them
    first = reports.run_report(tiny_report, {"label": "here"}, db=spatialite_url)
    assert first.status == "succeeded"
    done: dict[str, Any] = {}

    def run(label: str) -> None:
        done[label] = reports.run_report(
            tiny_report, {"label": label, "sleep_s": 1.0}, db=spatialite_url
        )

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, label))
        for label in ("left", "right")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert {label: (r.status, r.error) for label, r in done.items()} == {
        "left": ("succeeded", None),
        "right": ("succeeded", None),
    }
    for label, r in done.items():
        assert f"tiny report {label} done" in r.notebook.read_text(encoding="utf-8")
