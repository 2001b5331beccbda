"""The station dashboards for each role: who may act sees the controls, the others a read-only
view with the reason; a refusal is one line with no database internals and writes nothing.

On the real PostgreSQL, the demo station seeded by the owner, one login role per level
(:mod:`marsgis.db.roles`), each dashboard built as that role (as the hub's dashboard kernels
connect, hub/services/dashboards.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from marsgis import db
from marsgis.db import roles
from marsgis.db import station as st
from marsgis.station.seed import generate_station
from marsgis.viz.dashboards import BayTimeline, ColonyMap, OfficerQueue

pytestmark = pytest.mark.postgis

LEVELS = (
    "immigration_officer",
    "station_manager",
    "spaceline_dispatcher",
    "colony_official",
    "auditor",
    "viewer",
)
#: What each role may do on the two acting dashboards: (decide, book a bay).
MAY = {
    "owner": (True, True),
    "immigration_officer": (True, False),
    "station_manager": (False, True),
    "spaceline_dispatcher": (False, True),
    "colony_official": (False, False),
    "auditor": (False, False),
    "viewer": (False, False),
}
#: The header's words for each role (marsgis.viz.dashboards._ui).
WORDS = {
    "immigration_officer": "immigration officer (decides visa applications)",
    "station_manager": "station manager (stations, bays, capacity overrides)",
    "spaceline_dispatcher": "spaceline dispatcher (voyages, bay bookings)",
    "colony_official": "colony official (colony capacity)",
    "auditor": "auditor (read-only, audit log)",
    "viewer": "viewer (read-only)",
    "owner": "owner (full access)",
}
#: Things a refusal must never show.
INTERNALS = ("permission denied", "postgresql", "psycopg", "SET ROLE", "_u_", "relation", "table")


@pytest.fixture
def urls(postgis_url: str) -> Iterator[dict[str, str]]:
    from marsgis.db.station.seed import store_station

    db.upgrade(postgis_url)
    store_station(generate_station(seed=7, passengers=30), db=postgis_url)
    prefix = f"mgv{uuid.uuid4().hex[:8]}"
    roles.ensure_roles(postgis_url, prefix=prefix)
    out = {"owner": postgis_url}
    try:
        for level in LEVELS:
            login = roles.grant_user(postgis_url, f"v_{level}", level, password="pw", prefix=prefix)
            out[level] = roles.user_database_url(postgis_url, login, "pw")
        yield out
    finally:
        db.dispose_engines()
        roles.drop_roles(postgis_url, prefix=prefix)


def _clean(message: str) -> None:
    for word in INTERNALS:
        assert word.lower() not in message.lower(), (word, message)


def _state(owner: str) -> tuple[Any, ...]:
    return (
        st.list_applications(db=owner),
        st.list_bookings(db=owner),
        st.list_audit(db=owner),
    )


@pytest.mark.parametrize("who", ["owner", *LEVELS])
def test_officer_queue_for_each_role(urls: dict[str, str], who: str) -> None:
    owner = urls["owner"]
    queue = OfficerQueue(db=urls[who], officer="kai")
    try:
        assert f"Signed in: kai · {WORDS[who]}" in queue.widget.children[0].value
        submitted = next(a for a in st.list_applications(db=owner) if a.status == "submitted")
        assert submitted.id in [v for _, v in queue.queue.options]  # every role reads the queue
        assert queue.open(submitted.id) == submitted
        may_decide = MAY[who][0]
        assert queue.can_decide is may_decide
        hidden = [c.layout.display == "none" and c.disabled for c in (queue.decision, queue.apply)]
        assert hidden == [not may_decide, not may_decide]
        # the audit trail only for officers and auditors (and the mission roles, which read all)
        shows_trail = who in ("owner", "immigration_officer", "auditor", "viewer")
        assert ("marsgis-no-audit" not in queue.details.value) is shows_trail
        if may_decide:
            assert queue.readonly.value == ""
            decided = queue.decide("under_review")
            stored = st.get_application(submitted.id, db=owner)
            assert (decided.status, decided.version) == (stored.status, stored.version)
            assert stored.status == "under_review" and stored.version == submitted.version + 1
            return
        assert queue.readonly.value == (
            f"Deciding visa applications needs the immigration officer role; you are signed "
            f"in as kai · {WORDS[who]}"
        )
        queue._on_apply()  # the button, were it shown
        assert queue.status.message.startswith("Deciding visa applications needs")
        before = _state(owner)
        # even asked directly, the database refuses: one line, nothing written
        assert queue.decide("under_review") is None
        assert queue.status.message == (
            "Start the review: not allowed for your role; nothing was written"
        )
        _clean(queue.status.message)
        assert _state(owner) == before
    finally:
        queue.close()


@pytest.mark.parametrize("who", ["owner", *LEVELS])
def test_bay_timeline_for_each_role(urls: dict[str, str], who: str) -> None:
    owner = urls["owner"]
    timeline = BayTimeline(db=urls[who], dispatcher="kai")
    try:
        assert f"Signed in: kai · {WORDS[who]}" in timeline.widget.children[0].value
        before = st.list_bookings(db=owner)
        assert "data-booking-id=" in timeline.timeline.value  # every role sees the bookings
        may_book = MAY[who][1]
        assert timeline.can_book is may_book
        form = (timeline.bay, timeline.starts, timeline.book_button)
        assert [c.layout.display == "none" and c.disabled for c in form] == [not may_book] * 3
        last = max(before, key=lambda b: b.ends_at)
        start = last.ends_at + (last.ends_at - last.starts_at) * 10
        end = start + (last.ends_at - last.starts_at)
        if may_book:
            assert timeline.readonly.value == ""
            booking = timeline.book(last.bay_id, start, end)
            assert booking is not None and booking.booked_by == "kai"
            assert [b for b in st.list_bookings(db=owner) if b not in before] == [booking]
            return
        assert timeline.readonly.value == (
            "Booking a docking bay needs the spaceline dispatcher or station manager role; "
            f"you are signed in as kai · {WORDS[who]}"
        )
        timeline._on_book()
        assert timeline.status.message.startswith("Booking a docking bay needs")
        assert timeline.book(last.bay_id, start, end) is None
        assert timeline.status.message == (
            "Booking the bay: not allowed for your role; nothing was written"
        )
        _clean(timeline.status.message)
        assert st.list_bookings(db=owner) == before
    finally:
        timeline.close()


@pytest.mark.parametrize("who", ["owner", *LEVELS])
def test_colony_map_for_each_role(urls: dict[str, str], who: str) -> None:
    colonies = ColonyMap(db=urls[who], person="kai")
    try:
        assert f"Signed in: kai · {WORDS[who]}" in colonies.widget.children[0].value
        stored = st.list_colonies(db=urls["owner"])
        assert [v for _, v in colonies.list.options] == [c.id for c in stored]
        assert colonies.select(stored[0].id) == stored[0]
    finally:
        colonies.close()


def test_header_names_both_roles_of_a_person_in_two_groups(urls: dict[str, str]) -> None:
    owner = urls["owner"]
    prefix = roles.current_access(urls["auditor"]).role
    assert prefix is not None
    login = roles.grant_user(
        owner,
        "v_both",
        ["operator", "spaceline_dispatcher"],
        password="pw",
        prefix=prefix.split("_u_")[0],
    )
    timeline = BayTimeline(db=roles.user_database_url(owner, login, "pw"), dispatcher="kai")
    try:
        assert (
            "Signed in: kai · operator (changes mission status, runs reports) · spaceline "
            "dispatcher (voyages, bay bookings)"
        ) in timeline.widget.children[0].value
        assert timeline.can_book
    finally:
        timeline.close()
