"""Lon/lat boxes ``(west, south, east, north)`` as every marsgis surface takes them.

One check for a box given as numbers (:func:`check_bbox`) and one parser for the ``W,S,E,N``
text of the CLI and the API (:func:`parse_bbox`). Longitudes are east-positive, 0–360 or
−180–180; a box whose west edge is east of its east edge crosses the 180° meridian.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from marsgis.exceptions import CoordinateError

__all__ = ["Bbox", "check_bbox", "parse_bbox"]

Bbox = tuple[float, float, float, float]


def check_bbox(values: Sequence[float], *, what: str = "bbox") -> Bbox:
    """Four finite degrees ``(west, south, east, north)`` with −90 ≤ south ≤ north ≤ 90.

    Raises
    ------
    CoordinateError
        Not four numbers, not finite, or latitudes out of order or range (names ``what``).

    Examples
    --------
    >>> check_bbox([137.2, -5, 137.6, -4.4])
    (137.2, -5.0, 137.6, -4.4)
    """
    try:
        west, south, east, north = (float(v) for v in values)
    except (TypeError, ValueError):
        raise CoordinateError(
            f"{what} {values!r} must be four numbers W,S,E,N: west, south, east, north in "
            "degrees °E/°N, e.g. 137.2,-5.0,137.6,-4.4"
        ) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise CoordinateError(f"{what} {values!r} must be finite degrees (W,S,E,N)")
    if not -90.0 <= south <= north <= 90.0:
        raise CoordinateError(
            f"{what} {values!r} needs -90 <= south <= north <= 90 (W,S,E,N: west, south, "
            "east, north)"
        )
    return west, south, east, north


def parse_bbox(text: str, *, what: str = "bbox") -> Bbox:
    """A ``"W,S,E,N"`` text as a checked box (see :func:`check_bbox`).

    >>> parse_bbox("136.5,-6,138.5,-4", what="--bbox")
    (136.5, -6.0, 138.5, -4.0)
    """
    try:
        values = [float(p) for p in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise CoordinateError(
            f"{what} {text!r} must be four numbers W,S,E,N: west, south, east, north in "
            "degrees °E/°N, e.g. 137.2,-5.0,137.6,-4.4"
        )
    return check_bbox(values, what=what)
