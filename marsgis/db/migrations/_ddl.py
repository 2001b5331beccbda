"""DDL helpers shared by the revision scripts, for PostGIS, SpatiaLite and CockroachDB.

Revisions that have shipped call these helpers, so their behaviour is frozen: add new helpers
rather than changing what an existing one does. The CockroachDB flavour
(:func:`marsgis.db.engine.database_flavour`: a ``cockroachdb://`` URL, or PostgreSQL with
``?marsgis_compat=cockroachdb``) was added later as a branch of its own in each helper: it
has no custom SRID (:func:`geometry_type` is SRID 0, :func:`crs_columns` names the Mars CRS,
:func:`register_mars_srid` does nothing) and its revisions read nothing from the database, so
that they also compile offline (:func:`marsgis.db.engine.upgrade_sql`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from pyproj import CRS

from marsgis.db.engine import database_flavour
from marsgis.exceptions import DatabaseError

#: The Mars SRID as registered by revision 0001 (a copy: revisions never import the live schema).
MARS_SRID = 949900
MARS_AUTH_NAME = "IAU_2015"
MARS_AUTH_SRID = 49900
MARS_PROJ4 = "+proj=longlat +R=3396190 +no_defs"


class RawType(sa.types.UserDefinedType[Any]):
    """A column type rendered verbatim in DDL (the geometry column types)."""

    cache_ok = True

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def get_col_spec(self, **kw: Any) -> str:
        return self.spec


def dialect_name() -> str:
    """``postgresql`` (CockroachDB too: its SQL is PostgreSQL's) or ``sqlite``; else refused."""
    name = str(op.get_bind().dialect.name)
    if name == "cockroachdb":
        return "postgresql"
    if name not in ("postgresql", "sqlite"):
        raise DatabaseError(
            f"marsgis stores data in PostGIS, CockroachDB or SpatiaLite, not {name!r}; set "
            "MARSGIS_DATABASE_URL to a postgresql+psycopg2:// or cockroachdb:// URL or unset "
            "it for SpatiaLite"
        )
    return name


def cockroach() -> bool:
    """Whether the schema is built in the CockroachDB flavour (see the module's docs)."""
    dialect_name()
    return database_flavour(op.get_bind()) == "cockroachdb"


def crs_columns(table: str, column: str) -> list[sa.schema.SchemaItem]:
    """The ``<column>_crs`` column of a geometry column in the CockroachDB flavour (else none).

    There geometries are stored in SRID 0 (CockroachDB's ``spatial_ref_sys`` is read-only, so
    the Mars SRID cannot be registered); this column, which can hold only
    ``IAU_2015:49900`` and is filled by default, says which CRS their coordinates are in.
    """
    if not cockroach():
        return []
    code = f"{MARS_AUTH_NAME}:{MARS_AUTH_SRID}"
    return [
        sa.Column(
            f"{column}_crs", sa.String(32), nullable=False, server_default=sa.text(f"'{code}'")
        ),
        sa.CheckConstraint(f"{column}_crs = '{code}'", name=f"ck_{table}_{column}_crs"),
    ]


def geometry_type(geometry: str) -> RawType:
    """The column type of a Mars-SRID geometry column of kind ``geometry`` (``POINT``, ...)."""
    if dialect_name() == "postgresql":
        return RawType(f"geometry({geometry},{0 if cockroach() else MARS_SRID})")
    # SpatiaLite: a plain column, registered afterwards by RecoverGeometryColumn().
    return RawType(geometry)


def prepare_spatial_database() -> None:
    """Make sure PostGIS is installed (PostgreSQL) or the SpatiaLite metadata exist (SQLite)."""
    bind = op.get_bind()
    if bind.dialect.name == "cockroachdb":
        return  # spatial types are built into CockroachDB
    if dialect_name() == "postgresql":
        installed = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'"))
        if installed.scalar() is not None:
            return
        available = bind.execute(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        )
        if available.scalar() is None:
            raise DatabaseError(
                "the PostgreSQL server has no PostGIS extension; install it on the server "
                "(Debian: apt-get install postgresql-15-postgis-3, or run scripts/setup-system.sh)"
            )
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        return
    if bind.execute(sa.text("SELECT CheckSpatialMetaData()")).scalar() == 0:
        # Only the spatial metadata tables; no Earth SRIDs are loaded into the file.
        bind.execute(sa.text("SELECT InitSpatialMetaData('EMPTY')"))


def register_mars_srid() -> None:
    """Insert :data:`MARS_SRID` (``IAU_2015:49900``) into ``spatial_ref_sys``.

    Nothing in the CockroachDB flavour (see :func:`crs_columns`).
    """
    if cockroach():
        return
    bind = op.get_bind()
    row = bind.execute(
        sa.text("SELECT auth_name, auth_srid FROM spatial_ref_sys WHERE srid = :srid"),
        {"srid": MARS_SRID},
    ).first()
    if row is not None:
        if (str(row[0]).upper(), int(row[1])) != (MARS_AUTH_NAME, MARS_AUTH_SRID):
            raise DatabaseError(
                f"SRID {MARS_SRID} is already registered in spatial_ref_sys as "
                f"{row[0]}:{row[1]}; marsgis needs it for {MARS_AUTH_NAME}:{MARS_AUTH_SRID}. "
                "Remove that row or use another database"
            )
        return
    crs = CRS.from_user_input(f"{MARS_AUTH_NAME}:{MARS_AUTH_SRID}")
    params = {
        "srid": MARS_SRID,
        "auth_name": MARS_AUTH_NAME,
        "auth_srid": MARS_AUTH_SRID,
        "srtext": crs.to_wkt("WKT1_GDAL"),
        "proj4text": MARS_PROJ4,
        "name": crs.name,
    }
    if dialect_name() == "postgresql":
        sql = (
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (:srid, :auth_name, :auth_srid, :srtext, :proj4text)"
        )
    else:
        sql = (
            "INSERT INTO spatial_ref_sys "
            "(srid, auth_name, auth_srid, ref_sys_name, proj4text, srtext) "
            "VALUES (:srid, :auth_name, :auth_srid, :name, :proj4text, :srtext)"
        )
    bind.execute(sa.text(sql), params)


def unregister_mars_srid() -> None:
    """Remove :data:`MARS_SRID` from ``spatial_ref_sys`` (nothing in the CockroachDB flavour)."""
    if cockroach():
        return
    op.get_bind().execute(
        sa.text("DELETE FROM spatial_ref_sys WHERE srid = :srid"), {"srid": MARS_SRID}
    )


def _sqlite_call(sql: str, params: dict[str, Any], what: str) -> None:
    result = op.get_bind().execute(sa.text(sql), params).scalar()
    if result != 1:
        raise DatabaseError(f"SpatiaLite could not {what} (returned {result!r})")


def register_geometry(table: str, column: str, geometry: str) -> None:
    """Register a geometry column created with :func:`geometry_type` and index it spatially."""
    if dialect_name() == "postgresql":
        op.create_index(f"idx_{table}_{column}", table, [column], postgresql_using="gist")
        return
    params = {"t": table, "c": column, "srid": MARS_SRID, "g": geometry}
    _sqlite_call(
        "SELECT RecoverGeometryColumn(:t, :c, :srid, :g, 'XY')",
        params,
        f"register {table}.{column} as a {geometry} column in SRID {MARS_SRID}",
    )
    _sqlite_call(
        "SELECT CreateSpatialIndex(:t, :c)", params, f"create the index on {table}.{column}"
    )


def drop_geometry_table(table: str, geometry_columns: tuple[str, ...]) -> None:
    """Drop ``table``, first unregistering its SpatiaLite geometry columns and R*Tree indexes."""
    if dialect_name() == "sqlite":
        bind = op.get_bind()
        for column in geometry_columns:
            params = {"t": table, "c": column}
            bind.execute(sa.text("SELECT DisableSpatialIndex(:t, :c)"), params)
            bind.execute(sa.text(f'DROP TABLE IF EXISTS "idx_{table}_{column}"'))
            bind.execute(sa.text("SELECT DiscardGeometryColumn(:t, :c)"), params)
    op.drop_table(table)
