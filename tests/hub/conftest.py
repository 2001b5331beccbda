"""A real JupyterHub for the ``hub`` tests: hub/jupyterhub_config.py on free localhost ports.

The ``hub`` fixture (one per test module) creates its own PostGIS database and role prefix,
starts ``jupyterhub -f hub/jupyterhub_config.py`` with a temporary state directory (sqlite hub
database, cookie secret, homes, reports) and an automation token, and afterwards stops the hub
(which stops its proxy, servers and services), kills whatever it left behind, drops the roles
and the database.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
HUB_CONFIG = REPO / "hub" / "jupyterhub_config.py"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
PORTS = (
    "PORT",
    "API_PORT",
    "PROXY_API_PORT",
    "GATEWAY_PORT",
    "GATEWAY_PROXY_PORT",
    "DASHBOARDS_PORT",
    "REPORTS_PORT",
    "SERVICE_API_PORT",
)


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (held open together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _pg(dbname: str) -> Any:
    import psycopg2

    conn = psycopg2.connect(dbname=dbname, connect_timeout=10, **PG)
    conn.autocommit = True
    return conn


@dataclass
class RunningHub:
    """A hub started by the fixture, with the handles the tests need."""

    url: str
    token: str
    database_url: str
    role_prefix: str
    state_dir: Path
    dashboards_dir: Path
    reports_dir: Path
    log: Path
    env: dict[str, str] = field(repr=False)

    def api(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> Any:
        """Call the hub's REST API (``/hub/api{path}``) with the admin or a user's token."""
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kw
        )

    def user_token(self, name: str) -> str:
        r = self.api("POST", f"/users/{name}/tokens", json={"note": "hub test", "expires_in": 3600})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_tree(proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """SIGTERM the hub (it stops its proxy, servers, services), then kill any leftover."""
    leftovers = _descendants(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    leftovers += [p for p in _descendants(proc.pid) if p not in leftovers]
    for p in leftovers:
        try:
            # dask-gateway starts schedulers/workers in their own sessions: find them too
            leftovers_of_p = p.children(recursive=True)
        except psutil.NoSuchProcess:
            leftovers_of_p = []
        for q in [p, *leftovers_of_p]:
            try:
                q.kill()
            except psutil.NoSuchProcess:
                pass
    psutil.wait_procs(leftovers, timeout=30)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    """Start the real hub; yield it; stop everything and drop its database and roles."""
    tmp = tmp_path_factory.mktemp("hub")
    dbname = f"marsgis_hubtest_{uuid.uuid4().hex[:12]}"
    prefix = f"mgh{uuid.uuid4().hex[:8]}"
    admin = _pg("postgres")
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{dbname}"')
    database_url = f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{dbname}"
    dashboards = tmp / "dashboards"
    dashboards.mkdir()
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    token = secrets.token_hex(24)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MARSGIS_", "JUPYTERHUB_"))},
        **{f"MARSGIS_HUB_{name}": str(port) for name, port in ports.items()},
        "MARSGIS_HUB_STATE_DIR": str(tmp / "state"),
        "MARSGIS_HUB_DATABASE_URL": database_url,
        "MARSGIS_HUB_DB_ROLE_PREFIX": prefix,
        "MARSGIS_HUB_API_TOKEN": token,
        "MARSGIS_HUB_DASHBOARDS_DIR": str(dashboards),
        "MARSGIS_HUB_REPORTS_DIR": str(tmp / "reports"),
        "MARSGIS_HUB_CLUSTER_IDLE_TIMEOUT": "300",
        "MARSGIS_HUB_SCHEDULER_ARGS": "--interval 2",
        # dashboard page kernels: culled after 5 s idle and unconnected, 3 per user
        "MARSGIS_HUB_KERNEL_CULL_IDLE_TIMEOUT": "5",
        "MARSGIS_HUB_KERNEL_CULL_INTERVAL": "1",
        "MARSGIS_HUB_KERNELS_PER_USER": "3",
        "MARSGIS_DATA_DIR": str(tmp / "user-data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    running = RunningHub(
        url=f"http://127.0.0.1:{ports['PORT']}",
        token=token,
        database_url=database_url,
        role_prefix=prefix,
        state_dir=tmp / "state",
        dashboards_dir=dashboards,
        reports_dir=tmp / "reports",
        log=tmp / "hub.log",
        env=env,
    )
    proc = None
    try:
        proc = _start(running)
        yield running
    finally:
        if proc is not None:
            stop_tree(proc)
        from marsgis.db import dispose_engines, roles

        dispose_engines()
        try:
            roles.drop_roles(database_url, prefix=prefix)
        finally:
            dispose_engines()
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()


def _start(h: RunningHub) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "jupyterhub"
    with open(h.log, "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "-f", str(HUB_CONFIG)],
            cwd=h.log.parent,
            env=h.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub exited ({proc.returncode}):\n{h.log.read_text()[-5000:]}")
        try:
            if requests.get(f"{h.url}/hub/api", timeout=2).status_code == 200:
                services = h.api("GET", "/services").json()
                if _services_up(h, services):
                    return proc
        except (requests.ConnectionError, requests.Timeout):  # still starting (or a busy CPU)
            pass
        time.sleep(0.5)
    stop_tree(proc)
    raise RuntimeError(f"the hub did not start in 180 s:\n{h.log.read_text()[-5000:]}")


def _services_up(h: RunningHub, services: dict[str, Any]) -> bool:
    """Whether every web service answers behind the proxy (not with the proxy's 503)."""
    health = {
        "dask-gateway": "/services/dask-gateway/api/health",
        "marsgis-api": "/services/marsgis-api/api/v1/health",
    }
    for name in ("dask-gateway", "dashboards", "reports", "marsgis-api"):
        if name not in services:
            return False
        path = health.get(name, f"/services/{name}/")
        try:
            r = requests.get(h.url + path, timeout=2, allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout):
            return False
        if r.status_code >= 500:
            return False
    return True
