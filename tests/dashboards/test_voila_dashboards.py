"""The three operator dashboards in a real Voila server, driven by headless Chromium.

One Voila (``voila dashboards/``, the command of ``make dashboards``) serves the module.
Each test opens a dashboard, waits for the basemap tiles, does one real interaction, checks
its effect against marsgis (the database, ``marsgis.sample``, ``plan_traverse``), saves a
screenshot to ``test-artifacts/`` and asserts that no request left 127.0.0.1.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from dashboard_browser import (
    LOCAL_HOSTS,
    ROOT,
    Server,
    Tab,
    assert_map_toolkit,
    assert_within_pixel,
    container_point,
    free_port,
    readout,
    screenshot,
    start_server,
    stop_server,
    wait_for_tiles,
)
from PIL import Image

import marsgis
from marsgis import db, planning


@pytest.fixture(scope="module")
def voila(dash_env: dict[str, Any]) -> Iterator[Server]:
    port = free_port()
    cmd = [
        str(ROOT / ".venv" / "bin" / "voila"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--template=marsgis",
        # one anonymous owner opens every page of this module one after another, faster than
        # closed pages' kernels become reclaimable: the per-person cap has its own test
        # (test_kernel_limits.py), so here it stays out of the way
        "--CappedKernelManager.max_kernels_per_user=32",
        "dashboards/",
    ]
    server = start_server(
        cmd, f"http://127.0.0.1:{port}/", dash_env["env"], dash_env["tmp"] / "voila.log"
    )
    try:
        yield server
    finally:
        stop_server(server)


def open_dashboard(tab: Tab, voila: Server, name: str) -> None:
    tab.page.goto(f"{voila.url}voila/render/{name}.ipynb", wait_until="load")
    try:
        wait_for_tiles(tab.page)
    except Exception as exc:  # show the server's side of a failure
        raise AssertionError(f"{name}: tiles did not load; Voila log:\n{voila.log_tail()}") from exc


def assert_dom_local(page: Any) -> None:
    """No element of the page points outside (what a later script could still fetch)."""
    urls = page.eval_on_selector_all(
        "[src], [href]", "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    outside = [
        u
        for u in urls
        if u.startswith(("http:", "https:", "//")) and urlsplit(u).hostname not in LOCAL_HOSTS
    ]
    assert outside == []
    html = page.content()
    assert "cdn.jsdelivr.net" not in html and "cdnjs.cloudflare.com" not in html


def fitted_view(points: list[tuple[float, float]], height: str, **kw: Any) -> tuple[Any, int]:
    """The centre and zoom :func:`marsgis.viz.controls.fit_to` gives a map of ``height``."""
    from types import SimpleNamespace

    from marsgis.viz.controls import fit_to

    m = SimpleNamespace(center=None, zoom=None, layout=SimpleNamespace(height=height, width="100%"))
    zoom = fit_to(m, points, **kw)
    return (float(m.center[0]), float(m.center[1])), zoom


def map_box(tab: Tab) -> dict[str, float]:
    box = tab.page.locator(".leaflet-container").first.bounding_box()
    assert box is not None
    return box


def test_directory_page_references_nothing_outside(voila: Server) -> None:
    """The page ``make dashboards`` opens (the marsgis template's page.html) is offline too."""
    import re
    import urllib.request

    with urllib.request.urlopen(voila.url, timeout=60) as r:
        html = r.read().decode()
    assert "voila-tree-main" in html  # the listing (filled in by the page's script)
    links = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert [u for u in links if not u.startswith(voila.url)] == []
    assert "cdn.jsdelivr.net" not in html and "cdnjs.cloudflare.com" not in html


def test_mission_board_status_change_reaches_the_database(
    tab: Tab, voila: Server, dash_env: dict[str, Any]
) -> None:
    page = tab.page
    open_dashboard(tab, voila, "mission-board")

    # the basemap is MOLA in degrees: the Hellas floor sits where the CRS puts it, in the
    # colour of the rendered tile there (Web Mercator or a misplaced tile would not match)
    from marsgis.viz.tiles import render_tile
    from marsgis.viz.tiling import pixel_centres, tile_of

    # the opening view holds every mission (fitted to them, #15)
    missions = db.list_missions(db=dash_env["db"])
    centre, zoom = fitted_view([(m.lon, m.lat) for m in missions], "460px", max_zoom=8)
    box = map_box(tab)
    for m in missions:
        mx, my = container_point(box, centre, zoom, m.lat, m.lon)
        assert box["x"] < mx < box["x"] + box["width"] and box["y"] < my < box["y"] + box["height"]
    assert_map_toolkit(page, ("Elevation", "Mission status"))
    lat, lon = -42.4, 70.5
    px, py = container_point(box, centre, zoom, lat, lon)
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    x, y = tile_of(lat, lon, zoom)
    lats, lons = pixel_centres(zoom, x, y)
    expected = render_tile(zoom, x, y)[
        np.argmin(np.abs(lats - lat)), np.argmin(np.abs(lons - lon)), :3
    ]
    around = shot[int(py) - 1 : int(py) + 2, int(px) - 1 : int(px) + 2]
    assert np.abs(around - expected).max(axis=-1).min() <= 6, (around, expected)

    gale = dash_env["missions"]["gale"]
    page.locator(".marsgis-missions select").select_option(
        value=None, label="Gale landing · planned · landing"
    )
    page.locator(".marsgis-new-status select").select_option("active")
    page.wait_for_selector("text=Review the msl landing ellipse")
    page.locator(".marsgis-apply-status").click()

    deadline = time.monotonic() + 30
    while db.get_mission(gale, db=dash_env["db"]).status != "active":
        assert time.monotonic() < deadline, (
            "the status change never reached the database; page status: "
            f"{page.locator('.marsgis-status').first.inner_text()!r}; Voila log:\n{voila.log_tail()}"
        )
        time.sleep(0.2)
    last = db.status_history(gale, db=dash_env["db"])[-1]
    assert (last.from_status, last.to_status, last.changed_by) == ("planned", "active", "ada")
    page.wait_for_selector(".marsgis-badge[data-status='active']")
    page.wait_for_selector(".marsgis-status [data-state='ok']")
    wait_for_tiles(page, settle_ms=1500)
    screenshot(page, "mission-board")

    # a final status is never pre-selected, and choosing one asks for a confirmation first
    assert page.locator(".marsgis-new-status select").input_value() == ""
    page.locator(".marsgis-new-status select").select_option("completed")
    page.locator(".marsgis-apply-status").click()
    page.wait_for_selector(".marsgis-confirm-status:visible")
    page.wait_for_selector(".marsgis-status [data-state='confirm']")
    screenshot(page, "mission-board-confirm")
    assert db.get_mission(gale, db=dash_env["db"]).status == "active"  # nothing written yet
    page.locator(".marsgis-confirm-status").click()
    page.wait_for_selector(".marsgis-badge[data-status='completed']")
    assert db.get_mission(gale, db=dash_env["db"]).status == "completed"
    assert tab.non_local() == []
    assert_dom_local(page)


def test_mission_board_is_live_across_two_pages(
    tab: Tab, browser: Any, voila: Server, dash_env: dict[str, Any]
) -> None:
    """A status changed in one browser page appears in another, without a reload (#13)."""
    from dashboard_browser import TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1280, "height": 1300}, device_scale_factor=1)
    try:
        watcher = Tab(context.new_page())
        watcher.page.set_default_timeout(TIMEOUT_MS)
        context.on("request", lambda r: watcher.requests.append(r.url))
        open_dashboard(tab, voila, "mission-board")
        open_dashboard(watcher, voila, "mission-board")
        jezero = dash_env["missions"]["jezero"]
        label = "Jezero delta survey · planned · survey"
        for t in (tab, watcher):
            t.page.locator(".marsgis-missions select").select_option(value=None, label=label)
            t.page.wait_for_selector(".marsgis-badge[data-status='planned']")
        navigations: list[str] = []
        watcher.page.on("framenavigated", lambda f: navigations.append(f.url))

        tab.page.locator(".marsgis-new-status select").select_option("active")
        tab.page.locator(".marsgis-apply-status").click()
        tab.page.wait_for_selector(".marsgis-badge[data-status='active']")
        assert db.get_mission(jezero, db=dash_env["db"]).status == "active"

        # the other page, untouched: its list, its details and its status line follow
        watcher.page.wait_for_selector(".marsgis-badge[data-status='active']", timeout=15_000)
        options = watcher.page.locator(".marsgis-missions select option").all_inner_texts()
        assert "Jezero delta survey · active · survey" in [o.replace("\xa0", " ") for o in options]
        watcher.page.wait_for_selector("text=changed elsewhere: planned → active (by ada)")
        assert navigations == []  # no reload
        wait_for_tiles(watcher.page, settle_ms=1000)
        screenshot(watcher.page, "mission-board-live")
        assert watcher.non_local() == []
    finally:
        context.close()


def test_mission_board_conflict_shows_the_current_record(
    tab: Tab, voila: Server, dash_env: dict[str, Any]
) -> None:
    """A change the page has not heard of yet is refused and the current record is shown (#15).

    The change made elsewhere is a direct SQL update of the mission row (a version step with
    no event), so the page is stale for certain when the operator confirms: the race a live
    update usually wins, made deterministic.
    """
    import sqlite3

    page = tab.page
    open_dashboard(tab, voila, "mission-board")
    olympus = dash_env["missions"]["olympus"]
    before = db.get_mission(olympus, db=dash_env["db"])
    label = "Olympus Mons flyover · active · orbital"
    page.locator(".marsgis-missions select").select_option(value=None, label=label)
    page.wait_for_selector(".marsgis-badge[data-status='active']")
    page.locator(".marsgis-new-status select").select_option("aborted")
    page.locator(".marsgis-apply-status").click()
    page.wait_for_selector(".marsgis-confirm-status:visible")

    # meanwhile, elsewhere: the flyover's description is rewritten (version before+1)
    path = dash_env["db"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE missions SET description = ?, version = version + 1 WHERE id = ?",
            ("Re-targeted to the caldera rim", olympus),
        )
    page.locator(".marsgis-confirm-status").click()

    # refused, in the operator's words, and the board now shows the record as it is
    # (the first line, "someone else changed this record", is replaced once the record reloads)
    error = page.wait_for_selector(".marsgis-status [data-state='error']:has-text('Not changed:')")
    text = " ".join(error.inner_text().split())
    assert text == (
        "Not changed: 'Olympus Mons flyover' was changed meanwhile (its description changed). "
        f"The board now shows the current record (version {before.version + 1}); choose again"
    ), text
    page.wait_for_selector("text=Re-targeted to the caldera rim")
    page.wait_for_selector(".marsgis-badge[data-status='active']")
    assert page.locator(".marsgis-new-status select").input_value() == ""
    assert page.locator(".marsgis-confirm-status:visible").count() == 0
    assert "database" not in text.lower() and "sqlite" not in text.lower()
    now = db.get_mission(olympus, db=dash_env["db"])
    assert (now.status, now.version) == ("active", before.version + 1)  # nothing written
    history = [(h.from_status, h.to_status) for h in db.status_history(olympus, db=dash_env["db"])]
    assert history == [(None, "planned"), ("planned", "active")]
    screenshot(page, "mission-board-conflict")
    assert tab.non_local() == []


def test_landing_explorer_click_shows_elevation_and_ellipse(tab: Tab, voila: Server) -> None:
    page = tab.page
    open_dashboard(tab, voila, "landing-site-explorer")
    page.wait_for_selector("[data-fraction]")
    box = map_box(tab)
    target = (-4.5895, 137.4417)  # Curiosity's landing site
    page.mouse.click(*container_point(box, (0.0, 0.0), 1, *target))

    shown = readout(page)
    assert_within_pixel(shown["lat"], target[0], 1)
    assert_within_pixel(shown["lon"], target[1], 1)
    assert shown["dem"] == "gale-mola"
    assert shown["elevation_m"] == marsgis.sample(
        marsgis.open_dem("gale-mola"), shown["lat"], shown["lon"]
    )

    safety = float(
        page.wait_for_selector(".marsgis-ellipse[data-safety]").get_attribute("data-safety")
    )
    ellipse = planning.LandingEllipse.from_constraints("msl", shown["lat"], shown["lon"])
    ref = planning.evaluate_ellipse(ellipse, marsgis.open_dem("gale-mola"), "msl")
    assert safety == ref.safety
    assert_map_toolkit(page)
    screenshot(page, "landing-site-explorer")
    assert tab.non_local() == []
    assert_dom_local(page)


def test_traverse_planner_route_appears(tab: Tab, voila: Server) -> None:
    page = tab.page
    open_dashboard(tab, voila, "traverse-planner")
    dem = marsgis.open_dem("gale-mola")
    west, south, east, north = (float(v) for v in dem.rio.bounds())
    centre = ((south + north) / 2, (west + east) / 2)
    box = map_box(tab)
    start, goal = (-4.5895, 137.4417), (-4.82, 137.39)
    page.mouse.click(*container_point(box, centre, 6, *start))
    page.wait_for_selector("text=Start set; click the goal")
    page.mouse.click(*container_point(box, centre, 6, *goal))

    route = page.wait_for_selector(".marsgis-route[data-length]")
    clicked_start = tuple(float(v) for v in route.get_attribute("data-start").split(","))
    clicked_goal = tuple(float(v) for v in route.get_attribute("data-goal").split(","))
    for clicked, target in ((clicked_start, start), (clicked_goal, goal)):
        assert_within_pixel(clicked[0], target[0], 6)
        assert_within_pixel(clicked[1], target[1], 6)
    ref = planning.plan_traverse(
        dem, clicked_start, clicked_goal, max_slope=float(route.get_attribute("data-max-slope"))
    )
    assert float(route.get_attribute("data-length")) == ref.attrs["length_m"]
    # the route is drawn: an SVG path in the route colour (Leaflet simplifies its vertices
    # at this zoom) whose bounding box spans the start and the goal
    from marsgis.viz.dashboards.traverse_planner import ROUTE_COLOR

    # the map zooms to the new route: all of it in view, at the largest zoom that holds it
    size = (int(box["width"]), int(box["height"]))  # the map is on screen: its real size
    view, zoom = fitted_view([c for g in ref.geometry for c in g.coords], "480px", size=size)
    assert zoom > 6
    wait_for_tiles(page, settle_ms=1500)
    path = page.wait_for_selector(f"path[stroke='{ROUTE_COLOR}']")
    drawn = path.bounding_box()
    for end in (clicked_start, clicked_goal):
        ex, ey = container_point(box, view, zoom, *end)
        assert drawn["x"] - 3 <= ex <= drawn["x"] + drawn["width"] + 3
        assert drawn["y"] - 3 <= ey <= drawn["y"] + drawn["height"] + 3
    assert box["x"] <= drawn["x"] and drawn["x"] + drawn["width"] <= box["x"] + box["width"]
    assert box["y"] <= drawn["y"] and drawn["y"] + drawn["height"] <= box["y"] + box["height"]
    assert_map_toolkit(page)
    page.wait_for_selector("img[src^='blob:'], .widget-image img", state="attached")
    screenshot(page, "traverse-planner")

    # a failed re-plan leaves nothing savable (#15): type 5° into the slope limit, re-plan
    assert page.locator("button:has-text('Save as new mission')").is_enabled()
    readout_box = page.locator(".widget-slider .widget-readout").first
    readout_box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    page.wait_for_selector(".marsgis-save-note [data-blocked]")  # planned at 25°, not 5°
    page.locator("button:has-text('Re-plan')").click()
    page.wait_for_selector(".marsgis-error[data-failed]")
    page.wait_for_selector(f"path[stroke='{ROUTE_COLOR}']", state="detached")
    assert not page.locator("button:has-text('Save to mission')").is_enabled()
    assert not page.locator("button:has-text('Save as new mission')").is_enabled()
    with pytest.raises(marsgis.exceptions.MarsGISError):  # what the page said, from the library
        planning.plan_traverse(dem, clicked_start, clicked_goal, max_slope=5.0)
    screenshot(page, "traverse-planner-failed-replan")
    assert tab.non_local() == []
    assert_dom_local(page)
