"""Every statement the station store runs compiles for the CockroachDB dialect.

The store's operations run for real on PostgreSQL in the CockroachDB flavour
(``?marsgis_compat=cockroachdb``); each statement SQLAlchemy executed there is captured and
compiled again with ``sqlalchemy-cockroachdb``'s dialect, and must give the same SQL text as
the PostgreSQL dialect gave (CockroachDB speaks PostgreSQL's SQL) up to two spellings that mean
the same there: identifiers CockroachDB reserves are quoted (``"role"``), and ``JSON`` is its
name of ``JSONB``. So what a ``cockroachdb://`` URL sends is what was run here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy_cockroachdb.psycopg2 import CockroachDBDialect_psycopg2
from station_helpers import OFFICER, SECOND_OFFICER, T0, small_station, visa_holders

from marsgis import db
from marsgis.db import station as st
from marsgis.db.schema import metadata
from marsgis.exceptions import BookingConflictError, CapacityExceededError

pytestmark = pytest.mark.postgis


def _exercise(url: str) -> None:
    """Every station store operation, once or more (refusals included)."""
    s = small_station(url, capacity=2)
    holders = visa_holders(url, s.colony_id, 3)
    arrival = T0 + timedelta(hours=1)
    for p, d, _ in holders[:2]:
        st.admit_passenger(
            p, s.colony_id, document_id=d, arrival_at=arrival, officer=OFFICER, db=url
        )
    p, d, visa = holders[2]
    with pytest.raises(CapacityExceededError):
        st.admit_passenger(
            p, s.colony_id, document_id=d, arrival_at=arrival, officer=OFFICER, db=url
        )
    st.record_entry(
        p,
        s.colony_id,
        "secondary_inspection",
        officer=OFFICER,
        reason="x-ray",
        arrival_at=arrival,
        db=url,
    )
    st.propose_revocation(visa, officer=OFFICER, reason="fraud", expected_version=1, db=url)
    st.revoke_visa(
        visa, officer=SECOND_OFFICER, reason="fraud confirmed", expected_version=2, db=url
    )
    st.expire_visas(at=T0 + timedelta(days=400), actor="system", db=url)
    st.book_bay(
        s.bay_id,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=2),
        actor="d",
        voyage_id=s.voyage_id,
        db=url,
    )
    with pytest.raises(BookingConflictError):
        st.book_bay(
            s.bay_id,
            starts_at=T0 + timedelta(hours=1),
            ends_at=T0 + timedelta(hours=3),
            actor="d",
            db=url,
        )
    st.file_manifest(s.voyage_id, [(p, d)], actor="d", db=url)
    colony = st.get_colony(s.colony_id, db=url)
    st.set_capacity(
        s.colony_id, 5, expected_version=colony.version, actor="o", reason="new dome", db=url
    )
    for read in (
        st.list_colonies,
        st.list_bays,
        st.list_bookings,
        st.list_voyages,
        st.list_applications,
        st.list_visas,
        st.list_entry_events,
        st.list_residents,
        st.list_audit,
    ):
        read(db=url)
    st.manifest_passengers(s.voyage_id, db=url)
    st.passenger_documents(p, db=url)
    assert st.verify_audit(db=url).intact


def _same(sql: str) -> str:
    """``sql`` without identifier quotes, JSON casts spelled JSONB."""
    return re.sub(r"::JSON\b", "::JSONB", sql.replace('"', ""))


def test_every_station_statement_compiles_for_cockroachdb(postgis_url: str) -> None:
    url = f"{postgis_url}?marsgis_compat=cockroachdb"
    db.upgrade(url)
    captured: list[Any] = []

    def capture(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        captured.append(clause)

    engine = db.get_engine(url)
    sa.event.listen(engine, "before_execute", capture)
    try:
        _exercise(url)
    finally:
        sa.event.remove(engine, "before_execute", capture)

    cockroach, pg = CockroachDBDialect_psycopg2(), postgresql.psycopg2.dialect()
    inserted: set[str] = set()
    for clause in captured:
        text = str(clause.compile(dialect=cockroach))
        assert _same(text) == _same(str(clause.compile(dialect=pg))), text
        if isinstance(clause, sa.Insert):
            inserted.add(clause.table.name)
    # the operations wrote into every station table, and the event log
    assert {t for t in metadata.tables if t.startswith("station")} | {"events"} <= inserted
    assert len(captured) > 100
