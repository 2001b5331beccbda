"""Item search over the shipped catalog: bbox, GeoJSON geometry, time, collections, ids.

The filters a STAC API's ``/search`` offers, answered from :func:`shipped_catalog` in memory
(no database): a notebook calls :func:`shipped_items` directly, and the HTTP API's STAC
client (:mod:`marsgis.api.routers.stac`) answers every search with it.

Longitudes on Mars come in two conventions; both are accepted. A ``bbox`` may use 0–360 or
−180–180 °E and ``west > east`` crosses the 180° meridian; an ``intersects`` geometry meets an
item's footprint when it does so as it is or shifted by ±360°.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import pystac
from shapely import affinity
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from marsgis.catalog._shipped import shipped_catalog
from marsgis.dates import to_utc
from marsgis.exceptions import ValidationError

__all__ = [
    "GEOMETRY_TYPES",
    "bbox_intersects",
    "parse_bbox",
    "parse_datetime",
    "parse_intersects",
    "shipped_items",
]

#: The GeoJSON geometry types ``intersects`` takes.
GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
_POINT_EXAMPLE = '{"type": "Point", "coordinates": [137.4, -4.6]}'


def _lon_ranges(west: float, east: float) -> list[tuple[float, float]]:
    """The longitudes ``west``→``east`` (eastward) as ranges within [0, 360]."""
    width = east - west if west <= east else east - west + 360.0
    if width >= 360.0:
        return [(0.0, 360.0)]
    start = west % 360.0
    if start + width <= 360.0:
        return [(start, start + width)]
    return [(start, 360.0), (0.0, start + width - 360.0)]


def bbox_intersects(query: Sequence[float], bbox: Sequence[float]) -> bool:
    """Whether two lon/lat boxes (W, S, E, N, any longitude convention) intersect on Mars.

    >>> bbox_intersects((170, -10, -170, 10), (175, 0, 185, 5))  # crosses 180°
    True
    >>> bbox_intersects((-30, -10, -20, 10), (330, 0, 335, 5))   # −30 °E == 330 °E
    True
    >>> bbox_intersects((137.2, -5.0, 137.6, -4.4), (77.2, 18.4, 77.5, 18.5))
    False
    """
    qw, qs, qe, qn = query
    w, s, e, n = bbox
    if qs > n or s > qn:
        return False
    return any(
        a1 <= b2 and a2 <= b1 for a1, b1 in _lon_ranges(qw, qe) for a2, b2 in _lon_ranges(w, e)
    )


def parse_bbox(value: str | Sequence[float]) -> tuple[float, float, float, float]:
    """A ``bbox`` (``"W,S,E,N"`` or 4/6 numbers, heights dropped) as ``(W, S, E, N)``.

    >>> parse_bbox("170,-10,-170,10")
    (170.0, -10.0, -170.0, 10.0)
    """
    try:
        numbers = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise ValidationError(
            f"bbox {value!r} must be numbers W,S,E,N in degrees, e.g. 137.2,-5.0,137.6,-4.4"
        ) from None
    if len(numbers) == 6:  # W, S, zmin, E, N, zmax
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise ValidationError(
            f"bbox {value!r} must have 4 numbers W,S,E,N (or 6 with heights), "
            "e.g. 137.2,-5.0,137.6,-4.4"
        )
    west, south, east, north = numbers
    lons_ok = all(-180.0 <= lon <= 360.0 for lon in (west, east))
    if not (-90.0 <= south <= north <= 90.0) or not lons_ok:
        raise ValidationError(
            f"bbox {value!r} is out of range: need -90 <= S <= N <= 90 and longitudes in "
            "-180..360 °E (W > E crosses 180°)"
        )
    return west, south, east, north


def parse_intersects(value: str | Mapping[str, Any]) -> BaseGeometry:
    """An ``intersects`` value (a GeoJSON geometry, or its JSON text) as a shapely geometry.

    >>> parse_intersects('{"type": "Point", "coordinates": [137.4, -4.6]}').wkt
    'POINT (137.4 -4.6)'
    """
    geometry: Any = value
    if isinstance(value, str):
        try:
            geometry = json.loads(value)
        except ValueError:
            geometry = None
    if not isinstance(geometry, Mapping) or geometry.get("type") not in GEOMETRY_TYPES:
        raise ValidationError(
            f"intersects {value!r} must be a GeoJSON geometry, one of "
            f"{', '.join(GEOMETRY_TYPES)}, e.g. {_POINT_EXAMPLE}"
        )
    try:
        found = shape(geometry)
        bounds = found.bounds
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ShapelyError) as error:
        raise ValidationError(
            f"intersects {value!r} is not a valid GeoJSON geometry ({error}); e.g. {_POINT_EXAMPLE}"
        ) from None
    if found.is_empty or not all(math.isfinite(v) for v in bounds):
        raise ValidationError(f"intersects {value!r} is empty or not finite; e.g. {_POINT_EXAMPLE}")
    west, south, east, north = bounds
    if south < -90.0 or north > 90.0 or west < -360.0 or east > 360.0:
        raise ValidationError(
            f"intersects {value!r} is out of range: latitudes -90..90, longitudes -180..360 °E"
        )
    return found if found.is_valid else found.buffer(0)


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """A STAC ``datetime`` (instant, or interval ``START/END`` with ``..`` open) as a pair.

    >>> parse_datetime("2012-08-06T00:00:00Z/..")[1] is None
    True
    """
    parts = value.split("/")
    if len(parts) > 2:
        raise ValidationError(
            f"datetime {value!r} must be an instant or an interval START/END, "
            "e.g. 2012-08-06T00:00:00Z/.."
        )

    def end(text: str) -> datetime | None:
        return None if text.strip() in ("", "..") else to_utc(text, what="STAC datetime")

    start, stop = end(parts[0]), end(parts[-1])
    if start is not None and stop is not None and start > stop:
        raise ValidationError(f"datetime {value!r} ends before it starts; swap START and END")
    return start, stop


@lru_cache(maxsize=1)
def _items() -> tuple[pystac.Item, ...]:
    return tuple(shipped_catalog().get_items(recursive=True))


def _times(item: pystac.Item) -> tuple[datetime, datetime]:
    if item.datetime is not None:
        return to_utc(item.datetime), to_utc(item.datetime)
    start, end = item.common_metadata.start_datetime, item.common_metadata.end_datetime
    if start is None or end is None:  # pystac requires one or the other
        raise ValidationError(f"shipped item {item.id!r} has no datetime nor start/end")
    return to_utc(start), to_utc(end)


def _meets(query: BaseGeometry, item: pystac.Item) -> bool:
    footprint = shape(item.geometry)
    return any(
        query.intersects(affinity.translate(footprint, xoff=shift))
        for shift in (0.0, -360.0, 360.0)
    )


def shipped_items(
    *,
    bbox: str | Sequence[float] | None = None,
    intersects: str | Mapping[str, Any] | None = None,
    datetime: str | None = None,
    collections: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
) -> list[pystac.Item]:
    """The shipped catalog's Items that match every filter given, in catalog order.

    Parameters
    ----------
    bbox
        ``(W, S, E, N)`` or ``"W,S,E,N"`` in °E/°N: 0–360 or −180–180, ``W > E`` crosses 180°.
    intersects
        A GeoJSON geometry (or its JSON text) in °E/°N that must meet the Item's footprint.
    datetime
        An RFC 3339 instant or interval ``START/END`` (``..`` = open), met by the Item's
        ``datetime`` or its ``start_datetime``–``end_datetime`` range.
    collections, ids
        Keep Items of these collections / with these ids.

    Returns
    -------
    list of pystac.Item
        Copies: editing them changes nothing later calls see.

    Raises
    ------
    ValidationError
        A malformed or out-of-range filter, or ``bbox`` together with ``intersects``.

    Examples
    --------
    >>> [i.id for i in shipped_items(bbox=(77.0, 18.0, 78.0, 19.0))]
    ['mola', 'gazetteer', 'craters', 'm20-traverse']
    """
    if bbox is not None and intersects is not None:
        raise ValidationError(
            "give bbox or intersects, not both (STAC item search); put the box in "
            "intersects as a Polygon if you need both"
        )
    box = None if bbox is None else parse_bbox(bbox)
    geometry = None if intersects is None else parse_intersects(intersects)
    interval = None if datetime is None else parse_datetime(datetime)
    chosen = []
    for item in _items():
        if collections is not None and item.collection_id not in collections:
            continue
        if ids is not None and item.id not in ids:
            continue
        if box is not None and (item.bbox is None or not bbox_intersects(box, item.bbox)):
            continue
        if geometry is not None and not _meets(geometry, item):
            continue
        if interval is not None:
            start, stop = _times(item)
            if (interval[1] is not None and start > interval[1]) or (
                interval[0] is not None and stop < interval[0]
            ):
                continue
        chosen.append(item.clone())
    return chosen
