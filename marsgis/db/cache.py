"""The catalog download cache index: thin functions over the ``mars_data_cache`` table.

One row per cached asset: its ``href`` (unique), ``data_type``, lon/lat ``bounds`` polygon in
:data:`~marsgis.db.schema.MARS_SRID` (longitudes stored in −180–180 °E, like every marsgis
geometry), ``sha256``, a ``metadata`` JSON document, the file ``path`` and the ``cached_at`` /
``expires_at`` times (aware UTC). :mod:`marsgis.catalog` does the downloading; this module only
reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import sqlalchemy as sa
from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape
from shapely.affinity import translate
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.schema import MARS_SRID, mars_data_cache
from marsgis.geo import check_bbox, lon180

__all__ = [
    "CachedAsset",
    "assets_within",
    "delete_asset",
    "expired_assets",
    "find_asset",
    "lonlat_polygon",
    "record_asset",
]

#: Bounds as a lon/lat shapely geometry, a ``(west, south, east, north)`` box, or None.
Bounds: TypeAlias = BaseGeometry | Sequence[float] | None

# SpatiaLite's R*Tree of the bounds column (created by migration 0002).
_SPATIALITE_INDEX = "idx_mars_data_cache_bounds"


@dataclass(frozen=True)
class CachedAsset:
    """One row of ``mars_data_cache``."""

    id: int
    href: str
    data_type: str
    bounds: Polygon | None
    sha256: str | None
    metadata: dict[str, Any] = field(repr=False)
    path: Path
    cached_at: datetime
    expires_at: datetime | None

    def is_expired(self, now: datetime | None = None) -> bool:
        """True once ``expires_at`` has passed (``now``: the current UTC time by default)."""
        if self.expires_at is None:
            return False
        return self.expires_at <= (now or datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``bbox`` is ``[west, south, east, north]``, ``bounds`` WKT."""
        return {
            "id": self.id,
            "href": self.href,
            "data_type": self.data_type,
            "bbox": list(self.bounds.bounds) if self.bounds is not None else None,
            "bounds": self.bounds.wkt if self.bounds is not None else None,
            "sha256": self.sha256,
            "metadata": self.metadata,
            "path": str(self.path),
            "cached_at": self.cached_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def _box_values(bbox: Sequence[float], what: str) -> tuple[float, float, float, float]:
    return check_bbox(bbox, what=what)


def lonlat_polygon(bounds: Bounds) -> Polygon | None:
    """``bounds`` as a 2-D lon/lat Polygon with longitudes in −180–180 °E.

    A polygon given in 0–360 °E is shifted west by 360°; one that crosses the 180° meridian is
    stored as the full longitude band of its latitudes (a superset, so spatial filters still
    find it). Non-polygon geometries are replaced by their envelope.
    """
    if bounds is None:
        return None
    if isinstance(bounds, BaseGeometry):
        geom = bounds
    else:
        geom = box(*_box_values(bounds, "bounds"))
    if geom.is_empty:
        return None
    if not isinstance(geom, Polygon):
        geom = box(*geom.bounds)
    if geom.has_z:
        geom = Polygon([(x, y) for x, y, *_ in geom.exterior.coords])
    west, south, east, north = geom.bounds
    if east - west >= 360.0:
        return box(-180.0, south, 180.0, north)
    if west >= 180.0:
        geom = translate(geom, xoff=-360.0)
    elif west < -180.0:
        geom = translate(geom, xoff=360.0)
    if geom.bounds[2] > 180.0:  # crosses the antimeridian
        return box(-180.0, south, 180.0, north)
    return geom


def _query_boxes(bbox: Sequence[float]) -> list[Polygon]:
    """``bbox`` (0–360 or −180–180 °E) as one or two boxes in −180–180 °E."""
    west, south, east, north = _box_values(bbox, "bbox")
    if east - west >= 360.0:
        return [box(-180.0, south, 180.0, north)]
    w = lon180(west)
    e = w + (east - west if east >= west else east - west + 360.0)
    if e <= 180.0:
        return [box(w, south, e, north)]
    return [box(w, south, 180.0, north), box(-180.0, south, e - 360.0, north)]


def _row(row: Any) -> CachedAsset:
    geom = None if row.bounds is None else to_shape(row.bounds)
    if geom is not None and not isinstance(geom, Polygon):
        geom = box(*geom.bounds)
    return CachedAsset(
        id=int(row.id),
        href=str(row.href),
        data_type=str(row.data_type),
        bounds=geom,
        sha256=None if row.sha256 is None else str(row.sha256),
        metadata=dict(row.metadata or {}),
        path=Path(row.path),
        cached_at=row.cached_at,
        expires_at=row.expires_at,
    )


def _select() -> sa.Select[Any]:
    t = mars_data_cache
    return sa.select(
        t.c.id,
        t.c.href,
        t.c.data_type,
        t.c.bounds,
        t.c.sha256,
        t.c["metadata"],
        t.c.path,
        t.c.cached_at,
        t.c.expires_at,
    )


def record_asset(
    *,
    href: str,
    data_type: str,
    bounds: Bounds,
    sha256: str | None,
    metadata: dict[str, Any],
    path: str | Path,
    cached_at: datetime,
    expires_at: datetime | None,
    db: DatabaseLike = None,
) -> CachedAsset:
    """Insert the row for ``href``, or replace its values when the href is already indexed.

    Parameters
    ----------
    href
        The asset's URL or absolute path (unique key).
    data_type
        ``"dem"``, ``"image"``, ``"vector"``, ...
    bounds
        Lon/lat (°E/°N) footprint: a shapely Polygon, a ``(west, south, east, north)`` box,
        or None; stored as a POLYGON in the Mars SRID (see :func:`lonlat_polygon`).
    sha256
        Hex digest of the cached file.
    metadata
        JSON-serialisable document (item id, collection, properties, media type, ...).
    path
        Where the cached file lives.
    cached_at, expires_at
        Timezone-aware datetimes (``expires_at`` None: never expires).
    db
        Database URL, engine, open connection, or None for ``MARSGIS_DATABASE_URL``.

    Returns
    -------
    CachedAsset
        The row as stored.

    Raises
    ------
    ValidationError
        Malformed bounds or a naive datetime.
    DatabaseError
        The database is unreachable or refused the write.
    """
    poly = lonlat_polygon(bounds)
    values: dict[str, Any] = {
        "href": href,
        "data_type": data_type,
        "bounds": WKTElement(poly.wkt, srid=MARS_SRID) if poly is not None else None,
        "sha256": sha256,
        "metadata": metadata,
        "path": str(path),
        "cached_at": cached_at,
        "expires_at": expires_at,
    }
    table = mars_data_cache
    with transaction(db, write=True) as conn:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        stmt = insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.href],
            set_={k: stmt.excluded[k] for k in values if k != "href"},
        )
        conn.execute(stmt)
        row = conn.execute(_select().where(table.c.href == href)).one()
    return _row(row)


def find_asset(href: str, db: DatabaseLike = None) -> CachedAsset | None:
    """The row for ``href``, or None when it is not cached."""
    with transaction(db) as conn:
        row = conn.execute(_select().where(mars_data_cache.c.href == href)).first()
    return None if row is None else _row(row)


def assets_within(
    bbox: Sequence[float] | None = None,
    *,
    data_type: str | None = None,
    db: DatabaseLike = None,
) -> list[CachedAsset]:
    """Rows whose bounds intersect ``bbox`` (every row when None), oldest first.

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in °E/°N; 0–360 and −180–180 °E longitudes both work,
        and a box with ``west > east`` crosses the 180° meridian.
    data_type
        Keep only rows of this data type.
    db
        Database URL, engine, open connection, or None for ``MARSGIS_DATABASE_URL``.
    """
    table = mars_data_cache
    query = _select().order_by(table.c.cached_at, table.c.id)
    if data_type is not None:
        query = query.where(table.c.data_type == data_type)
    with transaction(db) as conn:
        if bbox is not None:
            boxes = _query_boxes(bbox)
            hits = [table.c.bounds.ST_Intersects(WKTElement(b.wkt, srid=MARS_SRID)) for b in boxes]
            query = query.where(sa.or_(*hits))
            if conn.dialect.name == "sqlite":  # let SpatiaLite's R*Tree pick the candidates
                idx = sa.table(
                    _SPATIALITE_INDEX,
                    *(sa.column(c) for c in ("pkid", "xmin", "xmax", "ymin", "ymax")),
                )
                near = [
                    sa.and_(
                        idx.c.xmin <= b.bounds[2],
                        idx.c.xmax >= b.bounds[0],
                        idx.c.ymin <= b.bounds[3],
                        idx.c.ymax >= b.bounds[1],
                    )
                    for b in boxes
                ]
                query = query.where(table.c.id.in_(sa.select(idx.c.pkid).where(sa.or_(*near))))
        rows = conn.execute(query).all()
    return [_row(r) for r in rows]


def expired_assets(now: datetime | None = None, *, db: DatabaseLike = None) -> list[CachedAsset]:
    """Rows whose ``expires_at`` is at or before ``now`` (default: the current UTC time)."""
    table = mars_data_cache
    when = now or datetime.now(UTC)
    query = (
        _select()
        .where(table.c.expires_at.is_not(None), table.c.expires_at <= when)
        .order_by(table.c.id)
    )
    with transaction(db) as conn:
        rows = conn.execute(query).all()
    return [_row(r) for r in rows]


def delete_asset(href: str, db: DatabaseLike = None) -> bool:
    """Delete the row for ``href`` (not its file); True when a row was deleted."""
    with transaction(db, write=True) as conn:
        result = conn.execute(mars_data_cache.delete().where(mars_data_cache.c.href == href))
    return bool(result.rowcount)
