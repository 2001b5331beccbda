"""The marsgis tables (SQLAlchemy Core + GeoAlchemy2), and nothing else.

The tables are created and changed only by the Alembic migrations in
``marsgis/db/migrations``; this module describes the schema those migrations produce so that
queries can be written against it. Both backends are described at once:

* PostGIS: ``UUID``, ``JSONB``, ``TIMESTAMP WITH TIME ZONE``, ``geometry(POINT, 949900)`` with a
  GiST index.
* SpatiaLite: ``VARCHAR(36)`` ids, JSON as text, UTC timestamps as text, geometry columns registered
  in ``geometry_columns`` with an R*Tree spatial index (``idx_<table>_<column>``).

On SpatiaLite the R*Tree index refers to rows by ``ROWID``; ``missions`` has a UUID primary
key, so its rowid is implicit. SQLite keeps rowids through ``VACUUM`` in practice but does not
promise it; should the index ever disagree with the table, rebuild it with
``SELECT RecoverSpatialIndex('missions', 'target')``.

Geometries are in :data:`MARS_SRID`, planetocentric east-positive longitude/latitude degrees on the
Mars 2000 / IAU 2015 sphere (``IAU_2015:49900``), longitudes in −180–180 °E. Timestamps are
timezone-aware UTC (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from marsgis.exceptions import ValidationError

__all__ = [
    "MARS_SRID",
    "MARS_SRID_AUTHORITY",
    "MARS_PROJ4",
    "MISSION_STATUSES",
    "MISSION_TYPES",
    "REPORT_RUN_STATUSES",
    "TASK_STATUSES",
    "ARTEFACT_KINDS",
    "JOB_STATUSES",
    "EVENT_TOPICS",
    "TOKEN_ROLES",
    "api_idempotency_keys",
    "api_jobs",
    "api_tokens",
    "events",
    "JSONDocument",
    "UTCDateTime",
    "UUIDString",
    "mars_data_cache",
    "metadata",
    "mission_artefacts",
    "mission_status_history",
    "mission_tasks",
    "missions",
    "ml_models",
    "report_runs",
    "report_schedules",
]

#: SRID of the Mars geographic CRS ``IAU_2015:49900`` in PostGIS and SpatiaLite
#: (registered in ``spatial_ref_sys`` by migration 0001; never 4326).
MARS_SRID = 949900
#: ``(auth_name, auth_srid)`` of :data:`MARS_SRID` in ``spatial_ref_sys``.
MARS_SRID_AUTHORITY = ("IAU_2015", 49900)
#: PROJ string stored for :data:`MARS_SRID` (``proj4text``).
MARS_PROJ4 = "+proj=longlat +R=3396190 +no_defs"

#: Known mission types.
MISSION_TYPES = ("landing", "traverse", "orbital", "sample_return", "survey", "other")
#: Mission lifecycle states (transitions: planned→active|aborted, active→completed|aborted).
MISSION_STATUSES = ("planned", "active", "completed", "aborted")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both backends.

    PostGIS stores ``TIMESTAMP WITH TIME ZONE``; SQLite has no time zones, so the value is
    converted to UTC and stored without offset. Loaded values are always aware and in UTC.
    Naive datetimes are refused.
    """

    impl = sa.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                f"timestamp {value!r} has no time zone; give an aware datetime such as "
                "datetime.now(datetime.UTC)"
            )
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored timestamp as an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - SQLAlchemy parses DATETIME
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: A UUID as its canonical 36-character string: native ``UUID`` on PostgreSQL, ``VARCHAR(36)``
#: on SQLite.
UUIDString = sa.Uuid(as_uuid=False).with_variant(sa.String(36), "sqlite")
#: A JSON document: ``JSONB`` on PostgreSQL, JSON text on SQLite.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


metadata = sa.MetaData()

missions = sa.Table(
    "missions",
    metadata,
    sa.Column("id", UUIDString, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("mission_type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column(
        "target",
        Geometry("POINT", srid=MARS_SRID, spatial_index=True),
        nullable=False,
    ),
    sa.Column("safety_score", sa.Float(), nullable=True),
    sa.Column("scientific_priority", sa.Float(), nullable=True),
    sa.Column("constraints", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("risk_assessment", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("objectives", JSONDocument, nullable=False, server_default=sa.text("'[]'")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint(_in("mission_type", MISSION_TYPES), name="ck_missions_mission_type"),
    sa.CheckConstraint(_in("status", MISSION_STATUSES), name="ck_missions_status"),
    sa.CheckConstraint(
        "safety_score IS NULL OR (safety_score >= 0 AND safety_score <= 1)",
        name="ck_missions_safety_score",
    ),
    sa.CheckConstraint(
        "scientific_priority IS NULL OR (scientific_priority >= 0 AND scientific_priority <= 1)",
        name="ck_missions_scientific_priority",
    ),
    sa.CheckConstraint("version >= 1", name="ck_missions_version"),
    sa.Index("ix_missions_status", "status"),
    sa.Index("ix_missions_mission_type", "mission_type"),
    sa.Index("ix_missions_created_at_id", "created_at", "id"),
)

mission_status_history = sa.Table(
    "mission_status_history",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "mission_id",
        UUIDString,
        sa.ForeignKey("missions.id", ondelete="CASCADE", name="fk_mission_status_history_mission"),
        nullable=False,
    ),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("changed_by", sa.String(200), nullable=True),
    sa.Index("ix_mission_status_history_mission_id", "mission_id"),
)

#: Statuses of a mission task (see :data:`marsgis.db.tasks.TASK_TRANSITIONS`).
TASK_STATUSES = ("todo", "in_progress", "done", "skipped")
#: Kinds of plan artefact.
ARTEFACT_KINDS = ("ellipse", "traverse")

mission_tasks = sa.Table(
    "mission_tasks",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "mission_id",
        UUIDString,
        sa.ForeignKey("missions.id", ondelete="CASCADE", name="fk_mission_tasks_mission"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(_in("status", TASK_STATUSES), name="ck_mission_tasks_status"),
    sa.CheckConstraint("position >= 0", name="ck_mission_tasks_position"),
    sa.UniqueConstraint("mission_id", "position", name="uq_mission_tasks_position"),
    sa.Index("ix_mission_tasks_mission_id", "mission_id"),
)

mission_artefacts = sa.Table(
    "mission_artefacts",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "mission_id",
        UUIDString,
        sa.ForeignKey("missions.id", ondelete="CASCADE", name="fk_mission_artefacts_mission"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("geometry", Geometry("GEOMETRY", srid=MARS_SRID, spatial_index=True), nullable=False),
    sa.Column("properties", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(_in("kind", ARTEFACT_KINDS), name="ck_mission_artefacts_kind"),
    sa.Index("ix_mission_artefacts_mission_id", "mission_id"),
)

mars_data_cache = sa.Table(
    "mars_data_cache",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("href", sa.String(2048), nullable=False),
    sa.Column("data_type", sa.String(64), nullable=False),
    sa.Column(
        "bounds",
        Geometry("POLYGON", srid=MARS_SRID, spatial_index=True),
        nullable=True,
    ),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("metadata", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("cached_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("href", name="uq_mars_data_cache_href"),
    sa.Index("ix_mars_data_cache_data_type", "data_type"),
    sa.Index("ix_mars_data_cache_expires_at", "expires_at"),
)

ml_models = sa.Table(
    "ml_models",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("metadata", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("metrics", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("version >= 1", name="ck_ml_models_version"),
    sa.UniqueConstraint("name", "version", name="uq_ml_models_name_version"),
    sa.Index("ix_ml_models_name", "name"),
)

#: States of a report run.
REPORT_RUN_STATUSES = ("running", "succeeded", "failed")

report_schedules = sa.Table(
    "report_schedules",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("report", sa.String(200), nullable=False),
    sa.Column("cron", sa.String(120), nullable=False),
    sa.Column("parameters", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column("next_run_at", UTCDateTime(), nullable=False),
    sa.Column("locked_by", sa.String(200), nullable=True),
    sa.Column("locked_until", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("name", name="uq_report_schedules_name"),
)

report_runs = sa.Table(
    "report_runs",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "schedule_id",
        sa.Integer(),
        sa.ForeignKey("report_schedules.id", ondelete="SET NULL", name="fk_report_runs_schedule"),
        nullable=True,
    ),
    sa.Column("report", sa.String(200), nullable=False),
    sa.Column("parameters", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("due_at", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("outputs", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("error", sa.Text(), nullable=True),
    sa.CheckConstraint(_in("status", REPORT_RUN_STATUSES), name="ck_report_runs_status"),
    sa.UniqueConstraint("schedule_id", "due_at", name="uq_report_runs_schedule_due"),
    sa.Index("ix_report_runs_report", "report"),
    sa.Index("ix_report_runs_started_at", "started_at"),
)

#: Roles a standalone API token may carry (their scopes: :mod:`marsgis.api.scopes`).
TOKEN_ROLES = ("admin", "scientist", "operator", "viewer")

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint(_in("role", TOKEN_ROLES), name="ck_api_tokens_role"),
    sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
)

api_idempotency_keys = sa.Table(
    "api_idempotency_keys",
    metadata,
    sa.Column("principal", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=False),
    sa.Column("headers", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("body", JSONDocument, nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_api_idempotency_keys_created_at", "created_at"),
)

#: Lifecycle of an API job (queued → running → succeeded | failed).
JOB_STATUSES = ("queued", "running", "succeeded", "failed")

api_jobs = sa.Table(
    "api_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("parameters", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("runner", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("result_path", sa.Text(), nullable=True),
    sa.Column("result_media_type", sa.String(100), nullable=True),
    sa.Column("result_json", JSONDocument, nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.CheckConstraint(_in("status", JOB_STATUSES), name="ck_api_jobs_status"),
    sa.Index("ix_api_jobs_owner_created_at", "owner", "created_at"),
    sa.Index("ix_api_jobs_status", "status"),
)

#: Topics of the event log (what a subscriber filters on; see :mod:`marsgis.db.events`).
EVENT_TOPICS = ("missions", "plans", "tasks", "reports", "schedules", "models")

events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("topic", sa.String(32), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("payload", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.CheckConstraint(_in("topic", EVENT_TOPICS), name="ck_events_topic"),
    sa.Index("ix_events_topic_id", "topic", "id"),
    sqlite_autoincrement=True,
)
