"""The ``station-arrivals`` report on a seeded station: its figures against plain SQL counts.

A station seeded with a fixed seed; the expected numbers are counted here with SQL on the
store's tables (entry events per voyage and outcome on the day, manifest entries per voyage,
colonies' capacity and population), independently of :mod:`marsgis.station.arrivals`. The
report runs through the report machinery (papermill, HTML export, run record) and on a
schedule fired by a real ``marsgis scheduler --once`` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from marsgis import db, reports
from marsgis.db import get_engine
from marsgis.db.station.seed import store_station
from marsgis.station.seed import generate_station

CLI = str(Path(sys.executable).parent / "marsgis")
SEED, PASSENGERS = 17, 240


def _as_utc(value: Any) -> datetime:
    # PostGIS returns aware datetimes, SQLite the naive UTC text it stores
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _expected(url: str, day: date) -> dict[str, Any]:
    """The report's figures for ``day``, counted with SQL."""
    with get_engine(url).connect() as conn:
        q = lambda sql: conn.execute(sa.text(sql)).all()  # noqa: E731
        rows = [
            (voyage, outcome, colony)
            for voyage, outcome, colony, at in q(
                "SELECT e.voyage_id, e.outcome, c.name, e.arrival_at FROM station_entry_events e "
                "JOIN station_colonies c ON c.id = e.colony_id"
            )
            if _as_utc(at).date() == day
        ]
        entries = [(v, o) for v, o, _ in rows]
        admitted_in = Counter(c for _, o, c in rows if o == "admitted")
        windows = q("SELECT id, arrival_start, arrival_end FROM station_voyages")
        manifests: dict[int, int] = dict(
            q(
                "SELECT m.voyage_id, count(*) FROM station_manifest_entries e "
                "JOIN station_manifests m ON m.id = e.manifest_id GROUP BY m.voyage_id"
            )
        )
        colonies = q("SELECT name, capacity, population FROM station_colonies ORDER BY id")
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    arriving = sorted(
        {
            int(v)
            for v, a, b in windows
            if _as_utc(a) < start + timedelta(days=1) and _as_utc(b) > start
        }
        | {int(v) for v, _ in entries if v is not None}
    )
    per_voyage = Counter(entries)
    outcomes = Counter(o for _, o in entries)
    voyages = {
        v: {
            "manifest": manifests.get(v, 0),
            "admitted": per_voyage[(v, "admitted")],
            "refused": per_voyage[(v, "refused")],
            "secondary_inspection": per_voyage[(v, "secondary_inspection")],
        }
        for v in arriving
    }
    return {
        "totals": {
            "voyages": len(arriving),
            "manifest": sum(manifests.get(v, 0) for v in arriving),
            "admitted": outcomes["admitted"],
            "refused": outcomes["refused"],
            "secondary_inspection": outcomes["secondary_inspection"],
        },
        "voyages": voyages,
        "occupancy": [
            {
                "colony": n,
                "capacity": c,
                "population": p,
                "free": c - p,
                "admitted_on_day": admitted_in[n],
            }
            for n, c, p in colonies
        ],
    }


def _seeded(url: str) -> date:
    """Seed the station; return the UTC day of the first voyage's arrivals."""
    db.upgrade(url)
    summary = store_station(generate_station(seed=SEED, passengers=PASSENGERS), db=url)
    assert summary["manifests"] == 12 and summary["admitted"] > 0
    with get_engine(url).connect() as conn:
        first = conn.execute(sa.text("SELECT min(arrival_at) FROM station_entry_events")).scalar()
    return _as_utc(first).date()


def _figures(run: reports.ReportRun) -> dict[str, Any]:
    assert run.status == "succeeded", run.error
    doc: dict[str, Any] = json.loads(
        (Path(run.outputs["dir"]) / "arrivals.json").read_text(encoding="utf-8")
    )
    return doc


def _check(doc: dict[str, Any], expected: dict[str, Any], day: date) -> None:
    assert doc["day"] == day.isoformat()
    totals = {k: doc["totals"][k] for k in expected["totals"]}
    assert totals == expected["totals"]
    voyages = {
        row["voyage"]: {
            k: row[k] for k in ("manifest", "admitted", "refused", "secondary_inspection")
        }
        for row in doc["voyages"]
    }
    assert voyages == expected["voyages"]
    occupancy = [
        {k: row[k] for k in ("colony", "capacity", "population", "free", "admitted_on_day")}
        for row in doc["occupancy"]
    ]
    assert occupancy == expected["occupancy"]


def test_arrivals_report_figures_equal_the_store(db_url: str, tmp_path: Path) -> None:
    day = _seeded(db_url)
    expected = _expected(db_url, day)
    assert expected["totals"]["voyages"] >= 1 and expected["totals"]["admitted"] > 0
    run = reports.run_report(
        "station-arrivals", {"day": day.isoformat()}, db=db_url, out_dir=tmp_path / "reports"
    )
    doc = _figures(run)
    _check(doc, expected, day)
    # the HTML page shows the same numbers, and no code
    html = Path(str(run.html)).read_text(encoding="utf-8")
    t = expected["totals"]
    assert f"{t['admitted']} admitted, {t['refused']} refused" in html
    assert f"{t['manifest']} passenger(s) on their manifests" in html
    assert "arrivals_summary(" not in html
    # a day with no arrivals: an empty report, not an error
    quiet = reports.run_report(
        "station-arrivals", {"day": "2030-01-01"}, db=db_url, out_dir=tmp_path / "reports"
    )
    empty = _figures(quiet)
    assert empty["voyages"] == [] and empty["totals"]["admitted"] == 0
    assert [(r["colony"], r["population"], r["admitted_on_day"]) for r in empty["occupancy"]] == [
        (r["colony"], r["population"], 0) for r in doc["occupancy"]
    ]


def test_a_scheduled_arrivals_report_fires(spatialite_url: str, tmp_path: Path) -> None:
    day = _seeded(spatialite_url)
    # every second from a minute ago: due now; `day` fixed to the seeded arrivals
    sched = reports.add_schedule(
        "arrivals",
        "station-arrivals",
        "* * * * * *",
        {"day": day.isoformat()},
        start=datetime.now(UTC) - timedelta(minutes=1),
        db=spatialite_url,
    )
    env = {
        **os.environ,
        "MARSGIS_DATABASE_URL": spatialite_url,
        "MARSGIS_REPORTS_DIR": str(tmp_path / "reports"),
    }
    done = subprocess.run(
        [CLI, "scheduler", "--once", "--json"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["succeeded"], summary["failed"]) == (1, 0)
    runs = reports.list_runs(db=spatialite_url)
    assert [(r.report, r.schedule_id, r.status) for r in runs] == [
        ("station-arrivals", sched.id, "succeeded")
    ]
    _check(_figures(runs[0]), _expected(spatialite_url, day), day)
    assert Path(str(runs[0].html)).is_relative_to(tmp_path / "reports" / "station-arrivals")
