"""The platform end to end: the real hub, proxy, dask-gateway, Voila and PostGIS on localhost.

One hub (tests/hub/conftest.py) serves the whole module:

* users and groups are made through the hub's REST API with the automation token;
* the scientist's server runs a kernel (jupyter-server REST + websocket API, through the hub
  proxy, with the scientist's token) that opens a dask-gateway cluster with
  ``marsgis.compute.client()`` and no configuration, computes the slope of the shipped MOLA grid
  on the cluster's workers, and creates a mission as the scientist's own database role;
* an operator signs up, is approved by an admin, logs in and lands on the dashboards (hub
  OAuth), opens the mission board in headless Chromium and changes the mission's status with
  the board's controls, written as the operator's database role;
* a viewer opens a page that makes the same change and PostgreSQL refuses it; the mission is
  unchanged.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import requests
import websocket

import marsgis
from marsgis import db
from marsgis.db import roles
from marsgis.terrain import slope

pytestmark = pytest.mark.hub

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "gale-crater-2012-aeolis"
CHROMIUM = "/usr/bin/chromium"  # NativeAuthenticator: long, not a common password


# ------------------------------------------------------------------------------ kernel client


class Kernel:
    """A kernel in a user's server, driven through the hub proxy (REST + websocket)."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.headers = base, {"Authorization": f"token {token}"}
        r = requests.post(f"{base}/api/kernels", headers=self.headers, json={}, timeout=120)
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        self.session = uuid.uuid4().hex

    def _connect(self) -> Any:
        # a websocket per call: an idle one is closed by the server's ping timeout (90 s),
        # as this client answers pings only while it reads
        ws_url = self.base.replace("http://", "ws://") + f"/api/kernels/{self.id}/channels"
        return websocket.create_connection(
            ws_url, header=[f"{k}: {v}" for k, v in self.headers.items()], timeout=300
        )

    def run(self, code: str, timeout: float = 300) -> str:
        """Execute ``code``; return its stdout, or fail with the kernel's traceback."""
        ws = self._connect()
        try:
            return self._run(ws, code, timeout)
        finally:
            ws.close()

    def _run(self, ws: Any, code: str, timeout: float) -> str:
        msg_id = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "session": self.session,
                        "username": "test",
                        "version": "5.3",
                        "date": datetime.now(UTC).isoformat(),
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out, error, replied, idle = [], None, False, False
        deadline = time.monotonic() + timeout
        while not (replied and idle):
            assert time.monotonic() < deadline, f"no reply in {timeout} s; output: {out}"
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                error = "\n".join(msg["content"]["traceback"])
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
        assert error is None, re.sub(r"\x1b\[[0-9;]*m", "", error or "")
        return "".join(out)

    def result(self, code: str, timeout: float = 300) -> Any:
        """Run ``code``, which prints ``RESULT <json>``; return the JSON."""
        out = self.run(code, timeout)
        found = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
        assert found, out
        return json.loads(found.group(1))

    def close(self) -> None:
        requests.delete(f"{self.base}/api/kernels/{self.id}", headers=self.headers, timeout=60)


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def people(hub: Any) -> dict[str, str]:
    """Users made through the REST API, in their groups; name -> API token."""
    names = {"sci": "scientists", "op": "operators", "view": "viewers", "outsider": None}
    r = hub.api("POST", "/users", json={"usernames": list(names)})
    assert r.status_code == 201, r.text
    for name, group in names.items():
        if group:
            r = hub.api("POST", f"/groups/{group}/users", json={"users": [name]})
            assert r.status_code == 200, r.text
    return {name: hub.user_token(name) for name in names}


@pytest.fixture(scope="module")
def kernel(hub: Any, people: dict[str, str]) -> Iterator[Kernel]:
    """A kernel in the scientist's server, started through the REST API."""
    r = hub.api("POST", "/users/sci/server")
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 180
    while True:
        server = hub.api("GET", "/users/sci").json()["servers"].get("")
        if server and server["ready"]:
            break
        assert time.monotonic() < deadline, hub.log.read_text()[-4000:]
        time.sleep(0.5)
    k = Kernel(f"{hub.url}/user/sci", people["sci"])
    try:
        yield k
    finally:
        k.close()
        hub.api("DELETE", "/users/sci/server")


@pytest.fixture(scope="module")
def mission(kernel: Kernel) -> str:
    """A mission created in the scientist's kernel, as the scientist's database role."""
    got = kernel.result(
        "import json, os\n"
        "from marsgis import db\n"
        "from marsgis.db import roles\n"
        "m = db.add_mission('Hub test: Gale', lat=-4.5895, lon=137.4417)\n"
        "a = roles.current_access()\n"
        "print('RESULT ' + json.dumps({'id': m.id, 'level': a.level, 'role': a.role}))\n"
    )
    assert got["level"] == "scientist"
    return str(got["id"])


@pytest.fixture(scope="module")
def dashboards(hub: Any) -> Path:
    """The dashboards dir: the project's dashboards plus a page that changes a status."""
    for nb in sorted((REPO / "dashboards").glob("*.ipynb")):
        (hub.dashboards_dir / nb.name).write_bytes(nb.read_bytes())
    code = (
        "import os, urllib.parse\n"
        "from marsgis import db\n"
        "from marsgis.db.roles import current_access\n"
        "q = dict(urllib.parse.parse_qsl(os.environ.get('QUERY_STRING', '')))\n"
        "m = db.get_mission(q['mission'])\n"
        "print('ACCESS', current_access().level, os.environ['JUPYTERHUB_USER'])\n"
        "try:\n"
        "    m = db.set_status(m.id, q['status'], expected_version=m.version,\n"
        "                      changed_by=os.environ['JUPYTERHUB_USER'])\n"
        "    print('RESULT changed', m.status, m.version)\n"
        "except Exception as exc:\n"
        "    print('RESULT refused', type(exc).__name__, exc)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, hub.dashboards_dir / "set-mission-status.ipynb")
    return hub.dashboards_dir


def sign_up(hub: Any, session: requests.Session, name: str) -> requests.Response:
    """Sign ``name`` up through NativeAuthenticator's form (pending an admin's approval)."""
    return session.post(
        f"{hub.url}/hub/signup",
        data={
            "_xsrf": form_xsrf(session, f"{hub.url}/hub/signup"),
            "username": name,
            "email": f"{name}@station.mars",
            "signup_password": PASSWORD,
            "signup_password_confirmation": PASSWORD,
        },
        timeout=60,
    )


@pytest.fixture(scope="module")
def admin(hub: Any) -> requests.Session:
    """The admin (pre-approved by being in admin_users): signed up and logged in."""
    session = requests.Session()
    sign_up(hub, session, "admin").raise_for_status()
    queue = session.post(
        f"{hub.url}/hub/login",
        params={"next": "/hub/authorize"},
        data={
            "username": "admin",
            "password": PASSWORD,
            "_xsrf": form_xsrf(session, f"{hub.url}/hub/login"),
        },
        timeout=60,
    )
    assert queue.url == f"{hub.url}/hub/authorize", queue.text[-1000:]
    return session


def approve(hub: Any, admin: requests.Session, name: str) -> None:
    """The admin approves ``name``'s sign-up (NativeAuthenticator's /hub/authorize/<name>)."""
    queue = admin.get(f"{hub.url}/hub/authorize", timeout=60)
    assert f'/hub/authorize/{name}"' in queue.text
    approved = admin.get(f"{hub.url}/hub/authorize/{name}", timeout=60)
    assert approved.status_code == 200, approved.text[-1000:]


def _owner_view(
    hub: Any, mission_id: str
) -> tuple[str, int, list[tuple[str | None, str, str | None]]]:
    m = db.get_mission(mission_id, db=hub.database_url)
    history = db.status_history(mission_id, db=hub.database_url)
    return m.status, m.version, [(h.from_status, h.to_status, h.changed_by) for h in history]


def form_xsrf(session: requests.Session, url: str) -> str:
    """GET a hub form page and return its ``_xsrf`` hidden field."""
    page = session.get(url, timeout=60)
    page.raise_for_status()
    found = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def get_page(session: Any, url: str, *, deadline: float = 240, **kw: Any) -> tuple[int, str]:
    """GET a (streamed) Voila page; fail if it is still streaming after ``deadline`` s."""
    end = time.monotonic() + deadline
    chunks = []
    with session.get(url, stream=True, timeout=60, **kw) as r:
        for chunk in r.iter_content(8192):
            chunks.append(chunk)
            assert time.monotonic() < end, f"{url} still streaming after {deadline} s"
        return r.status_code, b"".join(chunks).decode()


def _browse(
    hub: Any,
    session: requests.Session,
    path: str,
    wait_for: str,
    then: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Open ``path`` in headless Chromium with ``session``'s cookies; the page text, tile codes.

    ``then(page)``, when given, runs once the page has drawn (clicks, selections) and before
    the text is read.
    """
    from playwright.sync_api import sync_playwright

    tiles: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies(
                [
                    {"name": c.name, "value": c.value or "", "domain": "127.0.0.1", "path": c.path}
                    for c in session.cookies
                ]
            )
            page = context.new_page()
            page.on(
                "response",
                lambda r: tiles.append(r.status) if "/marsgis/tiles/" in r.url else None,
            )
            page.goto(hub.url + path, timeout=120_000)
            page.get_by_text(wait_for).first.wait_for(timeout=180_000)
            for _ in range(180):  # the basemap's first tiles (rendered on demand)
                if tiles:
                    break
                page.wait_for_timeout(500)
            page.wait_for_timeout(1000)
            if then is not None:
                then(page)
            return {"text": page.inner_text("body"), "tiles": tiles}
        finally:
            browser.close()


def _page_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&#39;", "'").replace("&quot;", '"')


# ------------------------------------------------------------------------------ tests


def test_groups_decide_what_the_hub_lets_each_user_do(hub: Any, people: dict[str, str]) -> None:
    # only scientists (and admins) may start a JupyterLab server
    for name in ("op", "view", "outsider"):
        r = hub.api("POST", f"/users/{name}/server", token=people[name])
        assert r.status_code == 403, (name, r.text)
    # dashboards and reports: any of the three groups; nobody else, and nobody anonymous
    for name in ("sci", "op", "view"):
        for service in ("dashboards", "reports"):
            r = requests.get(
                f"{hub.url}/services/{service}/",
                headers={"Authorization": f"token {people[name]}"},
                timeout=60,
            )
            assert r.status_code == 200, (name, service, r.status_code)
    for service in ("dashboards", "reports"):
        r = requests.get(
            f"{hub.url}/services/{service}/",
            headers={"Authorization": f"token {people['outsider']}"},
            timeout=60,
        )
        assert r.status_code == 403, (service, r.status_code)
        anonymous = requests.get(
            f"{hub.url}/services/{service}/", allow_redirects=False, timeout=60
        )
        assert anonymous.status_code == 302
        assert "/hub/api/oauth2/authorize" in anonymous.headers["Location"]
    # Dask clusters: the gateway takes scientists' tokens only
    clusters = f"{hub.url}/services/dask-gateway/api/v1/clusters/"
    for name, expected in (("sci", 200), ("op", 401), ("view", 401)):
        r = requests.get(
            clusters, headers={"Authorization": f"jupyterhub {people[name]}"}, timeout=60
        )
        assert r.status_code == expected, (name, r.text)
    # the report scheduler runs as a hub-managed service
    scheduler = hub.api("GET", "/services/scheduler")
    assert scheduler.status_code == 200, scheduler.text
    assert "scheduler" in " ".join(scheduler.json()["command"])


def test_scientist_kernel_computes_slope_on_dask_gateway_workers(hub: Any, kernel: Kernel) -> None:
    got = kernel.result(
        "import json, os\n"
        "import numpy as np\n"
        "import marsgis\n"
        "from marsgis.compute import client\n"
        "from marsgis.terrain import slope\n"
        "c = client(n_workers=2, worker_cores=1, worker_memory_gb=1.0)\n"
        "c.wait_for_workers(2, timeout=240)\n"
        "dem = marsgis.open_dem('mola', chunks={'y': 240, 'x': 480})\n"
        "np.save('slope-on-gateway.npy', c.compute(slope(dem).data).result())\n"
        "info = {'cluster': type(c.cluster).__name__,\n"
        "        'address': os.environ['MARSGIS_GATEWAY_ADDRESS'],\n"
        "        'worker_pids': sorted(c.run(os.getpid).values()),\n"
        "        'kernel_pid': os.getpid(),\n"
        "        'database_role': __import__('sqlalchemy').engine.make_url(\n"
        "            os.environ['MARSGIS_DATABASE_URL']).username}\n"
        "c.close()\n"
        "c.cluster.shutdown()\n"
        "print('RESULT ' + json.dumps(info))\n",
        timeout=400,
    )
    assert got["cluster"] == "GatewayCluster"
    assert got["address"] == f"{hub.url}/services/dask-gateway"
    assert len(got["worker_pids"]) == 2 and got["kernel_pid"] not in got["worker_pids"]
    assert got["database_role"] == roles.user_role("sci", prefix=hub.role_prefix)
    remote = np.load(hub.state_dir / "home" / "sci" / "slope-on-gateway.npy")
    local = slope(marsgis.open_dem("mola")).values
    assert remote.shape == local.shape == (720, 1440)
    assert np.isfinite(local).sum() > 700_000
    np.testing.assert_array_equal(remote, local)  # NaN where NaN, identical elsewhere


def test_scientist_logs_in_and_lands_in_jupyterlab(
    hub: Any, admin: requests.Session, kernel: Kernel
) -> None:
    """Sign-up, approval, login in a browser: JupyterLab of the running server, marsgis ready.

    The screenshot goes to the state dir, and to ``$MARSGIS_HUB_SCREENSHOT`` when set
    (docs/img/hub-jupyterlab.png is made that way).
    """
    from playwright.sync_api import sync_playwright

    sign_up(hub, requests.Session(), "sci").raise_for_status()
    approve(hub, admin, "sci")
    notebook = {
        "type": "notebook",
        "content": nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell("# Gale crater slope on the station's Dask cluster"),
                nbformat.v4.new_code_cell(
                    "import os\n"
                    "from marsgis.db import roles\n"
                    "print('gateway :', os.environ['MARSGIS_GATEWAY_ADDRESS'])\n"
                    "print('database:', roles.current_access())"
                ),
                nbformat.v4.new_code_cell(
                    "import marsgis\n"
                    "from marsgis.compute import client\n"
                    "from marsgis.terrain import slope\n\n"
                    "c = client(n_workers=2)  # a dask-gateway cluster: no address, no token\n"
                    "dem = marsgis.open_dem('gale-mola', chunks={'y': 256, 'x': 256})\n"
                    "slope(dem).compute()"
                ),
            ],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        ),
    }
    put = requests.put(
        f"{hub.url}/user/sci/api/contents/gale-slope.ipynb",
        headers=kernel.headers,
        json=notebook,
        timeout=60,
    )
    assert put.status_code in (200, 201), put.text
    shot = hub.state_dir / "jupyterlab.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(
                f"{hub.url}/hub/login?next=/user/sci/lab/tree/gale-slope.ipynb", timeout=120_000
            )
            page.fill("#username_input", "sci")
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            try:
                page.wait_for_url(f"{hub.url}/user/sci/lab/**", timeout=120_000)
                # run the first code cell once the notebook's kernel is up
                page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=180_000)
                news = page.get_by_role("button", name="No", exact=True)
                if news.count():
                    news.first.click()
                page.locator(".jp-Notebook .jp-Cell").nth(1).click(timeout=60_000)
                page.keyboard.press("Shift+Enter")
                output = page.locator(".jp-OutputArea-output").first
                output.wait_for(timeout=180_000)
                page.get_by_text("level='scientist'").first.wait_for(timeout=120_000)
                text = output.inner_text()
                page.screenshot(path=str(shot))
            except Exception:
                page.screenshot(path=str(hub.state_dir / "jupyterlab-failure.png"))
                raise
        finally:
            browser.close()
    assert f"gateway : {hub.url}/services/dask-gateway" in text
    assert f"role='{roles.user_role('sci', prefix=hub.role_prefix)}'" in text
    assert shot.stat().st_size > 10_000
    target = os.environ.get("MARSGIS_HUB_SCREENSHOT")
    if target:
        from PIL import Image

        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=128).save(target, optimize=True)


def test_operator_signs_up_is_approved_and_changes_a_status_on_the_dashboards(
    hub: Any, admin: requests.Session, mission: str, dashboards: Path
) -> None:
    op = requests.Session()
    signup = sign_up(hub, op, "op")
    assert signup.status_code == 200 and "sent to the admin" in signup.text, signup.text[-2000:]
    login = {"username": "op", "password": PASSWORD}
    refused = op.post(
        f"{hub.url}/hub/login", data={**login, "_xsrf": form_xsrf(op, f"{hub.url}/hub/login")}
    )
    assert "/services/dashboards" not in refused.url and "not been authorized" in refused.text
    approve(hub, admin, "op")
    # the operator logs in and lands on the dashboards, through the hub's OAuth
    home = op.post(
        f"{hub.url}/hub/login", data={**login, "_xsrf": form_xsrf(op, f"{hub.url}/hub/login")}
    )
    assert home.status_code == 200
    # on the landing page: the dashboards by title, linked to Voila through the hub
    assert home.url == f"{hub.url}/hub/marsgis"
    assert 'id="marsgis-dashboards"' in home.text and "Open JupyterLab" not in home.text
    assert 'href="/services/dashboards/voila/render/mission-board.ipynb"' in home.text
    assert 'href="/services/reports/"' in home.text
    # following the link logs the operator in to the dashboards service (hub OAuth)
    status, board = get_page(op, f"{hub.url}/services/dashboards/voila/render/mission-board.ipynb")
    assert status == 200
    assert "application/vnd.jupyter.widget-view+json" in board
    assert "There was an error when executing cell" not in board
    listing = op.get(f"{hub.url}/services/dashboards/voila/api/contents/", timeout=60)
    assert listing.status_code == 200
    names = {item["name"] for item in listing.json()["content"]}
    assert {"mission-board.ipynb", "set-mission-status.ipynb"} <= names
    titles = set(re.findall(r'voila/render/([\w.-]+\.ipynb)"', home.text))
    assert titles == {n for n in names if n.endswith(".ipynb")}  # the list shows every one

    # in a browser, through the hub: the board's widgets and basemap tiles, and the operator
    # selects the mission, picks "active" and clicks the board's button
    def change_status(page: Any) -> None:
        option = page.locator(".marsgis-missions select option", has_text="Hub test: Gale")
        page.locator(".marsgis-missions select").select_option(label=option.first.inner_text())
        page.get_by_text("Mission 'Hub test: Gale'").first.wait_for(timeout=120_000)
        page.locator(".marsgis-new-status select").select_option("active")
        page.locator(".marsgis-apply-status").click()
        page.get_by_text("planned → active (by op, saved)").first.wait_for(timeout=120_000)

    seen = _browse(
        hub,
        op,
        "/services/dashboards/voila/render/mission-board.ipynb",
        "Mission board",
        then=change_status,
    )
    assert "Signed in: op · operator" in seen["text"]
    assert seen["tiles"] and set(seen["tiles"]) == {200}, seen["tiles"]
    assert _owner_view(hub, mission) == (
        "active",
        2,
        [(None, "planned", None), ("planned", "active", "op")],
    )


def test_login_page_is_marsgis_with_a_local_password_reveal_icon(hub: Any) -> None:
    page = requests.get(f"{hub.url}/hub/login", timeout=60)
    page.encoding = "utf-8"  # the hub sends text/html without a charset
    assert page.status_code == 200
    assert "<title>marsgis · sign in</title>" in page.text and 'class="marsgis-brand"' in page.text
    # the reveal button is Font Awesome's eye (no emoji a server may lack a font for) ...
    assert 'id="toggle_password_visibility"' in page.text and 'class="fa fa-eye"' in page.text
    assert "\U0001f441" not in page.text
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page.text)  # nothing off the machine
    # ... whose font the hub serves itself, from the stylesheet the page loads
    css = re.search(r'href="(/hub/static/css/style\.min\.css[^"]*)"', page.text)
    assert css, page.text[:3000]
    style = requests.get(hub.url + css.group(1), timeout=60)
    assert style.status_code == 200 and "fontawesome-free/css/solid.css" in style.text
    solid = requests.get(
        f"{hub.url}/hub/static/components/@fortawesome/fontawesome-free/css/solid.css", timeout=60
    )
    assert solid.status_code == 200 and "fa-solid-900.woff2" in solid.text
    font = requests.get(
        f"{hub.url}/hub/static/components/@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2",
        timeout=60,
    )
    assert font.status_code == 200 and font.content[:4] == b"wOF2"


def test_approved_user_without_a_group_is_told_what_to_ask_for(
    hub: Any, admin: requests.Session
) -> None:
    nova = requests.Session()
    sign_up(hub, nova, "nova").raise_for_status()
    approve(hub, admin, "nova")
    # approval makes the hub user, so the admin finds them at /hub/admin before a first login
    assert hub.api("GET", "/users/nova").status_code == 200
    login = {"username": "nova", "password": PASSWORD}
    home = nova.post(
        f"{hub.url}/hub/login",
        data={**login, "_xsrf": form_xsrf(nova, f"{hub.url}/hub/login")},
        timeout=60,
    )
    assert home.status_code == 200 and home.url == f"{hub.url}/hub/marsgis"
    text = " ".join(_page_text(home.text).split())
    assert "Your account is approved" in text
    assert (
        "add you to one of the groups scientists, operators, viewers, immigration-officers, "
        "station-managers, spaceline-dispatchers, colony-officials, auditors, passengers"
    ) in text
    assert 'id="marsgis-dashboards"' not in home.text


def _dashboard_kernels(hub: Any) -> int:
    """Live ipykernel processes of this hub's dashboards service (found by its cwd)."""
    import psutil

    count = 0
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmd = " ".join(proc.info["cmdline"] or ())
        if "services/dashboards.py" not in cmd or proc.info["cwd"] != str(hub.dashboards_dir):
            continue
        for child in proc.children(recursive=True):
            try:
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    count += child.status() != psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                pass
    return count


def test_dashboard_kernels_opened_and_closed_20_times_stay_within_the_cap(
    hub: Any, people: dict[str, str], dashboards: Path
) -> None:
    """A viewer opens a page and drops its websocket (a tab closed abruptly), 20 times."""
    cap = int(hub.env["MARSGIS_HUB_KERNELS_PER_USER"])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('tiny', 6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, dashboards / "tiny.ipynb")
    auth = {"Authorization": f"token {people['view']}"}
    page_url = f"{hub.url}/services/dashboards/voila/render/tiny.ipynb"
    seen = []
    for _ in range(20):
        end = time.monotonic() + 120
        while True:  # at the cap, a page opens once a closed page's kernel is reclaimable
            status, page = get_page(requests, page_url, headers=auth)
            if status != 429 or time.monotonic() > end:
                break
            assert "Too many dashboard pages open" in page
            time.sleep(1)
        assert status == 200 and "tiny 42" in page, page[-2000:]
        found = re.search(r'"kernelId": "([0-9a-f-]+)"', page)
        assert found, page[:2000]
        ws_url = hub.url.replace("http://", "ws://") + (
            f"/services/dashboards/api/kernels/{found.group(1)}/channels"
            f"?session_id={uuid.uuid4().hex}"
        )
        ws = websocket.create_connection(ws_url, header=[f"{k}: {v}" for k, v in auth.items()])
        seen.append(_dashboard_kernels(hub))
        ws.close()
    # a reclaimed kernel still shutting down while its replacement starts counts once more
    assert max(seen) <= cap + 1, seen
    end = time.monotonic() + 120  # the culler frees every idle, unconnected page kernel
    while _dashboard_kernels(hub) > 0 and time.monotonic() < end:
        time.sleep(1)
    assert _dashboard_kernels(hub) == 0


def test_viewer_cannot_change_a_mission(
    hub: Any, people: dict[str, str], mission: str, dashboards: Path
) -> None:
    before = _owner_view(hub, mission)
    status, page = get_page(
        requests,
        f"{hub.url}/services/dashboards/voila/render/set-mission-status.ipynb",
        params={"mission": mission, "status": "aborted"},
        headers={"Authorization": f"token {people['view']}"},
    )
    assert status == 200
    text = _page_text(page)
    assert "ACCESS viewer view" in text, text[-2000:]
    assert "RESULT refused PermissionDeniedError" in text and "permission denied" in text
    assert _owner_view(hub, mission) == before


def test_viewer_sees_no_live_control_on_the_board(
    hub: Any, admin: requests.Session, mission: str, dashboards: Path
) -> None:
    """A viewer signed in through the hub gets a read-only board, in Chromium (#15)."""
    vic = requests.Session()
    sign_up(hub, vic, "vic").raise_for_status()
    approve(hub, admin, "vic")
    r = hub.api("POST", "/groups/viewers/users", json={"users": ["vic"]})
    assert r.status_code == 200, r.text
    login = {"username": "vic", "password": PASSWORD}
    home = vic.post(
        f"{hub.url}/hub/login",
        data={**login, "_xsrf": form_xsrf(vic, f"{hub.url}/hub/login")},
        timeout=60,
    )
    assert home.status_code == 200 and home.url == f"{hub.url}/hub/marsgis"
    before = _owner_view(hub, mission)
    seen: dict[str, Any] = {}

    def try_to_change(page: Any) -> None:
        option = page.locator(".marsgis-missions select option", has_text="Hub test: Gale")
        page.locator(".marsgis-missions select").select_option(label=option.first.inner_text())
        page.get_by_text("Mission 'Hub test: Gale'").first.wait_for(timeout=120_000)
        # no live control: the status choice, note and button are not on the page ...
        seen["controls"] = [
            page.locator(sel).first.is_visible()
            for sel in (".marsgis-new-status select", ".marsgis-apply-status")
        ]
        seen["disabled"] = page.locator(".marsgis-apply-status").first.is_disabled()
        # ... and a click forced on the hidden button changes nothing
        page.locator(".marsgis-apply-status").first.dispatch_event("click")
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hub-mission-board-viewer.png"), full_page=True)

    got = _browse(
        hub,
        vic,
        "/services/dashboards/voila/render/mission-board.ipynb",
        "Mission board",
        then=try_to_change,
    )
    text = " ".join(got["text"].split())
    assert "Signed in: vic · viewer (read-only)" in text
    assert f"Records: PostGIS database {hub.database_url.rsplit('/', 1)[1]!r} on 127.0.0.1" in text
    assert (
        "Changing a mission's status needs the operator or scientist role; "
        "you are signed in as vic · viewer (read-only)"
    ) in text
    assert seen == {"controls": [False, False], "disabled": True}
    for internal in ("permission denied", "psycopg", "sqlstate", "traceback"):
        assert internal not in text.lower(), text
    assert got["tiles"] and set(got["tiles"]) == {200}, got["tiles"]
    assert _owner_view(hub, mission) == before


def test_scheduler_service_runs_a_report_that_viewers_browse(
    hub: Any, people: dict[str, str], kernel: Kernel, mission: str
) -> None:
    """A scientist schedules the mission-plan report; the hub's scheduler service runs it."""
    got = kernel.result(
        "import json\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from marsgis import reports\n"
        f"s = reports.add_schedule('hub test', 'mission-plan', '0 6 * * *', {{'mission_id': {mission!r}}},\n"
        "                         start=datetime.now(UTC) - timedelta(days=1))  # due now\n"
        "print('RESULT ' + json.dumps({'id': s.id, 'due': s.next_run_at.isoformat()}))\n"
    )
    deadline = time.monotonic() + 180
    while True:  # the scheduler service (polling every 2 s here) picks it up and runs it
        from marsgis import reports

        runs = [r for r in reports.list_runs(db=hub.database_url) if r.status != "running"]
        if runs:
            break
        assert time.monotonic() < deadline, hub.log.read_text()[-3000:]
        time.sleep(1)
    run = runs[0]
    assert (run.status, run.report) == ("succeeded", "mission-plan"), run
    html = Path(run.outputs["html"])
    assert hub.reports_dir in html.parents, (html, got)
    folder = html.parent.relative_to(hub.reports_dir).as_posix()
    headers = {"Authorization": f"token {people['view']}"}
    listing = requests.get(f"{hub.url}/services/reports/mission-plan/", headers=headers, timeout=60)
    assert listing.status_code == 200 and f'href="{html.parent.name}/"' in listing.text
    page = requests.get(
        f"{hub.url}/services/reports/{folder}/{html.name}", headers=headers, timeout=60
    )
    assert page.status_code == 200 and "Hub test: Gale" in page.text
    outsider = requests.get(
        f"{hub.url}/services/reports/{folder}/{html.name}",
        headers={"Authorization": f"token {people['outsider']}"},
        timeout=60,
    )
    assert outsider.status_code == 403
    outside = requests.get(
        f"{hub.url}/services/reports/..%2F..%2Fstate/db_secret", headers=headers, timeout=60
    )
    assert outside.status_code == 404


def test_service_api_takes_hub_tokens_and_checks_marsgis_scopes(
    hub: Any, people: dict[str, str]
) -> None:
    """``marsgis serve`` as the hub service marsgis-api: hub tokens, custom scopes, the prefix."""
    from marsgis.api.scopes import ROLE_SCOPES, SCOPE_DESCRIPTIONS

    base = f"{hub.url}/services/marsgis-api/api/v1"
    body = {
        "name": "API: Jezero delta",
        "mission_type": "landing",
        "target": {"type": "Point", "coordinates": [77.4508, 18.4447]},
    }

    def call(method: str, path: str, token: str | None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, base + path, headers=headers, timeout=60, **kw)

    def snapshot() -> list[dict[str, Any]]:
        return [m.to_dict() for m in db.list_missions(db=hub.database_url)]

    # the hub knows the marsgis scopes, and the groups' roles grant them (read back from the hub)
    sci_model = hub.api("GET", "/user", token=people["sci"]).json()
    assert ROLE_SCOPES["scientist"] <= set(sci_model["scopes"])
    assert not set(SCOPE_DESCRIPTIONS) & set(
        hub.api("GET", "/user", token=people["outsider"]).json()["scopes"]
    )
    # a scientist's hub token creates a mission through the hub proxy
    created = call("POST", "/missions", people["sci"], json=body)
    assert created.status_code == 201, created.text
    mission_id = created.json()["id"]
    assert created.headers["location"] == f"/services/marsgis-api/api/v1/missions/{mission_id}"
    stored = db.get_mission(mission_id, db=hub.database_url)
    assert (stored.name, stored.lat, stored.lon) == ("API: Jezero delta", 18.4447, 77.4508)
    # a viewer's token reads but may not write; nothing is written
    before = snapshot()
    listed = call("GET", "/missions", people["view"])
    assert listed.status_code == 200 and mission_id in {m["id"] for m in listed.json()["items"]}
    refused = call("POST", "/missions", people["view"], json={**body, "name": "API: refused"})
    assert refused.status_code == 403, refused.text
    assert "custom:marsgis:missions:write" in refused.json()["detail"]
    assert snapshot() == before
    # no token: 401; a token unknown to the hub: 401; a user in no group: no marsgis scope
    anonymous = requests.post(f"{base}/missions", json=body, timeout=60)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert call("GET", "/missions", "0123456789abcdef0123456789abcdef").status_code == 401
    assert call("GET", "/missions", people["outsider"]).status_code == 403
    assert snapshot() == before
    # ?token= works as well, and the scopes are the token's: an operator changes a status
    by_query = requests.post(
        f"{base}/missions",
        params={"token": people["sci"]},
        json={**body, "name": "API: q"},
        timeout=60,
    )
    assert by_query.status_code == 201, by_query.text
    status = requests.put(
        f"{base}/missions/{mission_id}/status",
        params={"token": people["op"]},
        json={"status": "active", "note": "through the hub"},
        timeout=60,
    )
    assert status.status_code == 200, status.text
    assert db.get_mission(mission_id, db=hub.database_url).status == "active"
    # a scientist's token restricted to reading missions is refused a write (scopes, not groups)
    narrow = hub.api(
        "POST",
        "/users/sci/tokens",
        json={"scopes": ["access:services!service=marsgis-api", "custom:marsgis:missions:read"]},
    )
    assert narrow.status_code == 201, narrow.text
    before = snapshot()
    assert call("GET", "/missions", narrow.json()["token"]).status_code == 200
    assert call("POST", "/missions", narrow.json()["token"], json=body).status_code == 403
    assert snapshot() == before
    # the OpenAPI document behind the proxy names the prefix as its server
    spec = requests.get(f"{base}/openapi.json", timeout=60).json()
    assert spec["servers"] == [{"url": "/services/marsgis-api"}]
    service = hub.api("GET", "/services/marsgis-api").json()
    assert service["command"][-3:] == ["serve", "--port", hub.env["MARSGIS_HUB_SERVICE_API_PORT"]]
