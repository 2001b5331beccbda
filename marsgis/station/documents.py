"""What an officer checks on a travel document: its machine-readable zone and its validity.

:func:`check_document` re-verifies the stored TD3 zone (check digits, through
:func:`~marsgis.station.mrz.parse_td3`), compares it with the stored fields and checks the
expiry on a given day, and lists every problem it finds (none: the document is good).

>>> from datetime import date
>>> from marsgis.station.mrz import make_td3
>>> zone = make_td3(surname="OKAFOR", given_names="AMARA", document_number="M00000001",
...     issuing_state="NGA", nationality="NGA", birth_date=date(1990, 1, 2), sex="F",
...     expires_on=date(2033, 1, 1))
>>> doc = TravelDocument(1, 1, "M00000001", "NGA", date(2033, 1, 1), zone)
>>> check_document(doc, on=date(2031, 5, 1)).problems
()
>>> check_document(doc, on=date(2033, 1, 2)).problems
('document M00000001 expired on 2033-01-01 (checked for 2033-01-02)',)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from marsgis.exceptions import ValidationError
from marsgis.station.mrz import parse_td3
from marsgis.station.records import TravelDocument

__all__ = ["DocumentCheck", "check_document"]


@dataclass(frozen=True)
class DocumentCheck:
    """The result of :func:`check_document`.

    Attributes
    ----------
    document
        The document checked.
    on
        The day its validity was checked for.
    mrz_valid
        Whether the machine-readable zone verifies (ICAO 9303 check digits) and matches the
        stored number, issuing state and expiry.
    expired
        Whether the document expired before ``on``.
    problems
        Every problem found, in words (empty: the document is good on ``on``).
    """

    document: TravelDocument
    on: date
    mrz_valid: bool
    expired: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def check_document(document: TravelDocument, *, on: date) -> DocumentCheck:
    """Check ``document``'s machine-readable zone and whether it is still valid on ``on``."""
    if not isinstance(on, date):
        raise ValidationError(f"on {on!r} must be a date, e.g. datetime.date(2031, 5, 1)")
    problems: list[str] = []
    mrz_valid = True
    try:
        fields = parse_td3(document.mrz)
    except ValidationError as exc:
        mrz_valid = False
        problems.append(f"document {document.document_number}: {exc}")
    else:
        stored = (document.document_number, document.issuing_state, document.expires_on)
        read = (fields.document_number, fields.issuing_state, fields.expires_on)
        if stored != read:
            mrz_valid = False
            problems.append(
                f"document {document.document_number}: the MRZ reads number "
                f"{fields.document_number}, state {fields.issuing_state}, expiry "
                f"{fields.expires_on.isoformat()}, not the stored {stored[0]}, {stored[1]}, "
                f"{stored[2].isoformat()}"
            )
    expired = document.expires_on < on
    if expired:
        problems.append(
            f"document {document.document_number} expired on "
            f"{document.expires_on.isoformat()} (checked for {on.isoformat()})"
        )
    return DocumentCheck(document, on, mrz_valid, expired, tuple(problems))
