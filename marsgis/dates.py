"""Dates and times as marsgis takes them: UTC, from a datetime, a date or an ISO 8601 string.

One parser for every public function that takes a time (risk assessments, reports, schedules):
naive datetimes and dates are UTC, aware ones are converted to UTC, strings are ISO 8601 with
``Z`` accepted for UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from marsgis.exceptions import ValidationError

__all__ = ["to_utc"]


def to_utc(value: datetime | date | str, *, what: str = "date") -> datetime:
    """``value`` as an aware UTC datetime.

    Parameters
    ----------
    value
        A datetime (naive = UTC), a date (midnight UTC) or an ISO 8601 string.
    what
        How the caller names the value in error messages (e.g. ``"report date"``).

    Raises
    ------
    ValidationError
        Not ISO 8601, or not a date at all (the message names the value).

    Examples
    --------
    >>> to_utc("2012-08-06T05:17:57Z")
    datetime.datetime(2012, 8, 6, 5, 17, 57, tzinfo=datetime.timezone.utc)
    >>> to_utc("2021-02-18").isoformat()
    '2021-02-18T00:00:00+00:00'
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{what} {value!r} is not ISO 8601; give e.g. '2012-08-06T05:17:57Z' or "
                "'2021-02-18'"
            ) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ValidationError(f"{what} {value!r} must be a datetime, a date or an ISO 8601 string")
