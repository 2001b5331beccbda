"""Stored missions: create, query, update with optimistic concurrency, and a status lifecycle.

Every function takes ``db``: a database URL, a SQLAlchemy engine, or None for the configured
default (``MARSGIS_DATABASE_URL``, else the SpatiaLite file in the data dir). The schema is
migrated on first use.

Conventions
-----------
* Targets are points in the Mars geographic CRS ``IAU_2015:49900`` (SRID
  :data:`~marsgis.db.schema.MARS_SRID`), planetocentric latitude and east-positive longitude.
  Longitudes are accepted in 0–360 °E or −180–180 °E and **stored and returned in
  [−180, 180) °E**, the range PostGIS and SpatiaLite geometry functions expect
  (so 222.5 °E comes back as −137.5; 180 °E as −180).
* Mission types: ``landing``, ``traverse``, ``orbital``, ``sample_return``, ``survey``,
  ``other``. Statuses: ``planned``, ``active``, ``completed``, ``aborted``, with the transitions
  planned→active, planned→aborted, active→completed, active→aborted (:data:`TRANSITIONS`).
* Every mission has a ``version``, 1 when created and incremented by every change. Changes name
  the version they were based on (``expected_version``); a stale one is refused with
  :class:`~marsgis.exceptions.ConcurrencyError` and nothing is written.
* Each status change, and the creation itself (``from_status`` None), adds a row to the status
  history. Every function runs in one transaction: on any error nothing is half-written.
* Every change records its event (``mission.created``, ``mission.updated``,
  ``mission.status_changed``, ``mission.deleted``; :mod:`marsgis.db.events`) in its own
  transaction.
* Distances are great-circle distances on the Mars sphere, R = 3 396 190 m.

Examples
--------
>>> from marsgis import db  # doctest: +SKIP
>>> m = db.add_mission("Gale landing", lat=-4.5895, lon=137.4417)  # doctest: +SKIP
>>> m = db.set_status(m.id, "active", expected_version=m.version)  # doctest: +SKIP
>>> [(near.mission.name, round(near.distance_m)) for near in
...  db.missions_within_distance(-4.6, 137.4, 50_000)]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M, validate_latlon
from marsgis.db import _validation as check
from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.events import append_event
from marsgis.db.schema import (
    MARS_SRID,
    MISSION_STATUSES,
    MISSION_TYPES,
    mission_status_history,
    missions,
)
from marsgis.exceptions import (
    ConcurrencyError,
    NotFoundError,
    StateTransitionError,
    ValidationError,
)
from marsgis.geo import great_circle_m, lon180

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "MISSION_STATUSES",
    "MISSION_TYPES",
    "TRANSITIONS",
    "Mission",
    "MissionDistance",
    "MissionPage",
    "StatusChange",
    "add_mission",
    "delete_mission",
    "get_mission",
    "list_missions",
    "missions_frame",
    "missions_within_box",
    "missions_within_distance",
    "page_missions",
    "set_status",
    "status_history",
    "update_mission",
]

#: Allowed status changes: current status -> statuses it may move to.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "planned": ("active", "aborted"),
    "active": ("completed", "aborted"),
    "completed": (),
    "aborted": (),
}

_UPDATABLE = (
    "name",
    "description",
    "mission_type",
    "safety_score",
    "scientific_priority",
    "constraints",
    "risk_assessment",
    "objectives",
    "lat",
    "lon",
)
_FRAME_COLUMNS = (
    "id",
    "name",
    "description",
    "mission_type",
    "status",
    "lat",
    "lon",
    "safety_score",
    "scientific_priority",
    "constraints",
    "risk_assessment",
    "objectives",
    "created_at",
    "updated_at",
    "version",
)


@dataclass(frozen=True)
class Mission:
    """A stored mission (a snapshot: reload it with :func:`get_mission` to see later changes).

    Attributes
    ----------
    id
        UUID string.
    lat, lon
        Target, planetocentric degrees; ``lon`` in [−180, 180) °E.
    safety_score, scientific_priority
        Fractions in [0, 1], or None when not assessed.
    constraints, risk_assessment
        JSON objects.
    objectives
        JSON values (usually strings), in order.
    created_at, updated_at
        Timezone-aware UTC.
    version
        Optimistic-concurrency version: pass it as ``expected_version`` when changing the mission.
    """

    id: str
    name: str
    description: str
    mission_type: str
    status: str
    lat: float
    lon: float
    safety_score: float | None
    scientific_priority: float | None
    constraints: dict[str, Any]
    risk_assessment: dict[str, Any]
    objectives: tuple[Any, ...]
    created_at: datetime
    updated_at: datetime
    version: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 strings, objectives as a list)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "mission_type": self.mission_type,
            "status": self.status,
            "lat": self.lat,
            "lon": self.lon,
            "safety_score": self.safety_score,
            "scientific_priority": self.scientific_priority,
            "constraints": copy.deepcopy(self.constraints),
            "risk_assessment": copy.deepcopy(self.risk_assessment),
            "objectives": copy.deepcopy(list(self.objectives)),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }


@dataclass(frozen=True)
class StatusChange:
    """One row of a mission's status history (``from_status`` is None for the creation)."""

    id: int
    mission_id: str
    from_status: str | None
    to_status: str
    changed_at: datetime
    note: str | None
    changed_by: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``changed_at`` as an ISO 8601 string)."""
        return {
            "id": self.id,
            "mission_id": self.mission_id,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "changed_at": self.changed_at.isoformat(),
            "note": self.note,
            "changed_by": self.changed_by,
        }


class MissionDistance(NamedTuple):
    """A mission and its great-circle distance (metres) from the query point."""

    mission: Mission
    distance_m: float


class MissionPage(NamedTuple):
    """One page of a mission query (:func:`page_missions`) and how many match in all."""

    items: list[Mission]
    total: int


# --------------------------------------------------------------------------- SQL helpers


def _now() -> datetime:
    return datetime.now(UTC)


def _point(conn: Connection, lat: float, lon: float) -> sa.ColumnElement[Any]:
    """A Mars-SRID point built in SQL from bound doubles (no text round trip)."""
    x = sa.literal(lon, sa.Float())
    y = sa.literal(lat, sa.Float())
    if conn.dialect.name == "postgresql":
        return sa.func.ST_SetSRID(sa.func.ST_MakePoint(x, y), MARS_SRID)
    return sa.func.MakePoint(x, y, MARS_SRID)


def _select_missions() -> sa.Select[Any]:
    c = missions.c
    return sa.select(
        c.id,
        c.name,
        c.description,
        c.mission_type,
        c.status,
        sa.func.ST_Y(c.target, type_=sa.Float()).label("lat"),
        sa.func.ST_X(c.target, type_=sa.Float()).label("lon"),
        c.safety_score,
        c.scientific_priority,
        c.constraints,
        c.risk_assessment,
        c.objectives,
        c.created_at,
        c.updated_at,
        c.version,
    )


def _to_mission(row: RowMapping) -> Mission:
    def opt(value: Any) -> float | None:
        return None if value is None else float(value)

    return Mission(
        id=str(row["id"]),
        name=row["name"],
        description=row["description"] or "",
        mission_type=row["mission_type"],
        status=row["status"],
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        safety_score=opt(row["safety_score"]),
        scientific_priority=opt(row["scientific_priority"]),
        constraints=dict(row["constraints"] or {}),
        risk_assessment=dict(row["risk_assessment"] or {}),
        objectives=tuple(row["objectives"] or ()),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=int(row["version"]),
    )


def _not_found(mission_id: str) -> NotFoundError:
    return NotFoundError(
        f"no mission with id {mission_id!r}; list the stored missions with "
        "marsgis.db.list_missions() or `marsgis mission list`"
    )


def _load(conn: Connection, mission_id: str) -> Mission:
    row = conn.execute(_select_missions().where(missions.c.id == mission_id)).mappings().first()
    if row is None:
        raise _not_found(mission_id)
    return _to_mission(row)


def require_mission(conn: Connection, mission_id: str) -> None:
    """Raise :class:`~marsgis.exceptions.NotFoundError` unless the mission exists.

    For the store modules that keep rows belonging to a mission (tasks, artefacts), inside
    their open transaction.
    """
    found = conn.execute(sa.select(missions.c.id).where(missions.c.id == mission_id)).first()
    if found is None:
        raise _not_found(mission_id)


def advance_version(conn: Connection, mission_id: str, expected_version: int | None) -> int:
    """Count a change to a mission's plan: its ``version`` goes up one.

    One ``UPDATE ... WHERE id = :id [AND version = :expected]`` inside the caller's transaction,
    so two writers based on the same version cannot both succeed. It records no event: the
    caller records the event of the change it counts (``traverse.saved``).

    Parameters
    ----------
    conn
        The open write transaction of the change.
    mission_id
        The mission.
    expected_version
        The version the change was based on; None to accept any.

    Returns
    -------
    int
        The new version.

    Raises
    ------
    ConcurrencyError
        The mission is no longer at ``expected_version`` (nothing is changed).
    NotFoundError
        No such mission.
    """
    query = missions.update().where(missions.c.id == mission_id)
    if expected_version is not None:
        query = query.where(missions.c.version == check.version(expected_version))
    result = conn.execute(
        query.values(version=missions.c.version + 1, updated_at=_now()).returning(
            missions.c.version
        )
    )
    new = result.scalar()
    if new is None:
        raise _stale(conn, mission_id, -1 if expected_version is None else int(expected_version))
    return int(new)


def _stale(conn: Connection, mission_id: str, expected: int) -> NotFoundError | ConcurrencyError:
    """The error for an UPDATE ... WHERE version = expected that matched no row."""
    current = conn.execute(
        sa.select(missions.c.version).where(missions.c.id == mission_id)
    ).scalar()
    if current is None:
        return _not_found(mission_id)
    return ConcurrencyError(
        f"mission {mission_id!r} is at version {current}, you edited version {expected}; "
        f"reload it with get_mission({mission_id!r}) (or `marsgis mission show {mission_id}`) "
        "and reapply your change; nothing was written"
    )


def _lon_intervals(west: float, east: float) -> list[tuple[float, float]]:
    """Closed longitude intervals in [−180, 180] covering the span east from ``west``."""
    if east - west >= 360.0:
        return [(-180.0, 180.0)]
    lo, hi = float(lon180(west)), float(lon180(east))
    if lo <= hi:
        return [(lo, hi)]
    # across the 180° meridian (stored longitudes there are −180)
    return [(lo, 180.0), (-180.0, hi)]


def _within(
    conn: Connection, south: float, north: float, intervals: list[tuple[float, float]]
) -> sa.ColumnElement[bool]:
    """Spatial-index prefilter plus the exact box test on the stored coordinates."""
    c = missions.c
    x = sa.func.ST_X(c.target, type_=sa.Float())
    y = sa.func.ST_Y(c.target, type_=sa.Float())
    exact = sa.and_(
        y >= south, y <= north, sa.or_(*(sa.and_(x >= lo, x <= hi) for lo, hi in intervals))
    )
    if conn.dialect.name == "postgresql":
        index: sa.ColumnElement[bool] = sa.or_(
            *(
                c.target.bool_op("&&")(sa.func.ST_MakeEnvelope(lo, south, hi, north, MARS_SRID))
                for lo, hi in intervals
            )
        )
    else:
        # SpatiaLite does not use its R*Tree by itself: query the index table (pkid = rowid).
        rtree = sa.table(
            "idx_missions_target",
            sa.column("pkid"),
            sa.column("xmin"),
            sa.column("xmax"),
            sa.column("ymin"),
            sa.column("ymax"),
        )
        candidates = sa.select(rtree.c.pkid).where(
            rtree.c.ymin <= north,
            rtree.c.ymax >= south,
            sa.or_(*(sa.and_(rtree.c.xmin <= hi, rtree.c.xmax >= lo) for lo, hi in intervals)),
        )
        index = sa.literal_column("missions.rowid").in_(candidates)
    return sa.and_(index, exact)


#: The order of mission lists: oldest first, the id breaking ties (a stable key for paging).
_ORDER = (missions.c.created_at, missions.c.id)


def _box_filter(
    conn: Connection, west: float, south: float, east: float, north: float
) -> sa.ColumnElement[bool]:
    """The checked lon/lat box of :func:`missions_within_box` as a WHERE clause."""
    south_f, north_f = check.finite(south, "south"), check.finite(north, "north")
    west_f, east_f = check.finite(west, "west"), check.finite(east, "east")
    validate_latlon([south_f, north_f], [west_f, east_f])
    if south_f > north_f:
        raise ValidationError(
            f"south {south!r} is north of north {north!r}; give (west, south, east, north)"
        )
    return _within(conn, south_f, north_f, _lon_intervals(west_f, east_f))


def _cap(
    lat: float, lon: float, radius_m: float
) -> tuple[float, float, float, float, float, list[tuple[float, float]]]:
    """Checked centre and radius, and a lat/lon box holding the spherical cap around it.

    Returns ``lat, lon, radius, south, north, longitude intervals``.
    """
    lat_f, lon_f = check.latlon(lat, lon)
    radius = check.finite(radius_m, "radius_m")
    if radius < 0:
        raise ValidationError(f"radius_m {radius_m!r} must be >= 0 metres")
    # Angular radius, padded so that float rounding never drops a point on the circle.
    delta = math.degrees(radius / MARS_RADIUS_M) * (1 + 1e-9) + 1e-9
    south, north = lat_f - delta, lat_f + delta
    if south <= -90.0 or north >= 90.0:  # a pole lies inside the cap: every longitude
        intervals = [(-180.0, 180.0)]
    else:
        ratio = math.sin(math.radians(delta)) / math.cos(math.radians(lat_f))
        dlon = 180.0 if ratio >= 1.0 else math.degrees(math.asin(ratio)) * (1 + 1e-9) + 1e-9
        intervals = _lon_intervals(lon_f - dlon, lon_f + dlon)
    return lat_f, lon_f, radius, max(south, -90.0), min(north, 90.0), intervals


# --------------------------------------------------------------------------- public API


def add_mission(
    name: str,
    *,
    lat: float,
    lon: float,
    mission_type: str = "landing",
    description: str = "",
    status: str = "planned",
    objectives: Iterable[Any] = (),
    safety_score: float | None = None,
    scientific_priority: float | None = None,
    constraints: Mapping[str, Any] | None = None,
    risk_assessment: Mapping[str, Any] | None = None,
    db: DatabaseLike = None,
) -> Mission:
    """Store a new mission (version 1) and its first status-history row.

    Parameters
    ----------
    name
        Non-empty, at most 200 characters (surrounding blanks removed).
    lat, lon
        Target, planetocentric degrees; longitude in 0–360 or −180–180 °E (stored in −180–180).
    mission_type
        One of :data:`MISSION_TYPES`.
    status
        Initial status, one of :data:`MISSION_STATUSES` (``"planned"`` by default).
    objectives
        A list of JSON values (usually strings).
    safety_score, scientific_priority
        Fractions in [0, 1], or None.
    constraints, risk_assessment
        JSON objects (dicts with string keys), or None for ``{}``.
    db
        Database URL, engine, or None for the configured default.

    Raises
    ------
    ValidationError, CoordinateError
        A bad argument (the message names it and the accepted values).
    DatabaseError
        The database is unreachable or refused the insert (nothing was stored).
    """
    values = {
        "name": check.name(name),
        "description": check.text(description, "description", optional=False),
        "mission_type": check.choice(mission_type, "mission type", MISSION_TYPES),
        "status": check.choice(status, "status", MISSION_STATUSES),
        "safety_score": check.score(safety_score, "safety_score"),
        "scientific_priority": check.score(scientific_priority, "scientific_priority"),
        "constraints": check.json_object(constraints, "constraints"),
        "risk_assessment": check.json_object(risk_assessment, "risk_assessment"),
        "objectives": check.objectives(objectives),
    }
    lat_f, lon_f = check.latlon(lat, lon)
    mission_id = str(uuid.uuid4())
    now = _now()
    with transaction(db, write=True) as conn:
        conn.execute(
            missions.insert().values(
                id=mission_id,
                target=_point(conn, lat_f, lon_f),
                created_at=now,
                updated_at=now,
                version=1,
                **values,
            )
        )
        conn.execute(
            mission_status_history.insert().values(
                mission_id=mission_id,
                from_status=None,
                to_status=values["status"],
                changed_at=now,
                note="created",
                changed_by=None,
            )
        )
        created = _load(conn, mission_id)
        append_event(
            conn,
            "mission.created",
            mission_id,
            {"name": created.name, "status": created.status, "version": created.version},
        )
        return created


def get_mission(id: str | uuid.UUID, db: DatabaseLike = None) -> Mission:
    """Load one mission; raise :class:`~marsgis.exceptions.NotFoundError` if there is none."""
    mission_id = check.mission_id(id)
    with transaction(db) as conn:
        return _load(conn, mission_id)


def list_missions(
    *,
    status: str | None = None,
    mission_type: str | None = None,
    db: DatabaseLike = None,
) -> list[Mission]:
    """The stored missions, oldest first, optionally only those of one status and/or type."""
    query = _select_missions()
    if status is not None:
        query = query.where(missions.c.status == check.choice(status, "status", MISSION_STATUSES))
    if mission_type is not None:
        query = query.where(
            missions.c.mission_type == check.choice(mission_type, "mission type", MISSION_TYPES)
        )
    query = query.order_by(*_ORDER)
    with transaction(db) as conn:
        return [_to_mission(row) for row in conn.execute(query).mappings()]


def missions_frame(
    *,
    status: str | None = None,
    mission_type: str | None = None,
    db: DatabaseLike = None,
) -> gpd.GeoDataFrame:
    """The missions of :func:`list_missions` as a GeoDataFrame of target points.

    Columns are the :class:`Mission` fields plus ``geometry`` (points, CRS ``IAU_2015:49900``,
    longitudes in −180–180 °E); ``created_at``/``updated_at`` are UTC timestamps.
    """
    import geopandas as gpd
    import pandas as pd

    rows = [
        {
            **{name: getattr(m, name) for name in _FRAME_COLUMNS},
            "objectives": list(m.objectives),
        }
        for m in list_missions(status=status, mission_type=mission_type, db=db)
    ]
    frame = pd.DataFrame(rows, columns=list(_FRAME_COLUMNS))
    for column in ("created_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("lat", "lon", "safety_score", "scientific_priority"):
        frame[column] = frame[column].astype("float64")
    frame["version"] = frame["version"].astype("int64")
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs=MARS_GEOGRAPHIC)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=MARS_GEOGRAPHIC)


def update_mission(
    id: str | uuid.UUID,
    *,
    expected_version: int,
    db: DatabaseLike = None,
    **changes: Any,
) -> Mission:
    """Change fields of a mission that is still at ``expected_version``.

    One ``UPDATE ... WHERE id = :id AND version = :expected_version`` in one transaction: if
    someone changed the mission since you loaded it, nothing is written and
    :class:`~marsgis.exceptions.ConcurrencyError` says which version is current.

    Parameters
    ----------
    id
        Mission id.
    expected_version
        The ``version`` of the mission your change is based on.
    db
        Database URL, engine, or None for the configured default.
    **changes
        Any of ``name``, ``description``, ``mission_type``, ``safety_score``,
        ``scientific_priority``, ``constraints``, ``risk_assessment``, ``objectives``, and
        ``lat`` with ``lon`` (together), validated as in :func:`add_mission`. Status changes go
        through :func:`set_status`.

    Returns
    -------
    Mission
        The updated mission (``version`` one higher).
    """
    mission_id = check.mission_id(id)
    expected = check.version(expected_version)
    if "status" in changes:
        raise ValidationError(
            "status is changed with set_status(id, status, expected_version=...), which checks "
            "the transition and records it in the history"
        )
    unknown = sorted(set(changes) - set(_UPDATABLE))
    if unknown:
        raise ValidationError(
            f"cannot update {', '.join(map(repr, unknown))}; updatable fields: "
            f"{', '.join(_UPDATABLE)}"
        )
    if not changes:
        raise ValidationError(f"nothing to update; pass at least one of {', '.join(_UPDATABLE)}")
    if ("lat" in changes) != ("lon" in changes):
        raise ValidationError("give lat and lon together to move a mission's target")
    values: dict[str, Any] = {}
    validators = {
        "name": check.name,
        "description": lambda v: check.text(v, "description", optional=False),
        "mission_type": lambda v: check.choice(v, "mission type", MISSION_TYPES),
        "safety_score": lambda v: check.score(v, "safety_score"),
        "scientific_priority": lambda v: check.score(v, "scientific_priority"),
        "constraints": lambda v: check.json_object(v, "constraints"),
        "risk_assessment": lambda v: check.json_object(v, "risk_assessment"),
        "objectives": check.objectives,
    }
    for key, value in changes.items():
        if key in validators:
            values[key] = validators[key](value)
    target = check.latlon(changes["lat"], changes["lon"]) if "lat" in changes else None
    with transaction(db, write=True) as conn:
        if target is not None:
            values["target"] = _point(conn, *target)
        result = conn.execute(
            missions.update()
            .where(missions.c.id == mission_id, missions.c.version == expected)
            .values(**values, version=missions.c.version + 1, updated_at=_now())
        )
        if result.rowcount != 1:
            raise _stale(conn, mission_id, expected)
        updated = _load(conn, mission_id)
        append_event(
            conn,
            "mission.updated",
            mission_id,
            {"fields": sorted(changes), "version": updated.version},
        )
        return updated


def set_status(
    id: str | uuid.UUID,
    status: str,
    *,
    expected_version: int,
    note: str | None = None,
    changed_by: str | None = None,
    db: DatabaseLike = None,
) -> Mission:
    """Move a mission to ``status`` and record the change in its history.

    Allowed: planned→active, planned→aborted, active→completed, active→aborted
    (:data:`TRANSITIONS`). The status update (guarded by ``expected_version``) and the history
    row are written in one transaction, or neither is.

    Raises
    ------
    StateTransitionError
        The lifecycle does not allow the change (the message lists what is allowed).
    ConcurrencyError
        The mission is no longer at ``expected_version``.
    NotFoundError
        No such mission.
    """
    mission_id = check.mission_id(id)
    new = check.choice(status, "status", MISSION_STATUSES)
    expected = check.version(expected_version)
    note_text = check.text(note, "note", optional=True)
    by = check.text(changed_by, "changed_by", optional=True)
    if by is not None and len(by) > check.NAME_MAX:
        raise ValidationError(
            f"changed_by {by[:40]!r}... is longer than {check.NAME_MAX} characters"
        )
    now = _now()
    with transaction(db, write=True) as conn:
        row = conn.execute(
            sa.select(missions.c.status, missions.c.version).where(missions.c.id == mission_id)
        ).first()
        if row is None:
            raise _not_found(mission_id)
        current, version = str(row[0]), int(row[1])
        if version != expected:
            raise _stale(conn, mission_id, expected)
        allowed = TRANSITIONS[current]
        if new not in allowed:
            options = ", ".join(repr(s) for s in allowed) or f"nothing ({current!r} is final)"
            raise StateTransitionError(
                f"mission {mission_id!r} cannot go from {current!r} to {new!r}; from "
                f"{current!r} it may go to: {options}"
            )
        result = conn.execute(
            missions.update()
            .where(
                missions.c.id == mission_id,
                missions.c.version == expected,
                missions.c.status == current,
            )
            .values(status=new, version=missions.c.version + 1, updated_at=now)
        )
        if result.rowcount != 1:
            raise _stale(conn, mission_id, expected)
        conn.execute(
            mission_status_history.insert().values(
                mission_id=mission_id,
                from_status=current,
                to_status=new,
                changed_at=now,
                note=note_text,
                changed_by=by,
            )
        )
        changed = _load(conn, mission_id)
        append_event(
            conn,
            "mission.status_changed",
            mission_id,
            {"from": current, "to": new, "version": changed.version, "note": note_text},
            actor=by,
        )
        return changed


def status_history(id: str | uuid.UUID, db: DatabaseLike = None) -> list[StatusChange]:
    """The status changes of a mission, oldest first (the first is its creation)."""
    mission_id = check.mission_id(id)
    h = mission_status_history.c
    with transaction(db) as conn:
        exists = conn.execute(sa.select(missions.c.id).where(missions.c.id == mission_id))
        if exists.first() is None:
            raise _not_found(mission_id)
        rows = conn.execute(
            sa.select(mission_status_history)
            .where(h.mission_id == mission_id)
            .order_by(h.changed_at, h.id)
        ).mappings()
        return [
            StatusChange(
                id=int(r["id"]),
                mission_id=str(r["mission_id"]),
                from_status=r["from_status"],
                to_status=r["to_status"],
                changed_at=r["changed_at"],
                note=r["note"],
                changed_by=r["changed_by"],
            )
            for r in rows
        ]


def delete_mission(
    id: str | uuid.UUID,
    db: DatabaseLike = None,
    *,
    expected_version: int | None = None,
) -> None:
    """Delete a mission and (by cascade) its status history, tasks and artefacts.

    With ``expected_version``, only a mission still at that version is deleted; a stale one is
    refused with :class:`~marsgis.exceptions.ConcurrencyError` and nothing is deleted.
    """
    mission_id = check.mission_id(id)
    query = missions.delete().where(missions.c.id == mission_id)
    if expected_version is not None:
        query = query.where(missions.c.version == check.version(expected_version))
    with transaction(db, write=True) as conn:
        result = conn.execute(query.returning(missions.c.name, missions.c.version))
        deleted = result.first()
        if deleted is None:
            if expected_version is None:
                raise _not_found(mission_id)
            raise _stale(conn, mission_id, int(expected_version))
        append_event(
            conn,
            "mission.deleted",
            mission_id,
            {"name": str(deleted[0]), "version": int(deleted[1])},
        )


def missions_within_box(
    west: float,
    south: float,
    east: float,
    north: float,
    db: DatabaseLike = None,
) -> list[Mission]:
    """Missions whose target lies in a longitude/latitude box (edges included), oldest first.

    The box runs east from ``west`` to ``east``; both may be given in 0–360 or −180–180 °E,
    so ``west=170, east=-170`` (or ``170, 190``) is a 20° box across the 180° meridian and
    ``west=350, east=10`` one across the prime meridian. ``west=-180, east=180`` (or 0, 360)
    covers every longitude. The spatial index selects candidates; the box test is exact.
    """
    query = _select_missions()
    with transaction(db) as conn:
        query = query.where(_box_filter(conn, west, south, east, north))
        rows = conn.execute(query.order_by(*_ORDER)).mappings()
        return [_to_mission(row) for row in rows]


def missions_within_distance(
    lat: float,
    lon: float,
    radius_m: float,
    db: DatabaseLike = None,
) -> list[MissionDistance]:
    """Missions within ``radius_m`` metres (great circle on the Mars sphere) of a point.

    A bounding box of the spherical cap selects candidates through the spatial index (across
    the 180° meridian and over the poles as needed); the exact great-circle distance on
    R = 3 396 190 m (:func:`marsgis.geo.great_circle_m`) is then computed for each.

    Returns
    -------
    list of MissionDistance
        ``(mission, distance_m)`` pairs, nearest first.
    """
    lat_f, lon_f, radius, south, north, intervals = _cap(lat, lon, radius_m)
    query = _select_missions()
    with transaction(db) as conn:
        query = query.where(_within(conn, south, north, intervals))
        candidates = [_to_mission(row) for row in conn.execute(query).mappings()]
    found = [
        MissionDistance(m, d)
        for m in candidates
        if (d := float(great_circle_m(lat_f, lon_f, m.lat, m.lon))) <= radius
    ]
    found.sort(key=lambda item: (item.distance_m, item.mission.created_at, item.mission.id))
    return found


def page_missions(
    *,
    status: str | None = None,
    mission_type: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    near: tuple[float, float] | None = None,
    radius_m: float | None = None,
    limit: int = 100,
    offset: int = 0,
    db: DatabaseLike = None,
) -> MissionPage:
    """One page of the missions matching filters, and how many match in all.

    Filtering, counting and paging run in the database: the cost depends on the page size,
    not on the number of stored missions.

    Parameters
    ----------
    status, mission_type
        Keep only missions of this status / type.
    bbox
        ``(west, south, east, north)`` degrees, as :func:`missions_within_box` (edges
        included; the box may cross the 180° meridian).
    near, radius_m
        ``(lat, lon)`` and a great-circle radius in metres, as
        :func:`missions_within_distance`; the page is then nearest first. Give both or neither,
        and not with ``bbox``.
    limit, offset
        Page size (1–10 000) and how many matching missions to skip.

    Returns
    -------
    MissionPage
        ``items``: oldest first (``created_at``, then id), or nearest first with ``near``;
        ``total``: every matching mission, whatever the page.

    Raises
    ------
    ValidationError, CoordinateError
        A bad filter or page bound (the message names it).
    """
    if bbox is not None and near is not None:
        raise ValidationError("give bbox or near, not both")
    if (near is None) != (radius_m is None):
        raise ValidationError("near and radius_m go together (near=(lat, lon), radius_m=metres)")
    page_limit = _bounded_int(limit, "limit", 1, 10_000)
    page_offset = _bounded_int(offset, "offset", 0, None)
    where: list[sa.ColumnElement[bool]] = []
    if status is not None:
        where.append(missions.c.status == check.choice(status, "status", MISSION_STATUSES))
    if mission_type is not None:
        kind = check.choice(mission_type, "mission type", MISSION_TYPES)
        where.append(missions.c.mission_type == kind)
    if near is not None and radius_m is not None:
        return _page_near(near, radius_m, where, limit=page_limit, offset=page_offset, db=db)
    with transaction(db) as conn:
        if bbox is not None:
            where.append(_box_filter(conn, *bbox))
        count = sa.select(sa.func.count()).select_from(missions).where(*where)
        total = int(conn.execute(count).scalar_one())
        if page_offset >= total:
            return MissionPage([], total)
        query = _select_missions().where(*where).order_by(*_ORDER)
        rows = conn.execute(query.limit(page_limit).offset(page_offset)).mappings()
        return MissionPage([_to_mission(row) for row in rows], total)


def _bounded_int(value: Any, what: str, low: int, high: int | None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValidationError(f"{what} {value!r} must be an integer {span}")
    return value


def _page_near(
    near: tuple[float, float],
    radius_m: float,
    where: list[sa.ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
    db: DatabaseLike,
) -> MissionPage:
    """Nearest first: candidates' coordinates from SQL, exact distances here, one page loaded."""
    lat_f, lon_f, radius, south, north, intervals = _cap(near[0], near[1], radius_m)
    c = missions.c
    light = sa.select(
        c.id,
        sa.func.ST_Y(c.target, type_=sa.Float()).label("lat"),
        sa.func.ST_X(c.target, type_=sa.Float()).label("lon"),
        c.created_at,
    )
    with transaction(db) as conn:
        rows = conn.execute(light.where(_within(conn, south, north, intervals), *where)).all()
        hits = [
            (d, row.created_at, str(row.id))
            for row in rows
            if (d := float(great_circle_m(lat_f, lon_f, float(row.lat), float(row.lon)))) <= radius
        ]
        hits.sort()
        ids = [mission_id for _, _, mission_id in hits[offset : offset + limit]]
        if not ids:
            return MissionPage([], len(hits))
        loaded = conn.execute(_select_missions().where(c.id.in_(ids))).mappings()
        by_id = {m.id: m for m in (_to_mission(row) for row in loaded)}
        return MissionPage([by_id[i] for i in ids], len(hits))
