"""The admission rule: who may enter a colony at arrival.

A passenger is admitted to a colony only with

* a visa for **that colony**, issued (not merely applied for), valid at the arrival time
  (``valid_from <= arrival < valid_until``) and not revoked before it (a revoked visa is
  refused from its revocation time on);
* a travel document that is **unexpired** on the arrival date and is the passenger's own;
* room in the colony (checked by the store in one atomic conditional update, not here).

:func:`admission_refusals` lists every reason a case fails (empty when it passes);
:func:`check_admission` raises them together.
"""

from __future__ import annotations

from datetime import datetime

from marsgis.exceptions import AdmissionRefusedError, ValidationError
from marsgis.station.records import TravelDocument, Visa

__all__ = ["admission_refusals", "check_admission"]


def _aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{what} {value!r} must be a timezone-aware datetime, e.g. "
            "datetime(2031, 5, 1, 12, tzinfo=UTC)"
        )
    return value


def admission_refusals(
    *,
    passenger_id: int,
    colony_id: int,
    arrival_at: datetime,
    visa: Visa | None,
    document: TravelDocument | None,
) -> list[str]:
    """Every reason the passenger may not be admitted to the colony at ``arrival_at``.

    An empty list means the visa and document allow the admission (capacity is checked by
    the store).
    """
    arrival = _aware(arrival_at, "arrival_at")
    reasons: list[str] = []
    if visa is None:
        reasons.append(f"passenger {passenger_id} holds no visa for colony {colony_id}")
    else:
        if visa.passenger_id != passenger_id:
            reasons.append(f"visa {visa.id} belongs to passenger {visa.passenger_id}")
        if visa.colony_id != colony_id:
            reasons.append(f"visa {visa.id} is for colony {visa.colony_id}, not colony {colony_id}")
        if visa.revoked_at is not None and arrival >= visa.revoked_at:
            reasons.append(f"visa {visa.id} was revoked at {visa.revoked_at.isoformat()}")
        elif visa.status == "revoked" and visa.revoked_at is None:  # pragma: no cover
            reasons.append(f"visa {visa.id} is revoked")
        if arrival < visa.valid_from:
            reasons.append(
                f"visa {visa.id} is valid only from {visa.valid_from.isoformat()} (arrival "
                f"{arrival.isoformat()})"
            )
        if arrival >= visa.valid_until:
            reasons.append(
                f"visa {visa.id} expired at {visa.valid_until.isoformat()} (arrival "
                f"{arrival.isoformat()})"
            )
    if document is None:
        reasons.append(f"passenger {passenger_id} presented no travel document")
    else:
        if document.passenger_id != passenger_id:
            reasons.append(
                f"document {document.document_number} belongs to passenger {document.passenger_id}"
            )
        if document.expires_on < arrival.date():
            reasons.append(
                f"document {document.document_number} expired on {document.expires_on.isoformat()}"
            )
    return reasons


def check_admission(
    *,
    passenger_id: int,
    colony_id: int,
    arrival_at: datetime,
    visa: Visa | None,
    document: TravelDocument | None,
) -> None:
    """Raise :class:`~marsgis.exceptions.AdmissionRefusedError` listing every failed condition."""
    reasons = admission_refusals(
        passenger_id=passenger_id,
        colony_id=colony_id,
        arrival_at=arrival_at,
        visa=visa,
        document=document,
    )
    if reasons:
        raise AdmissionRefusedError(
            f"passenger {passenger_id} cannot be admitted to colony {colony_id}: "
            + "; ".join(reasons)
            + ". Issue a visa for this colony valid at the arrival time and present an "
            "unexpired document, or record the entry as refused"
        )
