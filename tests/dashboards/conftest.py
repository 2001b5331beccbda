"""Fixtures of the dashboard browser tests (see dashboard_browser.py for the set-up)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, Tab


@pytest.fixture(scope="module")
def dash_env(tmp_path_factory: pytest.TempPathFactory, gale_landing_plan: Any) -> dict[str, Any]:
    """Environment of the server: own database (seeded), tile cache and Jupyter dirs."""
    from marsgis import db
    from marsgis.viz.install import install

    tmp = tmp_path_factory.mktemp("dashboards")
    url = f"sqlite:///{tmp / 'marsgis.sqlite'}"
    db.upgrade(url)  # an explicit SpatiaLite URL must name an existing store
    plan = db.save_plan(gale_landing_plan, db=url)
    jezero = db.add_mission(
        "Jezero delta survey", lat=18.4447, lon=77.4508, mission_type="survey", db=url
    )
    olympus = db.add_mission(
        "Olympus Mons flyover", lat=18.65, lon=226.2, mission_type="orbital", db=url
    )
    db.set_status(
        olympus.id, "active", expected_version=olympus.version, changed_by="setup", db=url
    )
    db.dispose_engines()
    install(
        data_dir=tmp / "jupyter-data", config_dir=tmp / "jupyter-config", server_extension=False
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARSGIS_", "JUPYTER", "JPY_"))}
    env.update(
        MARSGIS_DATABASE_URL=url,
        MARSGIS_CACHE_DIR=str(tmp / "cache"),
        MARSGIS_DATA_DIR=str(tmp / "data"),
        JUPYTER_PATH=str(tmp / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
        JUPYTER_DATA_DIR=str(tmp / "jupyter-user-data"),
        JUPYTERHUB_USER="ada",
        PYTHONFAULTHANDLER="1",
    )
    return {
        "env": env,
        "tmp": tmp,
        "db": url,
        "missions": {"gale": plan.mission.id, "jezero": jezero.id, "olympus": olympus.id},
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 1300}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    t = Tab(page)
    context.on("request", lambda r: t.requests.append(r.url))
    page.on("websocket", lambda ws: t.requests.append(ws.url))
    try:
        yield t
    finally:
        context.close()
