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
    "STATION_APPLICATION_STATUSES",
    "STATION_ENTRY_OUTCOMES",
    "STATION_VISA_STATUSES",
    "station_audit_log",
    "station_bay_bookings",
    "station_bays",
    "station_colonies",
    "station_entry_events",
    "station_manifest_entries",
    "station_manifests",
    "station_passengers",
    "station_residents",
    "station_travel_documents",
    "station_visa_applications",
    "station_visas",
    "station_vessels",
    "station_voyages",
    "stations",
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
TOKEN_ROLES = (
    "admin",
    "scientist",
    "operator",
    "viewer",
    # the station's roles (revision 0011)
    "passenger",
    "immigration_officer",
    "station_manager",
    "spaceline_dispatcher",
    "colony_official",
    "auditor",
)

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
EVENT_TOPICS = ("missions", "plans", "tasks", "reports", "schedules", "models", "station")

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

# ----------------------------------------------------------------------------- the station
# Revision 0010. Invariants the tables carry themselves (see docs/station.md): the lifecycle
# CHECKs, population <= capacity, a bay never double-booked (PostGIS: an exclusion constraint
# over tstzrange, created by the migration; SpatiaLite: a check under BEGIN IMMEDIATE in
# marsgis.db.station.bays), and an append-only, hash-chained audit log (triggers refuse UPDATE
# and DELETE on both backends).

#: States of a visa application (transitions: :mod:`marsgis.station.lifecycle`).
STATION_APPLICATION_STATUSES = (
    "draft",
    "submitted",
    "under_review",
    "info_requested",
    "approved",
    "rejected",
    "withdrawn",
)
#: States of a visa.
STATION_VISA_STATUSES = ("issued", "expired", "revoked")
#: Outcomes of an entry event.
STATION_ENTRY_OUTCOMES = ("admitted", "refused", "secondary_inspection")

station_colonies = sa.Table(
    "station_colonies",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("boundary", Geometry("POLYGON", srid=MARS_SRID, spatial_index=True), nullable=False),
    sa.Column("capacity", sa.Integer(), nullable=False),
    sa.Column("population", sa.Integer(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("capacity >= 0", name="ck_station_colonies_capacity"),
    sa.CheckConstraint(
        "population >= 0 AND population <= capacity", name="ck_station_colonies_population"
    ),
    sa.CheckConstraint("version >= 1", name="ck_station_colonies_version"),
    sa.UniqueConstraint("name", name="uq_station_colonies_name"),
)

stations = sa.Table(
    "stations",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column(
        "colony_id",
        sa.Integer(),
        sa.ForeignKey("station_colonies.id", name="fk_stations_colony"),
        nullable=False,
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("name", name="uq_stations_name"),
)

station_bays = sa.Table(
    "station_bays",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "station_id",
        sa.Integer(),
        sa.ForeignKey("stations.id", name="fk_station_bays_station"),
        nullable=False,
    ),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("vessel_classes", JSONDocument, nullable=False, server_default=sa.text("'[]'")),
    sa.UniqueConstraint("station_id", "code", name="uq_station_bays_code"),
)

station_vessels = sa.Table(
    "station_vessels",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("vessel_class", sa.String(32), nullable=False),
    sa.UniqueConstraint("name", name="uq_station_vessels_name"),
)

station_voyages = sa.Table(
    "station_voyages",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "vessel_id",
        sa.Integer(),
        sa.ForeignKey("station_vessels.id", name="fk_station_voyages_vessel"),
        nullable=False,
    ),
    sa.Column("origin", sa.String(200), nullable=False),
    sa.Column("arrival_start", UTCDateTime(), nullable=False),
    sa.Column("arrival_end", UTCDateTime(), nullable=False),
    sa.CheckConstraint("arrival_end > arrival_start", name="ck_station_voyages_window"),
    sa.Index("ix_station_voyages_arrival_start", "arrival_start"),
)

station_bay_bookings = sa.Table(
    "station_bay_bookings",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "bay_id",
        sa.Integer(),
        sa.ForeignKey("station_bays.id", name="fk_station_bay_bookings_bay"),
        nullable=False,
    ),
    sa.Column(
        "voyage_id",
        sa.Integer(),
        sa.ForeignKey("station_voyages.id", name="fk_station_bay_bookings_voyage"),
        nullable=True,
    ),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("ends_at", UTCDateTime(), nullable=False),
    sa.Column("booked_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("ends_at > starts_at", name="ck_station_bay_bookings_period"),
    sa.Index("ix_station_bay_bookings_bay_starts", "bay_id", "starts_at"),
)

station_passengers = sa.Table(
    "station_passengers",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("surname", sa.String(200), nullable=False),
    sa.Column("given_names", sa.String(200), nullable=False),
    sa.Column("nationality", sa.String(3), nullable=False),
    sa.Column("birth_date", sa.Date(), nullable=False),
    sa.Column("sex", sa.String(1), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

station_travel_documents = sa.Table(
    "station_travel_documents",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "passenger_id",
        sa.Integer(),
        sa.ForeignKey("station_passengers.id", name="fk_station_travel_documents_passenger"),
        nullable=False,
    ),
    sa.Column("document_number", sa.String(9), nullable=False),
    sa.Column("issuing_state", sa.String(3), nullable=False),
    sa.Column("expires_on", sa.Date(), nullable=False),
    sa.Column("mrz", sa.String(89), nullable=False),
    sa.UniqueConstraint(
        "issuing_state", "document_number", name="uq_station_travel_documents_number"
    ),
    sa.Index("ix_station_travel_documents_passenger_id", "passenger_id"),
)

station_manifests = sa.Table(
    "station_manifests",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "voyage_id",
        sa.Integer(),
        sa.ForeignKey("station_voyages.id", name="fk_station_manifests_voyage"),
        nullable=False,
    ),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("voyage_id", name="uq_station_manifests_voyage"),
)

station_manifest_entries = sa.Table(
    "station_manifest_entries",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "manifest_id",
        sa.Integer(),
        sa.ForeignKey("station_manifests.id", name="fk_station_manifest_entries_manifest"),
        nullable=False,
    ),
    sa.Column(
        "passenger_id",
        sa.Integer(),
        sa.ForeignKey("station_passengers.id", name="fk_station_manifest_entries_passenger"),
        nullable=False,
    ),
    sa.Column(
        "document_id",
        sa.Integer(),
        sa.ForeignKey("station_travel_documents.id", name="fk_station_manifest_entries_document"),
        nullable=False,
    ),
    sa.UniqueConstraint("manifest_id", "passenger_id", name="uq_station_manifest_entries"),
)

station_visa_applications = sa.Table(
    "station_visa_applications",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "passenger_id",
        sa.Integer(),
        sa.ForeignKey("station_passengers.id", name="fk_station_visa_applications_passenger"),
        nullable=False,
    ),
    sa.Column(
        "colony_id",
        sa.Integer(),
        sa.ForeignKey("station_colonies.id", name="fk_station_visa_applications_colony"),
        nullable=False,
    ),
    sa.Column("applicant", sa.String(200), nullable=False),
    sa.Column("sponsor", sa.String(200), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(
        _in("status", STATION_APPLICATION_STATUSES), name="ck_station_visa_applications_status"
    ),
    sa.CheckConstraint(
        "decided_by IS NULL OR (decided_by <> applicant AND "
        "(sponsor IS NULL OR decided_by <> sponsor))",
        name="ck_station_visa_applications_duties",
    ),
    sa.CheckConstraint("version >= 1", name="ck_station_visa_applications_version"),
    sa.Index("ix_station_visa_applications_status", "status"),
)

station_visas = sa.Table(
    "station_visas",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "application_id",
        sa.Integer(),
        sa.ForeignKey("station_visa_applications.id", name="fk_station_visas_application"),
        nullable=False,
    ),
    sa.Column(
        "passenger_id",
        sa.Integer(),
        sa.ForeignKey("station_passengers.id", name="fk_station_visas_passenger"),
        nullable=False,
    ),
    sa.Column(
        "colony_id",
        sa.Integer(),
        sa.ForeignKey("station_colonies.id", name="fk_station_visas_colony"),
        nullable=False,
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("valid_from", UTCDateTime(), nullable=False),
    sa.Column("valid_until", UTCDateTime(), nullable=False),
    sa.Column("issued_by", sa.String(200), nullable=False),
    sa.Column("revocation_proposed_by", sa.String(200), nullable=True),
    sa.Column("revoked_by", sa.String(200), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.CheckConstraint(_in("status", STATION_VISA_STATUSES), name="ck_station_visas_status"),
    sa.CheckConstraint("valid_until > valid_from", name="ck_station_visas_validity"),
    sa.CheckConstraint(
        "(status = 'revoked') = (revoked_at IS NOT NULL AND revoked_by IS NOT NULL "
        "AND revocation_proposed_by IS NOT NULL AND revoked_by <> revocation_proposed_by)",
        name="ck_station_visas_revocation",
    ),
    sa.CheckConstraint("version >= 1", name="ck_station_visas_version"),
    sa.UniqueConstraint("application_id", name="uq_station_visas_application"),
    sa.Index("ix_station_visas_passenger_colony", "passenger_id", "colony_id"),
)

station_entry_events = sa.Table(
    "station_entry_events",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "passenger_id",
        sa.Integer(),
        sa.ForeignKey("station_passengers.id", name="fk_station_entry_events_passenger"),
        nullable=False,
    ),
    sa.Column(
        "colony_id",
        sa.Integer(),
        sa.ForeignKey("station_colonies.id", name="fk_station_entry_events_colony"),
        nullable=False,
    ),
    sa.Column(
        "visa_id",
        sa.Integer(),
        sa.ForeignKey("station_visas.id", name="fk_station_entry_events_visa"),
        nullable=True,
    ),
    sa.Column(
        "document_id",
        sa.Integer(),
        sa.ForeignKey("station_travel_documents.id", name="fk_station_entry_events_document"),
        nullable=True,
    ),
    sa.Column(
        "voyage_id",
        sa.Integer(),
        sa.ForeignKey("station_voyages.id", name="fk_station_entry_events_voyage"),
        nullable=True,
    ),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("officer", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("arrival_at", UTCDateTime(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(
        _in("outcome", STATION_ENTRY_OUTCOMES), name="ck_station_entry_events_outcome"
    ),
    sa.CheckConstraint(
        "outcome <> 'admitted' OR visa_id IS NOT NULL", name="ck_station_entry_events_visa"
    ),
    sa.Index("ix_station_entry_events_colony_outcome", "colony_id", "outcome"),
)

station_residents = sa.Table(
    "station_residents",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "passenger_id",
        sa.Integer(),
        sa.ForeignKey("station_passengers.id", name="fk_station_residents_passenger"),
        nullable=False,
    ),
    sa.Column(
        "colony_id",
        sa.Integer(),
        sa.ForeignKey("station_colonies.id", name="fk_station_residents_colony"),
        nullable=False,
    ),
    sa.Column(
        "visa_id",
        sa.Integer(),
        sa.ForeignKey("station_visas.id", name="fk_station_residents_visa"),
        nullable=False,
    ),
    sa.Column("since", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("passenger_id", name="uq_station_residents_passenger"),
    sa.Index("ix_station_residents_colony_id", "colony_id"),
)

station_audit_log = sa.Table(
    "station_audit_log",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject_type", sa.String(32), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("details", JSONDocument, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id >= 1", name="ck_station_audit_log_id"),
    sa.UniqueConstraint("hash", name="uq_station_audit_log_hash"),
)
