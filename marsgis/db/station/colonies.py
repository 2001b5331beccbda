"""Colonies (table ``station_colonies``): boundary, capacity and admitted population.

The population never exceeds the capacity: a database ``CHECK (population <= capacity)`` and,
for admissions, one conditional ``UPDATE ... SET population = population + 1 WHERE
population < capacity`` (:func:`take_place`) whose row count says whether a place was left.
On PostgreSQL concurrent updates of the row queue on its row lock and re-check the condition
(at ``SERIALIZABLE``, and on CockroachDB, the later one is aborted with SQLSTATE 40001 and run
again by :func:`~marsgis.db.engine.run_transaction`); on SQLite writers are serialised by
``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import functions as gfn
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db.engine import DatabaseLike, inserted_id, run_transaction, transaction
from marsgis.db.schema import station_colonies
from marsgis.db.station._common import (
    geometry_srid,
    name,
    not_found,
    now,
    record,
    record_id,
    stale,
    version,
)
from marsgis.exceptions import ValidationError
from marsgis.station.records import Colony

__all__ = ["add_colony", "get_colony", "list_colonies", "set_capacity", "take_place"]

_HINT = "list them with marsgis.db.station.list_colonies()"


def _select() -> sa.Select[Any]:
    c = station_colonies.c
    return sa.select(
        c.id,
        c.name,
        c.site,
        gfn.ST_AsText(c.boundary).label("boundary_wkt"),
        c.capacity,
        c.population,
        c.version,
    )


def _to_colony(row: RowMapping) -> Colony:
    return Colony(
        id=int(row["id"]),
        name=str(row["name"]),
        site=str(row["site"]),
        boundary_wkt=str(row["boundary_wkt"]),
        capacity=int(row["capacity"]),
        population=int(row["population"]),
        version=int(row["version"]),
    )


def _load(conn: Connection, colony_id: int) -> Colony:
    row = conn.execute(_select().where(station_colonies.c.id == colony_id)).mappings().first()
    if row is None:
        raise not_found("colony", colony_id, _HINT)
    return _to_colony(row)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{what} {value!r} must be an integer >= 0")
    return value


def add_colony(
    colony_name: str,
    *,
    site: str,
    capacity: int,
    population: int = 0,
    radius_km: float = 5.0,
    actor: str,
    db: DatabaseLike = None,
) -> Colony:
    """Found a colony at an IAU gazetteer ``site`` with a circular boundary of ``radius_km``.

    The boundary is stored in the Mars SRID (``IAU_2015:49900``, lon/lat °E).
    """
    from marsgis.station.sites import colony_boundary

    clean = name(colony_name, "colony name")
    who = name(actor, "actor")
    cap, pop = _count(capacity, "capacity"), _count(population, "population")
    if pop > cap:
        raise ValidationError(f"population {pop} exceeds capacity {cap}")
    site_name, polygon = colony_boundary(site, radius_km=radius_km)

    def change(conn: Connection) -> Colony:
        new_id = inserted_id(
            conn.execute(
                station_colonies.insert().values(
                    name=clean,
                    site=site_name,
                    boundary=sa.func.ST_GeomFromText(polygon.wkt, geometry_srid(conn)),
                    capacity=cap,
                    population=pop,
                    version=1,
                    created_at=now(),
                )
            )
        )
        record(
            conn,
            "station.colony_created",
            actor=who,
            role="station_manager",
            subject_type="colony",
            subject_id=new_id,
            details={"name": clean, "site": site_name, "capacity": cap, "population": pop},
        )
        return _load(conn, new_id)

    return run_transaction(db, change)


def get_colony(colony_id: int, db: DatabaseLike = None) -> Colony:
    """One colony (NotFoundError if there is none)."""
    ident = record_id(colony_id, "colony id")
    with transaction(db) as conn:
        return _load(conn, ident)


def list_colonies(db: DatabaseLike = None) -> list[Colony]:
    """Every colony, by id."""
    with transaction(db) as conn:
        rows = conn.execute(_select().order_by(station_colonies.c.id)).mappings()
        return [_to_colony(row) for row in rows]


def set_capacity(
    colony_id: int,
    capacity: int,
    *,
    expected_version: int,
    actor: str,
    reason: str,
    db: DatabaseLike = None,
) -> Colony:
    """Change a colony's capacity (never below its population), at ``expected_version``."""
    ident = record_id(colony_id, "colony id")
    cap = _count(capacity, "capacity")
    expected = version(expected_version)
    who, why = name(actor, "actor"), name(reason, "reason")
    c = station_colonies.c

    def change(conn: Connection) -> Colony:
        current = _load(conn, ident)
        if cap < current.population:
            raise ValidationError(
                f"capacity {cap} is below colony {ident}'s population {current.population}; "
                "a colony's capacity never falls below the people already admitted"
            )
        result = conn.execute(
            station_colonies.update()
            .where(c.id == ident, c.version == expected, c.population <= cap)
            .values(capacity=cap, version=c.version + 1)
        )
        if result.rowcount != 1:
            raise stale(conn, station_colonies, ident, expected, "colony")
        record(
            conn,
            "station.colony_capacity_changed",
            actor=who,
            role="colony_official",
            subject_type="colony",
            subject_id=ident,
            reason=why,
            details={"from": current.capacity, "to": cap},
        )
        return _load(conn, ident)

    return run_transaction(db, change)


def take_place(conn: Connection, colony_id: int) -> bool:
    """Take one place in a colony: one atomic conditional update; False when it is full."""
    c = station_colonies.c
    result = conn.execute(
        station_colonies.update()
        .where(c.id == colony_id, c.population < c.capacity)
        .values(population=c.population + 1, version=c.version + 1)
    )
    return bool(result.rowcount == 1)
