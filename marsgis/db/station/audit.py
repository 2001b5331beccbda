"""The station audit log: append-only, hash chained (table ``station_audit_log``).

Every station decision appends one record (actor, role, action, subject, reason, time,
details) in the decision's own transaction. The record's ``hash`` is
``sha256(prev_hash + canonical JSON)`` (:mod:`marsgis.station.audit`); ids run 1, 2, 3, ...
without gaps. Appends are serialised so the chain never forks: on PostGIS by
``pg_advisory_xact_lock`` on one key, taken as one of the transaction's last statements, after
the event log's lock (:mod:`marsgis.db.events`; always in that order, so the two never deadlock); on SpatiaLite by the write lock every writer takes
at ``BEGIN IMMEDIATE``. Triggers refuse ``UPDATE`` and ``DELETE`` of audit rows on both
backends (and ``TRUNCATE`` on PostGIS). In the CockroachDB flavour no lock is taken: its
transactions are ``SERIALIZABLE``, two that read the same last record conflict, and
:func:`marsgis.db.engine.run_transaction` runs the loser again. :func:`verify_audit` re-computes the chain and names
the first record that does not verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import (
    DatabaseLike,
    before_commit,
    database_flavour,
    transaction,
    transaction_state,
)
from marsgis.db.events import APPEND_LOCK_KEY
from marsgis.db.schema import station_audit_log
from marsgis.station.audit import GENESIS, AuditVerification, chain_hash, verify_chain
from marsgis.station.records import AuditRecord

__all__ = ["append_audit", "list_audit", "verify_audit"]

_LOCK_KEY = 949_900_010
_STATE_KEY = "station_audit"


def append_audit(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    subject_type: str,
    subject_id: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Queue an audit record for the end of ``conn``'s write transaction (store modules)."""
    row = {
        "at": datetime.now(UTC),
        "actor": actor,
        "role": role,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "reason": reason,
        "details": dict(details or {}),
    }
    state = transaction_state(conn)
    if state is None:
        _insert(conn, [row])
        return
    queue: list[dict[str, Any]] | None = state.get(_STATE_KEY)
    if queue is None:
        queue = state[_STATE_KEY] = []
        rows = queue
        before_commit(conn, lambda c: _insert(c, rows))
    queue.append(row)


def lock_chain(conn: Connection) -> None:
    """Take the locks of the event log and the audit chain now, in their one order (PostGIS).

    Appends take them as their last statements anyway; a change that would otherwise wait on
    another writer's row first (a bay booking waiting on an overlapping booking's exclusion
    check) takes them at its start, so no two writers ever wait on each other in opposite
    orders (a deadlock, 40P01). Advisory locks are re-entrant within a transaction. The
    CockroachDB flavour takes none (its SERIALIZABLE conflicts are retried); SQLite writers are
    serialised at ``BEGIN IMMEDIATE``.
    """
    if database_flavour(conn) == "postgresql":
        for key in (APPEND_LOCK_KEY, _LOCK_KEY):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    # (the CockroachDB flavour takes no advisory lock: its SERIALIZABLE transactions that read
    # the same last record conflict, and one of them is retried by run_transaction)
    lock_chain(conn)
    a = station_audit_log.c
    last = conn.execute(sa.select(a.id, a.hash).order_by(a.id.desc()).limit(1)).first()
    last_id, prev = (0, GENESIS) if last is None else (int(last[0]), str(last[1]))
    for row in rows:
        last_id += 1
        fields = {**row, "id": last_id}
        digest = chain_hash(prev, fields)
        conn.execute(station_audit_log.insert().values(**fields, prev_hash=prev, hash=digest))
        prev = digest


def _to_record(row: RowMapping) -> AuditRecord:
    return AuditRecord(
        id=int(row["id"]),
        at=row["at"],
        actor=str(row["actor"]),
        role=str(row["role"]),
        action=str(row["action"]),
        subject_type=str(row["subject_type"]),
        subject_id=str(row["subject_id"]),
        reason=row["reason"],
        details=dict(row["details"] or {}),
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


def list_audit(
    *,
    subject_type: str | None = None,
    subject_id: object | None = None,
    db: DatabaseLike = None,
) -> list[AuditRecord]:
    """The audit records, oldest first, optionally of one subject."""
    query = sa.select(station_audit_log).order_by(station_audit_log.c.id)
    if subject_type is not None:
        query = query.where(station_audit_log.c.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(station_audit_log.c.subject_id == str(subject_id))
    with transaction(db) as conn:
        return [_to_record(row) for row in conn.execute(query).mappings()]


def _stream(conn: Connection, batch: int = 5000) -> Iterator[AuditRecord]:
    after = 0
    while True:
        rows = (
            conn.execute(
                sa.select(station_audit_log)
                .where(station_audit_log.c.id > after)
                .order_by(station_audit_log.c.id)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield _to_record(row)
        after = int(rows[-1]["id"])


def verify_audit(db: DatabaseLike = None) -> AuditVerification:
    """Re-compute the audit log's hash chain in one read transaction.

    Returns an :class:`~marsgis.station.audit.AuditVerification`: ``intact`` and the number of
    records, or the id of the first record that was altered, removed or inserted out of
    sequence (``broken_id``) and why (``problem``).
    """
    with transaction(db) as conn:
        return verify_chain(_stream(conn))
