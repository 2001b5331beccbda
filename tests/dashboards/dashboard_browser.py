"""Helpers of the dashboard browser tests (servers, Chromium, Leaflet geometry).

Browser tests of the dashboards: a real Voila (or Jupyter) server and headless Chromium.

Each module starts one server on 127.0.0.1 (a free port) with its own SpatiaLite database
(``MARSGIS_DATABASE_URL``, seeded through the public API), tile cache (``MARSGIS_CACHE_DIR``)
and Jupyter dirs (the offline Voila template installed with :func:`marsgis.viz.install.install`
into a temporary ``JUPYTER_PATH``). Chromium (Debian's, through Playwright) runs headless
with background networking off and a dead proxy for anything that is not loopback; every
request the pages make is logged, and each test asserts that none left 127.0.0.1.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import math
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--no-pings",
    "--proxy-server=http://127.0.0.1:9",  # anything not loopback would go to a dead proxy
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A started server process: its base URL and log file."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, n: int = 60) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


def start_server(cmd: list[str], url: str, env: dict[str, str], log: Path) -> Server:
    """Start ``cmd`` and wait until ``url`` answers (60 s at most)."""
    fh = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    server = Server(url, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return server
        except urllib.error.HTTPError:
            return server  # it answers (a 404 or a redirect to log in is fine here)
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"{cmd[0]} did not answer at {url} within 60 s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)


@dataclass
class Tab:
    """A browser page with every request and websocket it opened."""

    page: Any
    requests: list[str] = field(default_factory=list)

    def non_local(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out


def wait_for_tiles(page: Any, minimum: int = 4, *, settle_ms: int = 0) -> None:
    """Until at least ``minimum`` basemap tiles are loaded and none is still loading.

    ``settle_ms`` first gives a map that was just moved (``fit_bounds``) time to start
    loading the tiles of its new view.
    """
    if settle_ms:
        page.wait_for_timeout(settle_ms)
    page.wait_for_selector("img.leaflet-tile-loaded", state="attached", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "n => document.querySelectorAll('img.leaflet-tile-loaded').length >= n && "
        "document.querySelectorAll('img.leaflet-tile:not(.leaflet-tile-loaded)').length === 0",
        arg=minimum,
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(400)  # Leaflet fades tiles in over 200 ms


def container_point(
    box: dict[str, float], center: tuple[float, float], zoom: int, lat: float, lon: float
) -> tuple[float, float]:
    """Page coordinates of ``(lat, lon)`` in a Leaflet map in :data:`MARS_MAP_CRS`.

    Leaflet projects with the CRS (``x = (lon + 180) / res``, ``y = (90 - lat) / res``) and
    puts the centre at half the size, its pixel origin rounded.
    """
    res = 180.0 / 256 / 2**zoom
    w, h = box["width"], box["height"]
    ox = round((center[1] + 180.0) / res - w / 2)
    oy = round((90.0 - center[0]) / res - h / 2)
    lon180 = ((lon + 180.0) % 360.0) - 180.0
    return box["x"] + (lon180 + 180.0) / res - ox, box["y"] + (90.0 - lat) / res - oy


def readout(page: Any) -> dict[str, Any]:
    """The click readout's values (its data attributes)."""
    el = page.wait_for_selector(".marsgis-readout[data-elevation]", timeout=TIMEOUT_MS)
    return {
        "lat": float(el.get_attribute("data-lat")),
        "lon": float(el.get_attribute("data-lon")),
        "elevation_m": float(el.get_attribute("data-elevation")),
        "dem": el.get_attribute("data-dem"),
    }


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_within_pixel(value: float, target: float, zoom: int) -> None:
    assert math.isclose(value, target, abs_tol=1.01 * 180.0 / 256 / 2**zoom), (value, target)


def assert_map_toolkit(page: Any, legends: tuple[str, ...] = ("Elevation",)) -> None:
    """The map shows a layers control, a Mars scale bar and its legends (#15)."""
    page.wait_for_selector(".leaflet-control-layers")
    bar = page.wait_for_selector(".marsgis-scalebar[data-label]")
    assert bar.get_attribute("data-label").endswith((" km", " m"))
    for title in legends:
        page.wait_for_selector(f".leaflet-control .marsgis-legend[data-title='{title}']")
