"""The audit log's hash chain, computed and verified without a database.

Each record's ``hash`` is ``sha256(prev_hash + canonical_json(record))`` in hex, where the
canonical JSON holds the record's ``id``, ``at`` (ISO 8601, UTC, microseconds), ``actor``,
``role``, ``action``, ``subject_type``, ``subject_id``, ``reason`` and ``details``, with sorted
keys and no spaces; the first record's ``prev_hash`` is :data:`GENESIS`. Ids run 1, 2, 3, ...
with no gap, so a removed record breaks the chain too.

>>> from datetime import UTC, datetime
>>> fields = dict(id=1, at=datetime(2031, 1, 1, tzinfo=UTC), actor="omar", role="officer",
...               action="visa.issued", subject_type="visa", subject_id="7", reason=None,
...               details={})
>>> chain_hash(GENESIS, fields)[:16]
'aecfb3786a0606ae'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marsgis.station.records import AuditRecord

__all__ = ["GENESIS", "AuditVerification", "canonical_json", "chain_hash", "verify_chain"]

#: ``prev_hash`` of the first record.
GENESIS = "0" * 64
_FIELDS = (
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


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON of an audit record's hashed fields."""
    at = fields["at"]
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise TypeError(f"audit time {at!r} must be an aware datetime")
    doc = {name: fields[name] for name in _FIELDS}
    doc["id"] = int(doc["id"])
    doc["at"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc["details"] = dict(doc["details"] or {})
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(fields))`` as 64 hex digits."""
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of :func:`verify_chain`.

    ``broken_id`` is the id of the first record that does not verify (None when intact) and
    ``problem`` says why.
    """

    intact: bool
    records: int
    broken_id: int | None = None
    problem: str | None = None
    last_hash: str = GENESIS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "intact": self.intact,
            "records": self.records,
            "broken_id": self.broken_id,
            "problem": self.problem,
            "last_hash": self.last_hash,
        }


def verify_chain(records: Iterable[AuditRecord]) -> AuditVerification:
    """Check a log's records, in id order, against their hash chain.

    Stops at the first record whose id is out of sequence, whose ``prev_hash`` is not the
    previous record's hash, or whose ``hash`` does not match its contents.
    """
    prev = GENESIS
    count = 0
    for record in records:
        expected_id = count + 1
        if record.id != expected_id:
            return AuditVerification(
                False,
                count,
                record.id,
                f"record {record.id} follows record {count}: record {expected_id} is missing",
                prev,
            )
        if record.prev_hash != prev:
            return AuditVerification(
                False,
                count,
                record.id,
                f"record {record.id} does not link to the hash of record {count}",
                prev,
            )
        fields = {name: getattr(record, name) for name in _FIELDS}
        if chain_hash(prev, fields) != record.hash:
            return AuditVerification(
                False,
                count,
                record.id,
                f"record {record.id} was altered: its contents do not match its hash",
                prev,
            )
        prev = record.hash
        count += 1
    return AuditVerification(True, count, last_hash=prev)
