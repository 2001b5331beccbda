"""The station's invariants under real concurrency: separate processes, one database.

A pool of 8 worker processes (multiprocessing, spawn: each opens its own engine) issues the
attempts at once: 50 bookings of one bay for overlapping windows, and 200 admissions to a
colony with 10 places. The outcome is checked against the rows in the database and an
independent interval computation.
"""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from station_helpers import T0, admit_worker, book_worker, small_station, visa_holders, warm

from marsgis.db import get_engine
from marsgis.db import station as st

WORKERS = 8


def _pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))


def test_fifty_processes_never_double_book_a_bay(db_url: str) -> None:
    s = small_station(db_url)
    # 50 windows of 2 h starting every 15 min: each overlaps its 7 neighbours on both sides
    windows = [
        (T0 + timedelta(minutes=15 * i), T0 + timedelta(minutes=15 * i + 120)) for i in range(50)
    ]
    with _pool() as pool:
        list(pool.map(warm, [db_url] * WORKERS))
        futures = [
            pool.submit(book_worker, db_url, s.bay_id, a.isoformat(), b.isoformat(), f"d{i}")
            for i, (a, b) in enumerate(windows)
        ]
        results = [f.result() for f in futures]
    booked = [windows[i] for i, (kind, _) in enumerate(results) if kind == "booked"]
    refused = [windows[i] for i, (kind, _) in enumerate(results) if kind == "conflict"]
    assert len(booked) + len(refused) == 50 and booked
    assert all("already booked" in msg for kind, msg in results if kind == "conflict")
    # the database holds exactly the accepted bookings, and no two overlap: at any instant
    # one booking at most
    stored = sorted((b.starts_at, b.ends_at) for b in st.list_bookings(s.bay_id, db=db_url))
    assert stored == sorted(booked)
    for (_, end), (start, _) in itertools.pairwise(stored):
        assert end <= start
    # and every refusal was for a real overlap with an accepted booking
    for a, b in refused:
        assert any(s0 < b and a < e0 for s0, e0 in stored)
    assert st.verify_audit(db=db_url).intact


def test_two_hundred_admissions_for_ten_places(db_url: str) -> None:
    s = small_station(db_url, capacity=25, population=15)  # 10 places left
    holders = visa_holders(db_url, s.colony_id, 200)
    arrival = (T0 + timedelta(hours=3)).isoformat()
    with _pool() as pool:
        list(pool.map(warm, [db_url] * WORKERS))
        futures = [
            pool.submit(admit_worker, db_url, p, s.colony_id, d, arrival) for p, d, _ in holders
        ]
        results = [f.result() for f in futures]
    kinds = [kind for kind, _ in results]
    assert kinds.count("admitted") == 10
    assert kinds.count("CapacityExceededError") == 190
    assert all("is full" in msg for kind, msg in results if kind != "admitted")
    with get_engine(db_url).connect() as conn:
        population, capacity = conn.execute(
            sa.text("SELECT population, capacity FROM station_colonies WHERE id = :i"),
            {"i": s.colony_id},
        ).one()
        outcomes = dict(
            conn.execute(
                sa.text("SELECT outcome, count(*) FROM station_entry_events GROUP BY outcome")
            ).all()
        )
        residents = conn.execute(sa.text("SELECT count(*) FROM station_residents")).scalar()
    assert (population, capacity) == (25, 25)
    assert outcomes == {"admitted": 10, "refused": 190}
    assert residents == 10
    verification = st.verify_audit(db=db_url)
    assert verification.intact
    assert verification.records == len(st.list_audit(db=db_url))
