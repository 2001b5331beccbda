"""The audit log: append-only on both backends, and tampering found by `marsgis station audit
verify`, which names the first broken record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from station_helpers import small_station

from marsgis.db import get_engine
from marsgis.db import station as st
from marsgis.station.audit import GENESIS, canonical_json

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "marsgis", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_chain_recomputed_independently(db_url: str) -> None:
    import hashlib

    small_station(db_url)
    prev = GENESIS
    for record in st.list_audit(db=db_url):
        fields = {
            k: getattr(record, k)
            for k in (
                "id",
                "at",
                "actor",
                "role",
                "action",
                "subject_type",
                "subject_id",
                "reason",
                "details",
            )
        }
        assert record.prev_hash == prev
        assert record.hash == hashlib.sha256((prev + canonical_json(fields)).encode()).hexdigest()
        prev = record.hash


def test_update_and_delete_refused_by_triggers(db_url: str) -> None:
    small_station(db_url)
    engine = get_engine(db_url)
    for sql in (
        "UPDATE station_audit_log SET reason = 'x' WHERE id = 2",
        "DELETE FROM station_audit_log WHERE id = 5",
    ):
        with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.execute(sa.text(sql))
    assert len(st.list_audit(db=db_url)) == 5


def _tamper(db_url: str, record_id: int) -> None:
    """Alter one record as an attacker with the owner's rights would: triggers off first."""
    engine = get_engine(db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE station_audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(sa.text("DROP TRIGGER station_audit_log_no_update"))
        conn.execute(
            sa.text("UPDATE station_audit_log SET actor = 'mallory' WHERE id = :i"),
            {"i": record_id},
        )


def test_audit_verify_cli_intact_then_names_tampered_record(db_url: str) -> None:
    small_station(db_url)
    ok = _cli("station", "audit", "verify", "--url", db_url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "intact, 5 records"
    _tamper(db_url, 3)
    broken = _cli("station", "audit", "verify", "--url", db_url, "--json")
    assert broken.returncode == 1
    doc = json.loads(broken.stdout)
    assert doc["intact"] is False and doc["broken_id"] == 3
    assert "record 3 was altered" in broken.stderr
    text = _cli("station", "audit", "verify", "--url", db_url)
    assert text.returncode == 1 and "record 3" in text.stdout + text.stderr
