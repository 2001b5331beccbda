"""The station's invariants at SERIALIZABLE, through the retrying path, from real processes.

Two ways to run PostgreSQL at ``SERIALIZABLE`` (``docs/station.md``, "CockroachDB"):

* ``cockroach``: ``?marsgis_compat=cockroachdb``, the CockroachDB flavour of the schema on the
  local PostgreSQL server: no exclusion constraint (a bay booking is a check inside the
  serialisable transaction), SRID 0 geometries, no advisory locks. The code paths a
  ``cockroachdb://`` URL takes, on a server that runs here;
* ``serializable``: ``?marsgis_isolation=serializable``, the PostGIS schema at SERIALIZABLE.

A pool of 8 worker processes (spawn: each opens its own engine) makes the attempts at once;
conflicts abort transactions with SQLSTATE 40001, which :func:`marsgis.db.run_transaction`
runs again; the workers count those retries. Outcomes are checked against the rows in the
database and an independent interval computation.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from serializable_helpers import counted_admit, counted_book
from station_helpers import T0, small_station, visa_holders, warm

from marsgis import db
from marsgis.db import station as st

WORKERS = 8
OPTIONS = {
    "cockroach": "marsgis_compat=cockroachdb",
    "serializable": "marsgis_isolation=serializable",
}

pytestmark = pytest.mark.postgis


# the CockroachDB flavour runs in `make test-slow` (~30 s); SERIALIZABLE PostgreSQL in every run
@pytest.fixture(params=[pytest.param("cockroach", marks=pytest.mark.slow), "serializable"])
def serializable_url(request: pytest.FixtureRequest, postgis_url: str) -> Iterator[str]:
    """A fresh PostGIS database reached at SERIALIZABLE, migrated to head."""
    url = f"{postgis_url}?{OPTIONS[request.param]}"
    db.upgrade(url)
    with db.get_engine(url).connect() as conn:
        assert conn.execute(sa.text("SHOW transaction_isolation")).scalar() == "serializable"
    yield url


def _pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))


def _exclusion_constraints(url: str) -> list[str]:
    with db.get_engine(url).connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT conname FROM pg_constraint WHERE contype = 'x' "
                    "AND conrelid = 'station_bay_bookings'::regclass"
                )
            ).scalars()
        )


def test_two_hundred_admissions_for_ten_places(serializable_url: str) -> None:
    url = serializable_url
    s = small_station(url, capacity=25, population=15)  # 10 places left
    holders = visa_holders(url, s.colony_id, 200)
    arrival = (T0 + timedelta(hours=3)).isoformat()
    with _pool() as pool:
        list(pool.map(warm, [url] * WORKERS))
        futures = [
            pool.submit(counted_admit, url, p, s.colony_id, d, arrival) for p, d, _ in holders
        ]
        results = [f.result() for f in futures]
    kinds = [kind for kind, _, _ in results]
    assert kinds.count("admitted") == 10
    assert kinds.count("CapacityExceededError") == 190
    assert all("is full" in msg for kind, msg, _ in results if kind != "admitted")
    # contention was real: transactions were aborted with 40001 and run again
    retries = sum(n for _, _, n in results)
    print(f"admissions at SERIALIZABLE ({url.rsplit('?', 1)[1]}): {retries} retries")
    assert retries > 0, "no transaction was retried: the test did not exercise the retry path"
    with db.get_engine(url).connect() as conn:
        population, capacity = conn.execute(
            sa.text("SELECT population, capacity FROM station_colonies WHERE id = :i"),
            {"i": s.colony_id},
        ).one()
        outcomes: dict[str, int] = dict(
            conn.execute(
                sa.text("SELECT outcome, count(*) FROM station_entry_events GROUP BY outcome")
            ).all()
        )
        residents = sorted(
            conn.execute(sa.text("SELECT passenger_id FROM station_residents")).scalars()
        )
        event_ids = list(conn.execute(sa.text("SELECT id FROM events ORDER BY id")).scalars())
    assert (population, capacity) == (25, 25)
    assert outcomes == {"admitted": 10, "refused": 190}
    admitted = sorted(
        p for (p, _, _), (kind, _, _) in zip(holders, results, strict=True) if kind == "admitted"
    )
    assert residents == admitted
    verification = st.verify_audit(db=url)
    assert verification.intact
    # every decision (10 admissions + 190 refusals) has exactly one audit record
    entries = [r for r in st.list_audit(db=url) if r.action == "entry_recorded"]
    assert len(entries) == 200
    if "marsgis_compat" in url:
        # the flavour's event ids are read-then-written in the serialisable transaction
        assert event_ids == list(range(1, len(event_ids) + 1))


def test_fifty_processes_never_double_book_a_bay(serializable_url: str) -> None:
    url = serializable_url
    compat = "marsgis_compat" in url
    # the CockroachDB flavour has no exclusion constraint: the serialisable check alone
    assert _exclusion_constraints(url) == ([] if compat else ["ex_station_bay_bookings_overlap"])
    s = small_station(url)
    # 50 windows of 2 h starting every 15 min: each overlaps its 7 neighbours on both sides
    windows = [
        (T0 + timedelta(minutes=15 * i), T0 + timedelta(minutes=15 * i + 120)) for i in range(50)
    ]
    with _pool() as pool:
        list(pool.map(warm, [url] * WORKERS))
        futures = [
            pool.submit(counted_book, url, s.bay_id, a.isoformat(), b.isoformat(), f"d{i}")
            for i, (a, b) in enumerate(windows)
        ]
        results = [f.result() for f in futures]
    booked = [windows[i] for i, (kind, _, _) in enumerate(results) if kind == "booked"]
    refused = [windows[i] for i, (kind, _, _) in enumerate(results) if kind == "conflict"]
    assert len(booked) + len(refused) == 50 and booked
    retries = sum(n for _, _, n in results)
    print(f"bookings at SERIALIZABLE ({url.rsplit('?', 1)[1]}): {retries} retries")
    assert all("already booked" in msg for kind, msg, _ in results if kind == "conflict")
    stored = sorted((b.starts_at, b.ends_at) for b in st.list_bookings(s.bay_id, db=url))
    assert stored == sorted(booked)
    # at any instant one booking at most
    for (_, end), (start, _) in itertools.pairwise(stored):
        assert end <= start
    # every refusal was for a real overlap with an accepted booking
    for a, b in refused:
        assert any(s0 < b and a < e0 for s0, e0 in stored)
    assert st.verify_audit(db=url).intact
