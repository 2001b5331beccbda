"""The station dashboards' Python side (what each control does), on the seeded demo station.

The browser tests (tests/dashboards/test_station_dashboards.py) drive the same classes
through Voila and Chromium.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ipyleaflet
import pytest
from shapely.geometry import box

from marsgis import db
from marsgis.db import station as st
from marsgis.exceptions import ValidationError
from marsgis.station import TravelDocument, check_document, make_td3
from marsgis.station.seed import generate_station
from marsgis.viz.controls import fit_to
from marsgis.viz.dashboards import BayTimeline, ColonyMap, OfficerQueue
from marsgis.viz.maps import OCCUPANCY_BANDS, mars_map, occupancy_color
from marsgis.viz.timelines import Bar, timeline_html


@pytest.fixture
def station_url(spatialite_url: str) -> str:
    from marsgis.db.station.seed import store_station

    db.upgrade(spatialite_url)
    store_station(generate_station(seed=7, passengers=30), db=spatialite_url)
    return spatialite_url


def test_officer_queue_lists_opens_and_decides(station_url: str) -> None:
    url = station_url
    queue = OfficerQueue(db=url, officer="ada")
    try:
        waiting = [
            a for a in st.list_applications(db=url) if a.status in ("submitted", "under_review")
        ]
        assert [v for _, v in queue.queue.options] == [a.id for a in waiting]
        submitted = next(a for a in waiting if a.status == "submitted")
        queue.open(submitted.id)
        # only the officer's step from "submitted" is offered
        assert list(queue.decision.options) == [("Start the review", "under_review")]
        docs = st.passenger_documents(submitted.passenger_id, db=url)
        assert docs[0].document_number in queue.details.value

        queue.decide("under_review")
        reviewed = st.get_application(submitted.id, db=url)
        assert (reviewed.status, reviewed.version) == ("under_review", 2)
        assert [s for _, s in queue.decision.options] == [
            "info_requested",
            "approved",
            "rejected",
        ]
        assert queue.decision.value == "info_requested"  # never a final one pre-selected

        # a final decision asks first; without a reason the store refuses it, nothing written
        assert queue.request_decision("approved", "") is None
        assert queue.status.state == "confirm"
        queue._on_confirm()
        assert queue.status.state == "error"
        assert "needs a reason" in queue.status.message
        assert st.get_application(submitted.id, db=url) == reviewed

        queue.request_decision("approved", "documents and sponsor in order")
        queue._on_confirm()
        approved = st.get_application(submitted.id, db=url)
        assert (approved.status, approved.decided_by, approved.reason) == (
            "approved",
            "ada",
            "documents and sponsor in order",
        )
        last = st.list_audit(subject_type="visa_application", subject_id=submitted.id, db=url)
        assert [(r.actor, r.details["to"]) for r in last] == [
            ("ada", "under_review"),
            ("ada", "approved"),
        ]
        assert submitted.id not in [v for _, v in queue.queue.options]  # decided: off the queue

        # a stale version: refused in one line, the application reloaded as it is now
        other = next(a for a in waiting if a.status == "under_review")
        queue.open(other.id)
        st.move_application(
            other.id,
            "info_requested",
            actor="officer.lind",
            expected_version=other.version,
            reason="proof of funds",
            db=url,
        )
        queue.decide("rejected", "no sponsor")
        assert queue.status.state == "error"
        assert queue.status.message == (
            f"Not recorded: application #{other.id} was changed meanwhile (under_review → "
            f"info_requested, by officer.lind). It is shown as it is now (version "
            f"{other.version + 1}); decide again"
        )
        assert st.get_application(other.id, db=url).status == "info_requested"
        assert queue.selected is not None and queue.selected.status == "info_requested"
    finally:
        queue.close()


def test_officer_queue_refuses_the_sponsor(station_url: str) -> None:
    url = station_url
    colony = st.list_colonies(db=url)[0]
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
    app = st.create_application(
        passenger.id, colony.id, applicant="pax.quinn", sponsor="ada", db=url
    )
    app = st.move_application(app.id, "submitted", actor="pax.quinn", expected_version=1, db=url)
    queue = OfficerQueue(db=url, officer="ada")
    try:
        queue.open(app.id)
        queue.decide("under_review")
        assert queue.status.message == (
            "officer 'ada' is the sponsor of this application; another immigration officer "
            "must decide it"
        )
        assert st.get_application(app.id, db=url) == app
    finally:
        queue.close()


def test_bay_timeline_books_and_shows_the_refusal(station_url: str) -> None:
    url = station_url
    timeline = BayTimeline(db=url, dispatcher="ada")
    try:
        before = st.list_bookings(db=url)
        first = min(b.starts_at for b in before)
        assert timeline.start == first.replace(hour=0, minute=0, second=0, microsecond=0)
        shown = re.findall(r"data-booking-id='(\d+)'", timeline.timeline.value)
        end = timeline.start + timedelta(days=int(timeline.days.value))
        assert sorted(int(i) for i in shown) == sorted(
            b.id for b in before if b.starts_at < end and b.ends_at > timeline.start
        )
        held = before[0]
        assert timeline.book(held.bay_id, held.starts_at, held.ends_at) is None
        assert timeline.status.state == "error"
        assert f"booking {held.id} holds it" in timeline.status.message
        assert st.list_bookings(db=url) == before

        # the form: a voyage fills in its arrival; the period is booked and drawn
        voyage = st.list_voyages(db=url)[-1]
        timeline.voyage.value = voyage.id
        assert timeline.starts.value == voyage.arrival_start.strftime("%Y-%m-%d %H:%M")
        vessel = next(v for v in st.list_vessels(db=url) if v.id == voyage.vessel_id)
        taken = {b.bay_id for b in before if b.voyage_id == voyage.id}
        bay = next(
            b
            for b in st.list_bays(db=url)
            if vessel.vessel_class in b.vessel_classes and b.id not in taken
        )
        timeline.bay.value = bay.id
        timeline.hours.value = 5
        timeline.book_button.click()
        (new,) = [b for b in st.list_bookings(db=url) if b not in before]
        start = voyage.arrival_start.replace(second=0, microsecond=0)
        assert (new.bay_id, new.voyage_id, new.starts_at, new.ends_at, new.booked_by) == (
            bay.id,
            voyage.id,
            start,
            start + timedelta(hours=5),
            "ada",
        )
        assert f"data-booking-id='{new.id}'" in timeline.timeline.value  # window moved to it

        timeline.starts.value = "tomorrow at noon"
        timeline.book_button.click()
        assert timeline.status.message.startswith("start 'tomorrow at noon' is not a time")
    finally:
        timeline.close()


def test_colony_map_draws_occupancy(station_url: str) -> None:
    url = station_url
    colonies = ColonyMap(db=url, person="ada")
    try:
        stored = st.list_colonies(db=url)
        (group,) = [lay for lay in colonies.map.layers if lay.name == "colonies"]
        polygons = [lay for lay in group.layers if isinstance(lay, ipyleaflet.Polygon)]
        assert [p.fill_color for p in polygons] == [
            occupancy_color(c.population, c.capacity) for c in stored
        ]
        for c in stored:
            assert f"data-colony-id='{c.id}' data-population='{c.population}'" in (
                colonies.table.value
            )
        jezero = next(c for c in stored if c.site == "Jezero")
        shown = colonies.select(jezero.id)
        assert shown == jezero
        assert "Jezero Port" in colonies.details.value
    finally:
        colonies.close()


def test_occupancy_color_bands() -> None:
    assert [occupancy_color(p, 100) for p in (0, 49, 50, 79, 80, 94, 95, 100)] == [
        OCCUPANCY_BANDS[0][1],
        OCCUPANCY_BANDS[0][1],
        OCCUPANCY_BANDS[1][1],
        OCCUPANCY_BANDS[1][1],
        OCCUPANCY_BANDS[2][1],
        OCCUPANCY_BANDS[2][1],
        OCCUPANCY_BANDS[3][1],
        OCCUPANCY_BANDS[3][1],
    ]


def test_fit_to_pads_and_clips_to_the_map() -> None:
    m = mars_map(readout=False, measure=False, toolkit=False)
    # a colony's 1° box with 0.5° around it: 2° in 480 − 2 × 24 px at ≤ 2°/432 px → zoom 7
    assert fit_to(m, [box(77.0, 18.0, 78.0, 19.0)], pad_deg=0.5, size=(800, 480)) == 7
    assert list(m.center) == [18.5, 77.5]
    assert 180.0 / 256 / 2**7 * 432 >= 2.0 > 180.0 / 256 / 2**8 * 432
    # 0-360 °E longitudes come back in −180…180 °E; the padding clips at the map's edges
    fit_to(m, [box(184.0, 85.0, 185.0, 89.5)], pad_deg=2.0, size=(800, 480))
    assert list(m.center) == [pytest.approx((83.0 + 90.0) / 2), pytest.approx((-178.0 - 173.0) / 2)]
    with pytest.raises(ValidationError, match="nothing to fit"):
        fit_to(m, [])
    assert fit_to(m, [box(-170.0, -10.0, 170.0, 10.0)], pad_deg=1.0, size=(1200, 520)) == 1
    # 342° in 1200 − 48 px: zoom 1 (0.35°/px) holds 405°, zoom 2 only 203°


def test_timeline_places_bars_in_the_window() -> None:
    t0 = datetime(2031, 5, 1, tzinfo=UTC)
    bars = [
        Bar("1", t0 + timedelta(hours=6), t0 + timedelta(hours=18), "a", {"booking-id": 1}),
        Bar("1", t0 - timedelta(days=3), t0 - timedelta(days=2), "gone", {"booking-id": 2}),
        Bar("2", t0 + timedelta(days=3), t0 + timedelta(days=5), "cut", {"booking-id": 3}),
    ]
    html = timeline_html([("1", "Bay 1"), ("2", "Bay 2")], bars, start=t0, days=4)
    assert "left:6.25%;width:12.50%" in html  # 6 h in, 12 h long, of 96 h
    assert "data-booking-id='2'" not in html  # before the window
    assert "left:75.00%;width:25.00%" in html  # cut at the window's end
    assert html.count("marsgis-timeline-row") == 2


def test_check_document_names_each_problem() -> None:
    zone = make_td3(
        surname="OKAFOR",
        given_names="AMARA",
        document_number="M00000001",
        issuing_state="NGA",
        nationality="NGA",
        birth_date=date(1990, 1, 2),
        sex="F",
        expires_on=date(2033, 1, 1),
    )
    good = TravelDocument(1, 1, "M00000001", "NGA", date(2033, 1, 1), zone)
    assert check_document(good, on=date(2033, 1, 1)).ok
    tampered = TravelDocument(1, 1, "M00000001", "NGA", date(2033, 1, 1), zone[:-1] + "9")
    check: Any = check_document(tampered, on=date(2031, 1, 1))
    assert (check.mrz_valid, check.expired) == (False, False)
    assert "composite check digit" in check.problems[0]
    other = TravelDocument(1, 1, "M00000002", "NGA", date(2034, 1, 1), zone)
    check = check_document(other, on=date(2034, 6, 1))
    assert (check.mrz_valid, check.expired) == (False, True)
    assert len(check.problems) == 2 and "not the stored M00000002" in check.problems[0]


def _wait_for(check: Any, what: str) -> None:
    import time

    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_officer_queue_follows_the_event_log(station_url: str) -> None:
    url = station_url
    queue = OfficerQueue(db=url, officer="ada")
    try:
        reviewing = [a for a in st.list_applications(status="under_review", db=url)]
        mine, theirs = reviewing[0], reviewing[1]
        queue.open(mine.id)
        queue.decide("info_requested", "proof of funds")
        message = queue.status.message
        _wait_for(lambda: queue.live.delivered >= 1, "the queue never saw its own decision")
        with queue.live.lock:
            assert queue.status.message == message  # its own change: the message stays

        queue.open(theirs.id)
        st.move_application(
            theirs.id,
            "rejected",
            actor="officer.lind",
            expected_version=theirs.version,
            reason="no sponsor",
            db=url,
        )
        _wait_for(
            lambda: queue.selected is not None and queue.selected.status == "rejected",
            "a decision made elsewhere never reached the open application",
        )
        with queue.live.lock:
            assert queue.status.message == (
                f"Application #{theirs.id} changed elsewhere: under_review → rejected "
                "(by officer.lind)"
            )
            assert theirs.id not in [v for _, v in queue.queue.options]
    finally:
        queue.close()
