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
    browser = reports.ReportsBrowser(db=seeded["url"])
    assert [r.id for r in browser.runs] == [bad.id, good.id]
    assert browser.table.value.count('class="marsgis-run"') == 2
    assert browser.message.value == "2 run(s)"
    # the newest run opens first: a failed run shows its HTML with the traceback
    assert browser.run.value == bad.id
    assert "srcdoc=" in browser.viewer.value and "boom: broken" in browser.viewer.value
    browser.status.value = "succeeded"
    assert [r.id for r in browser.runs] == [good.id]
    assert browser.run.value == good.id
    page = html.unescape(browser.viewer.value.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert "tiny report fine done" in page
    assert page == Path(good.outputs["html"]).read_text(encoding="utf-8")
    assert browser.download.value.startswith('<a download="tiny-run')
    browser.status.value = "running"
    assert browser.runs == [] and browser.viewer.value == "<p>No runs to show.</p>"
    browser.status.value = "all"
    browser.report.value = str(seeded["good"].report)
    assert len(browser.runs) == 2


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
    good, bad = seeded["good"], seeded["bad"]
    rows = re.findall(r'<tr class="marsgis-run" data-run-id="(\d+)">(.*?)</tr>', rendered)
    assert [int(i) for i, _ in rows] == [bad.id, good.id]
    by_id = {int(i): row for i, row in rows}
    assert (
        ">succeeded<" in by_id[good.id] and "&quot;label&quot;: &quot;fine&quot;" in by_id[good.id]
    )
    assert ">failed<" in by_id[bad.id] and "ValueError: boom: broken" in by_id[bad.id]
    assert "nightly" in rendered and "0 2 * * *" in rendered  # the schedules table
    assert "application/vnd.jupyter.widget-view+json" in page.text  # the run viewer
