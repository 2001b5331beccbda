"""The reports dashboard: its widgets in Python, and the page a real Voila server renders."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from marsgis import reports

ROOT = Path(__file__).resolve().parents[2]
VOILA = str(Path(sys.executable).parent / "voila")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, tiny_report: Path) -> dict[str, Any]:
    """A SpatiaLite store with one succeeded, one failed and one scheduled (failed) run."""
    tmp = tmp_path_factory.mktemp("reports-dashboard")
    url = f"sqlite:///{tmp / 'marsgis.sqlite'}"
    from marsgis import db

    db.upgrade(url)  # an explicit SpatiaLite URL must name an existing store
    out = tmp / "reports"
    good = reports.run_report(tiny_report, {"label": "fine"}, db=url, out_dir=out)
    bad = reports.run_report(tiny_report, {"label": "broken", "fail": True}, db=url, out_dir=out)
    reports.add_schedule("nightly", tiny_report, "0 2 * * *", {"label": "n"}, db=url)
    from marsgis.db import dispose_engines

    dispose_engines()
    return {"url": url, "tmp": tmp, "good": good, "bad": bad}


def test_browser_widgets_filter_and_open_runs(seeded: dict[str, Any]) -> None:
    good, bad = seeded["good"], seeded["bad"]
    browser = reports.ReportsBrowser(db=seeded["url"], person="ada")
    try:
        assert [r.id for r in browser.runs] == [bad.id, good.id]
        assert browser.message.value == "2 run(s)"
        assert "marsgis-runs" not in browser.widget.children[0].value  # no runs table
        # the newest *successful* run opens first, not the newer failed one
        assert browser.run.value == good.id
        assert "srcdoc=" in browser.viewer.value and browser.failure.value == ""
        page = html.unescape(browser.viewer.value.split('srcdoc="', 1)[1].split('" style=', 1)[0])
        assert "tiny report fine done" in page
        assert page == Path(good.outputs["html"]).read_text(encoding="utf-8")
        assert browser.download.value.startswith('<a download="tiny-run')
        assert "data-status='succeeded'" in browser.state.value
        # a failed run: one line (the exception), the full error behind a closed toggle
        browser.run.value = bad.id
        assert "The report failed: ValueError: boom: broken" in browser.failure.value
        assert "Traceback" not in browser.failure.value and "Traceback" not in browser.viewer.value
        assert browser.failure_details.layout.display == ""
        assert browser.failure_details.selected_index is None  # closed until asked
        details = html.unescape(browser.failure_text.value)
        assert f"<pre style='white-space:pre-wrap'>{bad.error}</pre>" in details
        # the executed notebook (with its traceback) is in the details, not on the page
        assert Path(bad.outputs["html"]).read_text(encoding="utf-8") in details
        assert "Traceback" in details
        browser.status.value = "succeeded"
        assert [r.id for r in browser.runs] == [good.id]
        assert browser.run.value == good.id
        browser.status.value = "running"
        assert browser.runs == [] and browser.viewer.value == "<p>No runs to show.</p>"
        browser.status.value = "all"
        browser.report.value = str(seeded["good"].report)
        assert len(browser.runs) == 2
        assert "nightly" in browser.schedules.value and "0 2 * * *" in browser.schedules.value
    finally:
        browser.close()


def test_failure_line_is_the_last_line_of_the_error() -> None:
    from marsgis.reports.dashboard import failure_line

    error = "Traceback (most recent call last):\n  File x\nValueError: boom: broken\n\n"
    assert failure_line(error) == "ValueError: boom: broken"
    assert failure_line("") == "no error was recorded"


def _wait_for(check: Any, what: str, limit_s: float) -> None:
    """Poll ``check()`` until true; a generous bound, not a timing assertion."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {limit_s} s: {what}")
        time.sleep(0.1)


def _run_now_and_follow(url: str, mission: Any, person: str) -> None:
    """Run now as ``person`` on ``url``: the run is recorded, followed live, and opens."""
    browser = reports.ReportsBrowser(db=url, person=person)
    try:
        assert not browser.run_now.disabled and browser.run_now_note.value == ""
        assert browser.new_report.value == "mission-plan"
        labels = dict(browser.new_mission.options)
        assert labels[f"{mission.name} · {mission.status}"] == mission.id  # by name, not id
        browser.new_mission.value = mission.id
        browser.run_now.click()
        runs = reports.list_runs(db=url)
        assert len(runs) == 1 and runs[0].parameters == {"mission_id": mission.id}
        run_id = runs[0].id
        assert browser.run.value == run_id
        label = dict((v, k) for k, v in browser.run.options)[run_id]
        assert f"mission-plan · {mission.name} · " in label and mission.id not in label
        # the run finishes in its thread; the event moves the open run to its final state
        _wait_for(lambda: "data-status='running'" not in browser.state.value, "the run end", 300)
        stored = reports.get_run(run_id, db=url)
        assert stored.status == "succeeded", stored.error
        _wait_for(lambda: "srcdoc=" in browser.viewer.value, "the report opened", 30)
        assert "data-status='succeeded'" in browser.state.value
        assert html.escape(mission.name) in browser.viewer.value
        # the report reads as a report: usage notes (CLI) only at the end, after the content
        page = Path(stored.outputs["html"]).read_text(encoding="utf-8")
        assert page.index("Status history") < page.index("About this report")
        assert page.index("marsgis report run") > page.index("Status history")
    finally:
        browser.close()


def test_run_now_on_spatialite(spatialite_url: str, gale_plan: Any) -> None:
    from marsgis import db

    mission = db.save_plan(gale_plan, db=spatialite_url).mission
    _run_now_and_follow(spatialite_url, mission, "ada")


@pytest.mark.postgis
def test_run_now_follows_the_database_role(postgis_url: str, gale_plan: Any) -> None:
    import uuid

    from marsgis import db
    from marsgis.db import roles

    prefix = f"mgr{uuid.uuid4().hex[:8]}"
    roles.ensure_roles(postgis_url, prefix=prefix)
    try:
        urls = {}
        for level in ("viewer", "operator", "scientist"):
            password = roles.derive_password("test-secret", level)
            name = roles.grant_user(
                postgis_url, f"rep_{level}", level, password=password, prefix=prefix
            )
            urls[level] = roles.user_database_url(postgis_url, name, password)
        mission = db.save_plan(gale_plan, db=urls["scientist"]).mission

        looker = reports.ReportsBrowser(db=urls["viewer"], person="vera")
        try:
            assert looker.run_now.disabled
            assert "Running a report needs the operator or scientist role" in (
                looker.run_now_note.value
            )
            assert "vera · viewer (read-only)" in looker.widget.children[0].value
            assert looker.start() is None  # asked directly: refused, nothing recorded
            assert "needs the operator or scientist role" in looker.status_line.message
            assert reports.list_runs(db=postgis_url) == []
        finally:
            looker.close()

        _run_now_and_follow(urls["operator"], mission, "olga")
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)


def test_reports_dashboard_follows_runs_recorded_elsewhere(
    seeded: dict[str, Any], tiny_report: Path
) -> None:
    import threading

    url = seeded["url"]
    browser = reports.ReportsBrowser(db=url, person="ada")
    try:
        before = {r.id for r in browser.runs}
        # another process (here a thread with its own connection) runs a slow report
        worker = threading.Thread(
            target=reports.run_report,
            args=(tiny_report, {"label": "live", "sleep_s": 3.0}),
            kwargs={"db": url, "out_dir": seeded["tmp"] / "reports"},
        )
        worker.start()
        _wait_for(lambda: {r.id for r in browser.runs} - before, "the new run listed", 60)
        (new_id,) = {r.id for r in browser.runs} - before
        browser.run.value = new_id
        assert "data-status='running'" in browser.state.value or "succeeded" in browser.state.value
        worker.join(120)
        _wait_for(lambda: "data-status='succeeded'" in browser.state.value, "run succeeded", 30)
        assert browser.run.value == new_id
        _wait_for(lambda: "tiny report live done" in html.unescape(browser.viewer.value), "", 30)
    finally:
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def voila_server(seeded: dict[str, Any]) -> Iterator[str]:
    port = _free_port()
    tmp: Path = seeded["tmp"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARSGIS_", "JUPYTER", "JPY_"))}
    env.update(
        MARSGIS_DATABASE_URL=seeded["url"],
        MARSGIS_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
    )
    log = (tmp / "voila.log").open("w")
    proc = subprocess.Popen(
        [VOILA, str(ROOT / "dashboards" / "reports.ipynb"), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "api/status", timeout=2)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp / "voila.log").read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_voila_renders_the_runs(voila_server: str, seeded: dict[str, Any]) -> None:
    page = requests.get(voila_server, timeout=120)
    assert page.status_code == 200
    outputs = [
        json.loads(block)
        for block in re.findall(
            r'<script type="application/vnd.voila.cell-output\+json">\s*(.*?)\s*</script>',
            page.text,
            flags=re.DOTALL,
        )
    ]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    rendered = "\n".join(
        str(o.get("data", {}).get("text/html", "")) + str(o.get("data", {}).get("text/plain", ""))
        for o in outputs
    )
    assert "marsgis report run" not in page.text  # no CLI instructions on the page
    assert 'class="marsgis-runs"' not in rendered  # no static runs table: the widget only
    assert "application/vnd.jupyter.widget-view+json" in page.text  # the run browser
