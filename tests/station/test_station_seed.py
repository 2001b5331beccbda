"""`marsgis station seed`: the demo station, stored on both backends, checked with SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from marsgis.db import get_engine
from marsgis.db import station as st
from marsgis.station.seed import generate_station

ROOT = Path(__file__).resolve().parents[2]


def _seed(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "marsgis", "station", "seed", "--url", url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_seed_stores_a_consistent_station(db_url: str) -> None:
    done = _seed(db_url, "--seed", "5", "--passengers", "400", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    plan = generate_station(seed=5, passengers=400)
    assert summary["plan_sha256"] == plan.digest
    assert summary["passengers"] == 400
    assert summary["visas"] == sum(p["status"] == "approved" for p in plan.passengers)
    with get_engine(db_url).connect() as conn:
        q = lambda sql: conn.execute(sa.text(sql)).all()  # noqa: E731
        sites = q("SELECT site FROM station_colonies ORDER BY id")
        assert [s for (s,) in sites] == ["Jezero", "Gale", "Arcadia Planitia"]
        # population = residents, within capacity, per colony
        rows = q(
            "SELECT c.population, c.capacity, (SELECT count(*) FROM station_residents r "
            "WHERE r.colony_id = c.id) FROM station_colonies c"
        )
        assert all(pop == residents <= cap for pop, cap, residents in rows)
        assert sum(pop for pop, _, _ in rows) == summary["admitted"] > 0
        # every admission: an issued visa of that colony valid at arrival, an unexpired document
        bad = q(
            "SELECT e.id FROM station_entry_events e JOIN station_visas v ON v.id = e.visa_id "
            "JOIN station_travel_documents d ON d.id = e.document_id "
            "WHERE e.outcome = 'admitted' AND NOT (v.colony_id = e.colony_id AND "
            "v.status = 'issued' AND v.valid_from <= e.arrival_at AND "
            "e.arrival_at < v.valid_until AND d.expires_on >= e.arrival_at)"
        )
        assert bad == []
        # no two bookings of a bay overlap
        overlaps = q(
            "SELECT a.id FROM station_bay_bookings a JOIN station_bay_bookings b "
            "ON a.bay_id = b.bay_id AND a.id < b.id "
            "AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        )
        assert overlaps == []
    assert st.verify_audit(db=db_url).intact
    again = _seed(db_url, "--passengers", "10")
    assert again.returncode == 2 and "already has colonies" in again.stderr
