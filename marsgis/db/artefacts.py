"""Plan artefacts: the geometries of a mission's plan (landing ellipses, traverses).

Table ``mission_artefacts`` (revision 0003, :mod:`marsgis.db.schema`): a geometry of any type
in the Mars SRID :data:`~marsgis.db.schema.MARS_SRID`, a ``kind`` (:data:`ARTEFACT_KINDS`), a
name and JSON properties; deleted with their mission.

Geometries are stored as given, shifted by whole turns of 360° so that their centre lies in
−180–180 °E (the convention of the mission targets) while staying continuous across the
180° meridian.

Adding and deleting record ``artefact.added`` / ``artefact.deleted`` (topic ``plans``,
subject: the artefact id) in the same transaction (:mod:`marsgis.db.events`).

Every function takes ``db``: a URL, an engine, an open connection from
:func:`marsgis.db.transaction` (the call joins that transaction) or None for the default.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, RowMapping

from marsgis.crs import MARS_GEOGRAPHIC
from marsgis.db import _validation as check
from marsgis.db.engine import DatabaseLike, inserted_id, transaction
from marsgis.db.events import append_event
from marsgis.db.missions import require_mission
from marsgis.db.schema import ARTEFACT_KINDS, MARS_SRID, mission_artefacts
from marsgis.exceptions import NotFoundError, ValidationError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ARTEFACT_KINDS",
    "Artefact",
    "add_artefact",
    "artefacts_frame",
    "delete_artefact",
    "get_artefact",
    "list_artefacts",
]


@dataclass(frozen=True)
class Artefact:
    """A stored plan artefact: a geometry (lon/lat °E, Mars SRID) with its properties."""

    id: int
    mission_id: str
    kind: str
    name: str
    geometry: BaseGeometry
    properties: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (geometry as WKT)."""
        return {
            "id": self.id,
            "mission_id": self.mission_id,
            "kind": self.kind,
            "name": self.name,
            "geometry": self.geometry.wkt,
            "properties": dict(self.properties),
            "created_at": self.created_at.isoformat(),
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _centred(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` shifted by whole turns so that its centre lies in [−180, 180) °E."""
    cx = geom.centroid.x if not geom.is_empty else 0.0
    turns = math.floor((cx + 180.0) / 360.0)
    if turns == 0:
        return geom
    return shapely.transform(geom, lambda xy: xy - [360.0 * turns, 0.0])


def _geom_in(conn: Connection, geom: BaseGeometry) -> sa.ColumnElement[Any]:
    wkb = sa.literal(shapely.to_wkb(geom), sa.LargeBinary())
    if conn.dialect.name == "postgresql":
        return sa.func.ST_GeomFromWKB(wkb, MARS_SRID)
    return sa.func.GeomFromWKB(wkb, MARS_SRID)


def _geom_out(conn: Connection) -> sa.ColumnElement[Any]:
    col = mission_artefacts.c.geometry
    if conn.dialect.name == "postgresql":
        return sa.func.ST_AsBinary(col, type_=sa.LargeBinary()).label("wkb")
    return sa.func.AsBinary(col, type_=sa.LargeBinary()).label("wkb")


def _select_artefacts(conn: Connection) -> sa.Select[Any]:
    a = mission_artefacts.c
    return sa.select(
        a.id, a.mission_id, a.kind, a.name, _geom_out(conn), a.properties, a.created_at
    )


def _to_artefact(row: RowMapping) -> Artefact:
    return Artefact(
        id=int(row["id"]),
        mission_id=str(row["mission_id"]),
        kind=row["kind"],
        name=row["name"],
        geometry=shapely.from_wkb(bytes(row["wkb"])),
        properties=dict(row["properties"] or {}),
        created_at=row["created_at"],
    )


def add_artefact(
    mission_id: str | uuid.UUID,
    kind: str,
    name: str,
    geometry: BaseGeometry,
    *,
    properties: dict[str, Any] | None = None,
    db: DatabaseLike = None,
) -> Artefact:
    """Store a plan artefact (a landing-ellipse polygon, a traverse line) for a mission.

    Parameters
    ----------
    mission_id
        The mission.
    kind
        ``"ellipse"`` or ``"traverse"``.
    name
        A label (at most 200 characters).
    geometry
        Any shapely geometry in lon/lat °E (Mars geographic CRS).
    properties
        A JSON object (finite numbers only) kept with it.
    """
    mid = check.mission_id(mission_id)
    k = check.choice(kind, "artefact kind", ARTEFACT_KINDS)
    label = check.name(name, "artefact name")
    if not isinstance(geometry, BaseGeometry) or geometry.is_empty:
        raise ValidationError(
            f"artefact geometry {geometry!r} must be a non-empty shapely geometry"
        )
    if not shapely.is_valid(geometry):
        raise ValidationError(
            f"artefact geometry is invalid ({shapely.is_valid_reason(geometry)}); fix it with shapely.make_valid"
        )
    props = check.json_object(properties, "properties")
    geom = _centred(geometry)
    with transaction(db, write=True) as conn:
        require_mission(conn, mid)
        result = conn.execute(
            mission_artefacts.insert().values(
                mission_id=mid,
                kind=k,
                name=label,
                geometry=_geom_in(conn, geom),
                properties=props,
                created_at=_now(),
            )
        )
        new_id = inserted_id(result)
        row = (
            conn.execute(_select_artefacts(conn).where(mission_artefacts.c.id == new_id))
            .mappings()
            .one()
        )
        artefact = _to_artefact(row)
        append_event(
            conn,
            "artefact.added",
            artefact.id,
            {"mission_id": mid, "kind": artefact.kind, "name": artefact.name},
        )
        return artefact


def get_artefact(artefact_id: int, db: DatabaseLike = None) -> Artefact:
    """Load one artefact."""
    with transaction(db) as conn:
        row = (
            conn.execute(_select_artefacts(conn).where(mission_artefacts.c.id == int(artefact_id)))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(
                f"no artefact with id {artefact_id!r}; list a mission's with list_artefacts(mission_id)"
            )
        return _to_artefact(row)


def list_artefacts(
    mission_id: str | uuid.UUID, *, kind: str | None = None, db: DatabaseLike = None
) -> list[Artefact]:
    """The artefacts of a mission, oldest first, optionally of one kind."""
    mid = check.mission_id(mission_id)
    with transaction(db) as conn:
        require_mission(conn, mid)
        query = _select_artefacts(conn).where(mission_artefacts.c.mission_id == mid)
        if kind is not None:
            query = query.where(
                mission_artefacts.c.kind == check.choice(kind, "artefact kind", ARTEFACT_KINDS)
            )
        rows = conn.execute(
            query.order_by(mission_artefacts.c.created_at, mission_artefacts.c.id)
        ).mappings()
        return [_to_artefact(r) for r in rows]


def artefacts_frame(
    mission_id: str | uuid.UUID, *, kind: str | None = None, db: DatabaseLike = None
) -> gpd.GeoDataFrame:
    """A mission's artefacts as a GeoDataFrame (``id, kind, name, properties, created_at``)."""
    import geopandas as gpd

    items = list_artefacts(mission_id, kind=kind, db=db)
    return gpd.GeoDataFrame(
        {
            "id": [a.id for a in items],
            "kind": [a.kind for a in items],
            "name": [a.name for a in items],
            "properties": [a.properties for a in items],
            "created_at": [a.created_at for a in items],
        },
        geometry=[a.geometry for a in items],
        crs=MARS_GEOGRAPHIC,
    )


def delete_artefact(artefact_id: int, db: DatabaseLike = None) -> None:
    """Delete one artefact."""
    with transaction(db, write=True) as conn:
        deleted = conn.execute(
            mission_artefacts.delete()
            .where(mission_artefacts.c.id == int(artefact_id))
            .returning(mission_artefacts.c.mission_id, mission_artefacts.c.kind)
        ).first()
        if deleted is None:
            raise NotFoundError(f"no artefact with id {artefact_id!r}")
        append_event(
            conn,
            "artefact.deleted",
            int(artefact_id),
            {"mission_id": str(deleted[0]), "kind": str(deleted[1])},
        )
