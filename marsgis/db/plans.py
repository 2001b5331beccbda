"""Mission tasks and plan artefacts: ordered tasks with a status, and stored geometries.

Tables (revision 0003): ``mission_tasks`` (ordered per mission by ``position``) and
``mission_artefacts`` (a geometry of any type in the Mars SRID :data:`MARS_SRID`, a ``kind``
of ``ellipse`` or ``traverse``, a name and JSON properties). Both belong to a mission and go
with it when it is deleted.

Geometries are stored as given, shifted by whole turns of 360° so that their centre lies in
−180–180 °E (the convention of the mission targets) while staying continuous across the
180° meridian.

Task statuses: ``todo``, ``in_progress``, ``done``, ``skipped``, with the transitions in
:data:`TASK_TRANSITIONS` (``done`` is final; a ``skipped`` task can be taken up again).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, Engine, RowMapping

from marsgis.crs import MARS_GEOGRAPHIC
from marsgis.db import _validation as check
from marsgis.db.engine import inserted_id, transaction
from marsgis.db.schema import MARS_SRID, JSONDocument, UTCDateTime, UUIDString, missions
from marsgis.exceptions import NotFoundError, StateTransitionError, ValidationError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ARTEFACT_KINDS",
    "TASK_STATUSES",
    "TASK_TRANSITIONS",
    "Artefact",
    "Task",
    "add_artefact",
    "add_task",
    "artefacts_frame",
    "delete_artefact",
    "delete_task",
    "get_artefact",
    "list_artefacts",
    "list_tasks",
    "reorder_tasks",
    "set_task_status",
]

TASK_STATUSES = ("todo", "in_progress", "done", "skipped")
ARTEFACT_KINDS = ("ellipse", "traverse")
#: Allowed task status changes.
TASK_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "todo": ("in_progress", "done", "skipped"),
    "in_progress": ("done", "skipped", "todo"),
    "done": (),
    "skipped": ("todo",),
}

plans_metadata = sa.MetaData()

mission_tasks = sa.Table(
    "mission_tasks",
    plans_metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("mission_id", UUIDString, nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

mission_artefacts = sa.Table(
    "mission_artefacts",
    plans_metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("mission_id", UUIDString, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column(
        "geometry", Geometry("GEOMETRY", srid=MARS_SRID, spatial_index=False), nullable=False
    ),
    sa.Column("properties", JSONDocument, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Task:
    """A mission task: ``position`` orders the tasks of a mission (0 first)."""

    id: int
    mission_id: str
    position: int
    title: str
    description: str
    status: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "mission_id": self.mission_id,
            "position": self.position,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


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


def _require_mission(conn: Connection, mission_id: str) -> None:
    found = conn.execute(sa.select(missions.c.id).where(missions.c.id == mission_id)).first()
    if found is None:
        raise NotFoundError(
            f"no mission with id {mission_id!r}; list the stored missions with "
            "marsgis.db.list_missions() or `marsgis mission list`"
        )


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"task title {value!r} must be a non-empty string")
    clean = value.strip()
    if len(clean) > check.NAME_MAX:
        raise ValidationError(
            f"task title {clean[:40]!r}... is longer than {check.NAME_MAX} characters"
        )
    return clean


def _to_task(row: RowMapping) -> Task:
    return Task(
        id=int(row["id"]),
        mission_id=str(row["mission_id"]),
        position=int(row["position"]),
        title=row["title"],
        description=row["description"] or "",
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _tasks(conn: Connection, mission_id: str) -> list[Task]:
    t = mission_tasks.c
    rows = conn.execute(
        sa.select(mission_tasks).where(t.mission_id == mission_id).order_by(t.position)
    ).mappings()
    return [_to_task(r) for r in rows]


def add_task(
    mission_id: str | uuid.UUID,
    title: str,
    *,
    position: int | None = None,
    description: str = "",
    status: str = "todo",
    db: str | Engine | None = None,
) -> Task:
    """Add a task to a mission, at the end or at ``position`` (later tasks move down one).

    Raises
    ------
    NotFoundError
        No such mission.
    ValidationError
        Empty title, unknown status, position outside ``0..len(tasks)``.
    """
    mid = check.mission_id(mission_id)
    clean = _title(title)
    desc = check.text(description, "description", optional=False)
    st = check.choice(status, "task status", TASK_STATUSES)
    now = _now()
    with transaction(db, write=True) as conn:
        _require_mission(conn, mid)
        existing = _tasks(conn, mid)
        pos = len(existing) if position is None else int(position)
        if not 0 <= pos <= len(existing):
            raise ValidationError(
                f"task position {position!r} is outside 0..{len(existing)} for this mission"
            )
        # shift later tasks down, last first (keeps (mission_id, position) unique at each step)
        for task in reversed(existing[pos:]):
            conn.execute(
                mission_tasks.update()
                .where(mission_tasks.c.id == task.id)
                .values(position=task.position + 1)
            )
        result = conn.execute(
            mission_tasks.insert().values(
                mission_id=mid,
                position=pos,
                title=clean,
                description=desc,
                status=st,
                created_at=now,
                updated_at=now,
            )
        )
        new_id = inserted_id(result)
        row = (
            conn.execute(sa.select(mission_tasks).where(mission_tasks.c.id == new_id))
            .mappings()
            .one()
        )
        return _to_task(row)


def list_tasks(mission_id: str | uuid.UUID, db: str | Engine | None = None) -> list[Task]:
    """The tasks of a mission in order."""
    mid = check.mission_id(mission_id)
    with transaction(db) as conn:
        _require_mission(conn, mid)
        return _tasks(conn, mid)


def _task_row(conn: Connection, task_id: int) -> Task:
    row = (
        conn.execute(sa.select(mission_tasks).where(mission_tasks.c.id == int(task_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(
            f"no task with id {task_id!r}; list a mission's tasks with list_tasks(mission_id)"
        )
    return _to_task(row)


def set_task_status(task_id: int, status: str, db: str | Engine | None = None) -> Task:
    """Move a task to ``status`` along :data:`TASK_TRANSITIONS`.

    Raises
    ------
    StateTransitionError
        The change is not allowed (the message lists what is).
    """
    new = check.choice(status, "task status", TASK_STATUSES)
    with transaction(db, write=True) as conn:
        task = _task_row(conn, task_id)
        allowed = TASK_TRANSITIONS[task.status]
        if new not in allowed:
            options = ", ".join(repr(s) for s in allowed) or f"nothing ({task.status!r} is final)"
            raise StateTransitionError(
                f"task {task.id} ({task.title!r}) cannot go from {task.status!r} to {new!r}; "
                f"from {task.status!r} it may go to: {options}"
            )
        conn.execute(
            mission_tasks.update()
            .where(mission_tasks.c.id == task.id, mission_tasks.c.status == task.status)
            .values(status=new, updated_at=_now())
        )
        return _task_row(conn, task.id)


def reorder_tasks(
    mission_id: str | uuid.UUID, task_ids: list[int], db: str | Engine | None = None
) -> list[Task]:
    """Put a mission's tasks in the order of ``task_ids`` (which must list each task once)."""
    mid = check.mission_id(mission_id)
    with transaction(db, write=True) as conn:
        _require_mission(conn, mid)
        current = _tasks(conn, mid)
        ids = [int(i) for i in task_ids]
        if sorted(ids) != sorted(t.id for t in current):
            raise ValidationError(
                f"task ids {task_ids!r} must list each task of the mission once: "
                f"{[t.id for t in current]}"
            )
        offset = len(current) + 1
        # two passes: move out of the way, then into place (no unique-position clash)
        for i, tid in enumerate(ids):
            conn.execute(
                mission_tasks.update().where(mission_tasks.c.id == tid).values(position=offset + i)
            )
        now = _now()
        for i, tid in enumerate(ids):
            conn.execute(
                mission_tasks.update()
                .where(mission_tasks.c.id == tid)
                .values(position=i, updated_at=now)
            )
        return _tasks(conn, mid)


def delete_task(task_id: int, db: str | Engine | None = None) -> None:
    """Delete a task; the later tasks of its mission move up one."""
    with transaction(db, write=True) as conn:
        task = _task_row(conn, task_id)
        conn.execute(mission_tasks.delete().where(mission_tasks.c.id == task.id))
        for later in [t for t in _tasks(conn, task.mission_id) if t.position > task.position]:
            conn.execute(
                mission_tasks.update()
                .where(mission_tasks.c.id == later.id)
                .values(position=later.position - 1)
            )


# --------------------------------------------------------------------------- artefacts


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
    db: str | Engine | None = None,
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
    label = _title(name)
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
        _require_mission(conn, mid)
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
        return _to_artefact(row)


def get_artefact(artefact_id: int, db: str | Engine | None = None) -> Artefact:
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
    mission_id: str | uuid.UUID, *, kind: str | None = None, db: str | Engine | None = None
) -> list[Artefact]:
    """The artefacts of a mission, oldest first, optionally of one kind."""
    mid = check.mission_id(mission_id)
    with transaction(db) as conn:
        _require_mission(conn, mid)
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
    mission_id: str | uuid.UUID, *, kind: str | None = None, db: str | Engine | None = None
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


def delete_artefact(artefact_id: int, db: str | Engine | None = None) -> None:
    """Delete one artefact."""
    with transaction(db, write=True) as conn:
        result = conn.execute(
            mission_artefacts.delete().where(mission_artefacts.c.id == int(artefact_id))
        )
        if result.rowcount != 1:
            raise NotFoundError(f"no artefact with id {artefact_id!r}")
