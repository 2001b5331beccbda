"""Revision 0010 on an existing store: events keep their rows and ids; down and up again."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from marsgis import db
from marsgis.db import station as st


def test_upgrade_keeps_events_and_ids_then_downgrade(db_url: str) -> None:
    assert db.upgrade(db_url, "0008") == "0008"
    engine = db.get_engine(db_url, migrate=False)
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO events (topic, type, subject, at, payload) "
                    "VALUES ('missions', 'mission.created', :s, :at, '{}')"
                ),
                {"s": f"m{i}", "at": datetime(2031, 1, 1, tzinfo=UTC)},
            )
        conn.execute(sa.text("DELETE FROM events WHERE subject = 'm2'"))  # id 3 never reused
    assert db.upgrade(db_url) == db.head_revision()
    colony = st.add_colony("Gale Colony", site="Gale", capacity=3, actor="m", db=db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, topic, subject FROM events ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        (1, "missions", "m0"),
        (2, "missions", "m1"),
        (4, "station", f"colony:{colony.id}"),
    ]
    # a topic outside the list is still refused by the rebuilt CHECK
    with engine.connect() as conn:
        try:
            conn.execute(
                sa.text(
                    "INSERT INTO events (topic, type, subject, at, payload) "
                    "VALUES ('nope', 'x', 'y', :at, '{}')"
                ),
                {"at": datetime(2031, 1, 1, tzinfo=UTC)},
            )
            refused = False
        except sa.exc.IntegrityError:
            refused = True
    assert refused
    assert db.downgrade(db_url, revision="0008") == "0008"
    names = set(sa.inspect(engine).get_table_names())
    assert not {n for n in names if n.startswith("station")}
    with engine.connect() as conn:
        topics = conn.execute(sa.text("SELECT DISTINCT topic FROM events")).scalars().all()
    assert topics == ["missions"]
    assert db.upgrade(db_url) == db.head_revision()
