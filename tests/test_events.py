"""marsgis.events.subscribe on both backends: replay from an id, live delivery, async, and on
PostGIS the NOTIFY wake-up, a killed listener connection and concurrent writers.

The reference is always the event log itself (``read_events``): what a subscriber delivers
must be exactly the log's rows after its ``since``, in id order, none missing. Waits are
bounded (``get(timeout=...)``); no test asserts how fast anything is.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

import psycopg2
import pytest
from private_postgres import MissionWriter, log_of_the_missions

from marsgis import db, events
from marsgis.db.events import Listener, last_event_id, read_events
from marsgis.exceptions import ValidationError

# long enough that only a NOTIFY (or a reconnect's resync) can wake a PostGIS subscriber in
# the bounded waits below; a SpatiaLite subscriber polls every 0.05 s
QUIET = {"heartbeat": 3600.0, "poll_interval": 0.05}
WAIT_S = 60.0


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARSGIS_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("MARSGIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("MARSGIS_USER", raising=False)


def _changes(url: str, n: int) -> list[str]:
    """``n`` missions created and activated: 2n events (missions topic), n task events."""
    ids = []
    for i in range(n):
        m = db.add_mission(f"M{i}", lat=i, lon=i, db=url)
        db.add_task(m.id, "drive", db=url)
        db.set_status(m.id, "active", expected_version=1, db=url)
        ids.append(m.id)
    return ids


def _take(sub: events.Subscription, n: int) -> list[events.Event]:
    got = []
    for _ in range(n):
        event = sub.get(timeout=WAIT_S)
        assert event is not None, f"only {len(got)} of {n} events arrived within {WAIT_S} s"
        got.append(event)
    return got


def test_subscribe_since_replays_the_log_in_order(db_url: str) -> None:
    _changes(db_url, 3)
    log = read_events(db=db_url)
    middle = log[3].id
    with events.subscribe("missions", since=middle, db=db_url, **QUIET) as sub:
        wanted = [e for e in log if e.id > middle and e.topic == "missions"]
        assert _take(sub, len(wanted)) == wanted
        assert sub.get(timeout=0.2) is None  # nothing more
        assert sub.position == wanted[-1].id
        # live: a change made now follows, in order
        [mid] = _changes(db_url, 1)
        live = _take(sub, 2)
        assert [(e.type, e.subject) for e in live] == [
            ("mission.created", mid),
            ("mission.status_changed", mid),
        ]
        resume_at = live[0].id
    # resuming from an id handled earlier delivers the rest again (at least once)
    with events.subscribe(["missions", "tasks"], since=resume_at, db=db_url, **QUIET) as again:
        rest = read_events(resume_at, db=db_url)
        assert _take(again, len(rest)) == rest and len(rest) == 2
    assert "closed" in repr(sub)
    with pytest.raises(ValidationError, match="subscription is closed"):
        sub.get(timeout=0)
    assert list(sub) == []


def test_subscribe_from_now_and_as_an_iterator(db_url: str) -> None:
    _changes(db_url, 1)
    with events.subscribe(None, db=db_url, **QUIET) as sub:
        assert sub.get(timeout=0.2) is None  # since=None: only what comes next
        writer = threading.Thread(target=_changes, args=(db_url, 2))
        writer.start()
        got = list(itertools.islice(sub, 6))
        writer.join()
    assert got == read_events(read_events(db=db_url)[2].id, db=db_url)
    with pytest.raises(ValidationError, match="unknown event topic"):
        events.subscribe("mission", db=db_url)
    with pytest.raises(ValidationError, match="since -1"):
        events.subscribe("missions", since=-1, db=db_url)


def test_async_iteration(db_url: str) -> None:
    _changes(db_url, 1)
    start = read_events(db=db_url)[-1].id

    async def follow() -> list[events.Event]:
        got: list[events.Event] = []
        async with events.subscribe("missions", since=start, db=db_url, **QUIET) as sub:
            writer = asyncio.create_task(asyncio.to_thread(_changes, db_url, 2))
            async for event in sub:
                got.append(event)
                if len(got) == 4:
                    break
            await writer
            assert await sub.aget(timeout=0.2) is None
        return got

    # a private loop, not asyncio.run: that leaves the main thread without an event loop, which
    # later tests (ipyleaflet's fit_bounds outside a kernel) need
    loop = asyncio.new_event_loop()
    try:
        got = loop.run_until_complete(asyncio.wait_for(follow(), WAIT_S))
    finally:
        loop.close()
    assert got == read_events(start, topics="missions", db=db_url)


def test_concurrent_writers_are_seen_in_order_without_gaps(db_url: str) -> None:
    """Writers on four threads; one subscriber reads along while they commit.

    Ids the subscriber sees must be strictly increasing and, at the end, be every id in the
    log: had a lower id become visible after a higher one, the subscriber (resuming from the
    highest id it saw) would have skipped it.
    """
    writers, each = 4, 8
    seen: list[int] = []
    with events.subscribe(None, since=0, db=db_url, **QUIET) as sub:
        stop = threading.Event()

        def read_along() -> None:
            while not stop.is_set() or sub.lag():
                event = sub.get(timeout=0.05)
                if event is not None:
                    seen.append(event.id)

        reader = threading.Thread(target=read_along)
        reader.start()
        barrier = threading.Barrier(writers)

        def write(k: int) -> None:
            barrier.wait()
            for i in range(each):
                m = db.add_mission(f"w{k}-{i}", lat=k, lon=i, db=db_url)
                db.update_mission(m.id, expected_version=1, name=f"w{k}-{i}b", db=db_url)

        threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        reader.join(timeout=WAIT_S)
    log = [e.id for e in read_events(db=db_url)]
    assert len(log) == writers * each * 2
    assert all(a < b for a, b in itertools.pairwise(seen))
    assert seen == log


# --------------------------------------------------------------------------- PostGIS


def _pg(url: str) -> Any:
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = True
    return conn


@pytest.mark.postgis
def test_notify_wakes_a_waiting_subscriber(postgis_url: str) -> None:
    with events.subscribe("missions", db=postgis_url, **QUIET) as sub:
        assert sub.wait_listening(WAIT_S)
        pid = sub.listener_pid
        admin = _pg(postgis_url)
        with admin.cursor() as cur:
            cur.execute(
                "SELECT application_name, query FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            assert cur.fetchone() == (Listener.application_name, "LISTEN marsgis_events")
        admin.close()
        # the change is made while the subscriber waits; its heartbeat is an hour away, so
        # only the notification can wake it within the bounded wait
        timer = threading.Timer(0.3, _changes, args=(postgis_url, 1))
        timer.start()
        event = sub.get(timeout=WAIT_S)
        timer.join()
        assert event is not None and event.type == "mission.created"
        assert sub.reconnects == 0


@pytest.mark.postgis
def test_a_killed_listener_reconnects_and_loses_nothing(postgis_url: str) -> None:
    _changes(postgis_url, 1)
    start = read_events(db=postgis_url)[-1].id
    with events.subscribe(None, since=start, db=postgis_url, **QUIET) as sub:
        assert sub.wait_listening(WAIT_S)
        old = sub.listener_pid
        admin = _pg(postgis_url)
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (old,))
            assert cur.fetchone() == (True,)
        # written while the listener is dead or reconnecting: found by the resync
        _changes(postgis_url, 2)
        got = _take(sub, 6)
        for _ in range(int(WAIT_S / 0.05)):  # the new connection is up (bounded wait)
            if sub.listener_pid not in (None, old):
                break
            threading.Event().wait(0.05)
        assert sub.reconnects >= 1 and sub.listener_pid not in (None, old)
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (old,))
            assert cur.fetchone() == (0,)
        admin.close()
        # and notifications arrive on the new connection
        assert sub.wait_listening(WAIT_S)
        timer = threading.Timer(0.3, _changes, args=(postgis_url, 1))
        timer.start()
        got += _take(sub, 3)
        timer.join()
    assert got == read_events(start, db=postgis_url)
    assert len(got) == 9


@pytest.mark.postgis
def test_subscriptions_share_one_listener_connection(postgis_url: str) -> None:
    with (
        events.subscribe("missions", db=postgis_url, **QUIET) as a,
        events.subscribe("tasks", db=postgis_url, **QUIET) as b,
    ):
        assert a.wait_listening(WAIT_S) and b.wait_listening(WAIT_S)
        assert a.listener_pid == b.listener_pid is not None
        _changes(postgis_url, 1)
        assert [e.type for e in _take(a, 2)] == ["mission.created", "mission.status_changed"]
        assert [e.type for e in _take(b, 1)] == ["task.added"]
    admin = _pg(postgis_url)
    with admin.cursor() as cur:
        for _ in range(int(WAIT_S / 0.05)):  # the last close ends the listener (bounded wait)
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                (Listener.application_name,),
            )
            if cur.fetchone() == (0,):
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the listener connection stayed open after the last subscription closed")
    admin.close()


# --------------------------------------------------------------------------- server restart


@pytest.mark.postgis
def test_a_postgresql_restart_mid_stream_loses_no_event(private_postgres: Any) -> None:
    """A private cluster stopped (``-m fast``) and started again while a writer adds missions.

    A live subscriber rides through the restart (its shared listener reconnects and resyncs,
    its log reads are retried) and one that stopped before the restart resumes afterwards
    with ``since``: both see exactly the log's ids, in order, none missing, none twice.
    """
    url = private_postgres.url
    db.upgrade(url)
    _changes(url, 1)
    start = last_event_id(url)
    count = 60
    seen: list[int] = []
    with events.subscribe("missions", since=start, db=url, **QUIET) as sub:
        assert sub.wait_listening(WAIT_S)
        old_listener = sub.listener_pid
        stop = threading.Event()

        def read_along() -> None:
            while not stop.is_set() or sub.lag():
                event = sub.get(timeout=0.05)
                if event is not None:
                    seen.append(event.id)

        reader = threading.Thread(target=read_along, daemon=True)
        reader.start()
        writer = MissionWriter(url, count, wait_s=WAIT_S)
        writer.start()
        assert writer.paused.wait(WAIT_S)
        for _ in range(int(WAIT_S / 0.05)):  # the reader has caught up (bounded wait)
            if len(seen) == count // 3:
                break
            threading.Event().wait(0.05)
        assert len(seen) == count // 3
        # a second subscriber stops here, to resume after the restart
        stopped_at = seen[-1]
        # `pg_ctl restart -m fast` in its two steps, so that the writer surely meets the outage
        private_postgres.stop("fast")
        writer.resume.set()
        for _ in range(int(WAIT_S / 0.05)):  # the writer's next write failed (bounded wait)
            if writer.retries:
                break
            threading.Event().wait(0.05)
        assert writer.retries >= 1 and len(writer.acknowledged) == count // 3
        private_postgres.start()
        writer.join(WAIT_S * 2)
        assert not writer.is_alive() and writer.failure is None, writer.failure
        stop.set()
        reader.join(WAIT_S)
        assert not reader.is_alive()
        for _ in range(int(WAIT_S / 0.05)):  # the listener is back (bounded wait)
            if sub.listener_pid not in (None, old_listener):
                break
            threading.Event().wait(0.05)
        assert sub.reconnects >= 1 and sub.listener_pid not in (None, old_listener)
    log = log_of_the_missions(url, start, writer.acknowledged)
    assert len(log) >= count  # a write cut at its commit may have been stored and retried
    assert seen == log
    # the subscriber stopped before the restart resumes from its last id: exactly the rest
    with events.subscribe("missions", since=stopped_at, db=url, **QUIET) as resumed:
        rest = _take(resumed, len(log) - count // 3)
        assert resumed.get(timeout=0.2) is None
    assert [e.id for e in rest] == log[count // 3 :]
