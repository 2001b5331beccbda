"""The station dashboards in a real Voila server, driven by headless Chromium (issue #14).

One Voila (``voila dashboards/``) serves the module, on its own SpatiaLite database holding
the seeded demo station (:func:`marsgis.station.seed.generate_station`, seed 7, 40
passengers) plus one application sponsored by the signed-in officer (``ada``). Each test
does a real interaction, checks its effect in the store (records and the audit log), saves a
screenshot to ``test-artifacts/`` and asserts that no request left 127.0.0.1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from dashboard_browser import (
    ROOT,
    Server,
    Tab,
    assert_map_toolkit,
    free_port,
    screenshot,
    start_server,
    stop_server,
    wait_for_tiles,
)
from test_voila_dashboards import assert_dom_local

from marsgis import db
from marsgis.db import station as st
from marsgis.station import make_td3
from marsgis.station.seed import generate_station

OFFICER = "ada"


@pytest.fixture(scope="module")
def station_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Environment of the server: a database holding the seeded station, own Jupyter dirs."""
    from marsgis.db.station.seed import store_station
    from marsgis.viz.install import install

    tmp = tmp_path_factory.mktemp("station-dashboards")
    url = f"sqlite:///{tmp / 'station.sqlite'}"
    db.upgrade(url)
    store_station(generate_station(seed=7, passengers=40), db=url)
    # an application the signed-in officer sponsors: theirs to refuse to decide
    zone = make_td3(
        surname="QUINN",
        given_names="ROBIN",
        document_number="S00000001",
        issuing_state="IRL",
        nationality="IRL",
        birth_date=date(1991, 3, 4),
        sex="X",
        expires_on=date(2036, 1, 1),
    )
    passenger, _ = st.register_passenger(zone, actor="pax.quinn", db=url)
    colony = st.list_colonies(db=url)[0]
    app = st.create_application(
        passenger.id, colony.id, applicant="pax.quinn", sponsor=OFFICER, db=url
    )
    app = st.move_application(
        app.id, "submitted", actor="pax.quinn", expected_version=app.version, db=url
    )
    sponsored = st.move_application(
        app.id, "under_review", actor="officer.osei", expected_version=app.version, db=url
    )
    # occupancy of every band on the map: Jezero 80 % full or more, Arcadia full
    for c in st.list_colonies(db=url):
        if c.site in ("Jezero", "Arcadia Planitia"):
            room = 1 if c.site == "Jezero" else 0
            st.set_capacity(
                c.id,
                c.population + room,
                expected_version=c.version,
                actor="manager.vos",
                reason="dashboard test: show the occupancy bands",
                db=url,
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
        JUPYTERHUB_USER=OFFICER,
        PYTHONFAULTHANDLER="1",
    )
    return {"env": env, "tmp": tmp, "db": url, "sponsored": sponsored.id}


@pytest.fixture(scope="module")
def voila(station_env: dict[str, Any]) -> Iterator[Server]:
    port = free_port()
    cmd = [
        str(ROOT / ".venv" / "bin" / "voila"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--template=marsgis",
        "dashboards/",
    ]
    server = start_server(
        cmd, f"http://127.0.0.1:{port}/", station_env["env"], station_env["tmp"] / "voila.log"
    )
    try:
        yield server
    finally:
        stop_server(server)


def open_page(tab: Tab, voila: Server, name: str, ready: str) -> None:
    tab.page.goto(f"{voila.url}voila/render/{name}.ipynb", wait_until="load")
    try:
        tab.page.wait_for_selector(ready)
    except Exception as exc:  # show the server's side of a failure
        raise AssertionError(
            f"{name}: {ready} never shown; Voila log:\n{voila.log_tail()}"
        ) from exc


def status_text(tab: Tab) -> str:
    return str(tab.page.locator(".marsgis-status").first.inner_text())


def wait_until(check: Any, what: str, tab: Tab, voila: Server, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, (
            f"{what}; page status: {status_text(tab)!r}; Voila log:\n{voila.log_tail()}"
        )
        time.sleep(0.2)


def _label(app: Any, url: str) -> str:
    colony = st.get_colony(app.colony_id, db=url)
    return f"#{app.id} · {app.applicant} · {colony.name} · {app.status}"


def _options(tab: Tab) -> list[str]:
    texts = tab.page.locator(".marsgis-applications select option").all_inner_texts()
    return [t.replace("\xa0", " ") for t in texts]


def test_officer_decides_an_application_into_the_store_and_audit_log(
    tab: Tab, voila: Server, station_env: dict[str, Any]
) -> None:
    url, page = station_env["db"], tab.page
    open_page(tab, voila, "station-officer-queue", ".marsgis-applications select")
    page.wait_for_selector(f".marsgis-who[data-person='{OFFICER}']")
    waiting = [
        a
        for a in st.list_applications(db=url)
        if a.status in ("submitted", "under_review") and a.id != station_env["sponsored"]
    ]
    assert len(waiting) >= 2
    options = _options(tab)
    assert sorted(options) == sorted(
        _label(a, url) for a in [*waiting, st.get_application(station_env["sponsored"], db=url)]
    )

    # open one under review and reject it, with a reason, after the confirmation
    app = next(a for a in waiting if a.status == "under_review")
    page.locator(".marsgis-applications select").select_option(label=_label(app, url))
    page.wait_for_selector(f"[data-application-id='{app.id}']")
    passenger = st.get_passenger(app.passenger_id, db=url)
    page.wait_for_selector(f".marsgis-application >> text={passenger.surname}")
    page.wait_for_selector(".marsgis-application >> text=verified")
    page.locator(".marsgis-decision select").select_option(label="Reject")
    reason = "sponsor letter missing; the passport photo page is unreadable"
    page.locator(".marsgis-reason textarea").fill(reason)
    page.locator(".marsgis-decide").click()
    page.wait_for_selector(".marsgis-confirm-decision:visible")
    assert st.get_application(app.id, db=url).status == "under_review"  # nothing yet
    page.locator(".marsgis-confirm-decision").click()

    wait_until(
        lambda: st.get_application(app.id, db=url).status == "rejected",
        "the decision never reached the database",
        tab,
        voila,
    )
    stored = st.get_application(app.id, db=url)
    assert (stored.decided_by, stored.reason, stored.version) == (
        OFFICER,
        reason,
        app.version + 1,
    )
    last = st.list_audit(subject_type="visa_application", subject_id=app.id, db=url)[-1]
    assert (last.actor, last.role, last.action, last.reason) == (
        OFFICER,
        "immigration_officer",
        "application_changed",
        reason,
    )
    assert last.details == {"from": "under_review", "to": "rejected", "version": app.version + 1}
    assert st.verify_audit(db=url).intact
    page.wait_for_selector(".marsgis-application [data-status='rejected']")
    page.wait_for_selector(".marsgis-status [data-state='ok']")
    assert f"#{app.id}" not in " ".join(o.split(" · ")[0] + " " for o in _options(tab))
    screenshot(page, "station-officer-queue")

    # live: a review started elsewhere shows up in the queue without a reload
    other = next(a for a in waiting if a.status == "submitted")
    moved = st.move_application(
        other.id, "under_review", actor="officer.lind", expected_version=other.version, db=url
    )
    page.wait_for_function(
        "label => [...document.querySelectorAll('.marsgis-applications option')]"
        ".some(o => o.textContent.replace(/\\u00a0/g, ' ') === label)",
        arg=_label(moved, url),
        timeout=15_000,
    )

    # separation of duties: the officer sponsors this one; the store refuses, one line says so
    sponsored = st.get_application(station_env["sponsored"], db=url)
    audit_before = len(st.list_audit(db=url))
    page.locator(".marsgis-applications select").select_option(label=_label(sponsored, url))
    page.wait_for_selector(f"[data-application-id='{sponsored.id}']")
    page.locator(".marsgis-decision select").select_option(label="Approve")
    page.locator(".marsgis-reason textarea").fill("looks fine")
    page.locator(".marsgis-decide").click()
    page.locator(".marsgis-confirm-decision").click()
    page.wait_for_selector(".marsgis-status [data-state='error']")
    refusal = status_text(tab)
    assert refusal.strip() == (
        f"officer '{OFFICER}' is the sponsor of this application; another immigration "
        "officer must decide it"
    )
    assert st.get_application(sponsored.id, db=url) == sponsored
    assert len(st.list_audit(db=url)) == audit_before
    screenshot(page, "station-officer-queue-refusal")
    assert tab.non_local() == []
    assert_dom_local(page)


def test_bay_booking_in_the_timeline_reaches_the_store_and_the_timeline(
    tab: Tab, voila: Server, station_env: dict[str, Any]
) -> None:
    url, page = station_env["db"], tab.page
    open_page(tab, voila, "station-bay-timeline", ".marsgis-timeline")
    before = st.list_bookings(db=url)
    bars = page.locator(".marsgis-timeline-bar")
    first_day = min(b.starts_at for b in before).replace(hour=0, minute=0, second=0)
    days = int(page.get_attribute(".marsgis-timeline", "data-days"))
    assert page.get_attribute(".marsgis-timeline", "data-start") == first_day.isoformat()
    in_window = [b for b in before if b.starts_at < first_day + timedelta(days=days)]
    assert sorted(
        int(i) for i in bars.evaluate_all("els => els.map(e => e.dataset.bookingId)")
    ) == (sorted(b.id for b in in_window))
    held = in_window[0]
    stations = {s.id: s for s in st.list_stations(db=url)}
    bay = next(b for b in st.list_bays(db=url) if b.id == held.bay_id)
    bay_label = f"{stations[bay.station_id].name} {bay.code} ({', '.join(bay.vessel_classes)})"

    # an overlapping period: the store refuses it, the page says so in one line
    page.locator(".marsgis-book-bay select").select_option(label=bay_label)
    clash = held.starts_at + timedelta(hours=2)
    page.locator(".marsgis-book-start input").fill(clash.strftime("%Y-%m-%d %H:%M"))
    page.locator(".marsgis-book-hours input").fill("3")
    page.locator(".marsgis-book-hours input").press("Tab")
    page.locator(".marsgis-book").click()
    page.wait_for_selector(".marsgis-status [data-state='error']")
    assert f"booking {held.id} holds it" in status_text(tab)
    assert st.list_bookings(db=url) == before

    # a free period right after it is booked, stored and drawn
    start = held.ends_at + timedelta(hours=1)
    end = start + timedelta(hours=3)
    assert all(b.ends_at <= start or end <= b.starts_at for b in before if b.bay_id == held.bay_id)
    page.locator(".marsgis-book-start input").fill(start.strftime("%Y-%m-%d %H:%M"))
    page.locator(".marsgis-book").click()
    wait_until(
        lambda: len(st.list_bookings(db=url)) == len(before) + 1,
        "the booking never reached the database",
        tab,
        voila,
    )
    (new,) = [b for b in st.list_bookings(db=url) if b not in before]
    assert (new.bay_id, new.starts_at, new.ends_at, new.booked_by, new.voyage_id) == (
        held.bay_id,
        start,
        end,
        OFFICER,
        None,
    )
    audit = st.list_audit(subject_type="bay_booking", subject_id=new.id, db=url)
    assert [(r.actor, r.action) for r in audit] == [(OFFICER, "bay_booked")]
    bar = page.wait_for_selector(f".marsgis-timeline-bar[data-booking-id='{new.id}']")
    assert (bar.get_attribute("data-start"), bar.get_attribute("data-end")) == (
        start.isoformat(),
        end.isoformat(),
    )
    row = page.locator(f".marsgis-timeline-row[data-row='{held.bay_id}']")
    assert row.locator(f"[data-booking-id='{new.id}']").count() == 1
    page.wait_for_selector(".marsgis-status [data-state='ok']")
    screenshot(page, "station-bay-timeline")
    assert tab.non_local() == []
    assert_dom_local(page)


def test_colonies_on_the_map_with_occupancy(
    tab: Tab, voila: Server, station_env: dict[str, Any]
) -> None:
    url, page = station_env["db"], tab.page
    open_page(tab, voila, "station-colonies", ".marsgis-colonies table")
    wait_for_tiles(page, settle_ms=1000)
    colonies = st.list_colonies(db=url)
    rows = page.locator(".marsgis-colonies tr[data-colony-id]")
    shown = rows.evaluate_all(
        "els => els.map(e => [+e.dataset.colonyId, +e.dataset.population, +e.dataset.capacity])"
    )
    assert shown == [[c.id, c.population, c.capacity] for c in colonies]
    from marsgis.viz.maps import occupancy_color

    # a polygon and a marker per colony, each in its occupancy colour; the legend explains them
    fills = page.eval_on_selector_all(
        "path.leaflet-interactive", "els => els.map(e => e.getAttribute('fill'))"
    )
    for c in colonies:
        assert fills.count(occupancy_color(c.population, c.capacity)) >= 2, (c, fills)
    assert len({occupancy_color(c.population, c.capacity) for c in colonies}) == 3
    legend = page.locator(".leaflet-control", has_text="Occupancy").inner_text()
    assert "95 % full or more" in legend
    assert_map_toolkit(page, ("Elevation", "Occupancy"))
    screenshot(page, "station-colonies")

    arcadia = next(c for c in colonies if c.site == "Arcadia Planitia")
    page.locator(".marsgis-colony-list select").select_option(label=arcadia.name)
    page.wait_for_selector(".marsgis-colony >> text=Arcadia Planitia Port")
    wait_for_tiles(page, settle_ms=1500)
    screenshot(page, "station-colonies-arcadia")
    assert tab.non_local() == []
    assert_dom_local(page)
