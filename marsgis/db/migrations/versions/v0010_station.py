"""The station: colonies, stations, bays and bookings, vessels, voyages, manifests, passengers,
travel documents, visa applications, visas, entry events, residents and the audit log; the
event topic ``station``.

Revision ID: 0010
Revises: 0009

Invariants created here (docs/station.md): on PostGIS an exclusion constraint keeps the bookings
of one bay from overlapping (``btree_gist``); on both backends triggers refuse UPDATE and DELETE
of audit records.

The CockroachDB flavour (added later, a branch of its own: ``_ddl.cockroach()``) has neither
exclusion constraints nor ``btree_gist``: there bookings are checked inside a ``SERIALIZABLE``
transaction (:mod:`marsgis.db.station.docking`); and no statement-level (``TRUNCATE``) trigger.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from marsgis.db.migrations._ddl import (
    cockroach,
    crs_columns,
    dialect_name,
    drop_geometry_table,
    geometry_type,
    register_geometry,
)

revision = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None

OLD_TOPICS = ("missions", "plans", "tasks", "reports", "schedules", "models")
NEW_TOPICS = (*OLD_TOPICS, "station")
APPLICATION_STATUSES = (
    "draft",
    "submitted",
    "under_review",
    "info_requested",
    "approved",
    "rejected",
    "withdrawn",
)
VISA_STATUSES = ("issued", "expired", "revoked")
ENTRY_OUTCOMES = ("admitted", "refused", "secondary_inspection")
AUDIT_REFUSAL = "station audit records are append-only: never updated or deleted"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _fk(column: str, target: str, name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(column, sa.Integer(), sa.ForeignKey(target, name=name), nullable=nullable)


def _pk() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _set_event_topics(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if dialect_name() == "postgresql":
        op.drop_constraint("ck_events_topic", "events", type_="check")
        op.create_check_constraint("ck_events_topic", "events", _in("topic", new))
        return
    # SQLite cannot alter a CHECK: rebuild the table with the same DDL and the new topic list,
    # keeping its rows and its AUTOINCREMENT counter (ids are never handed out twice).
    bind = op.get_bind()
    ddl = str(
        bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'")
        ).scalar_one()
    )
    old_check, new_check = _in("topic", old), _in("topic", new)
    if old_check not in ddl:  # pragma: no cover - the DDL of revision 0008
        raise RuntimeError(f"unexpected DDL of the events table: {ddl}")
    seq = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'events'")).scalar()
    # after a RENAME, SQLite stores the name quoted: CREATE TABLE "events" (...)
    new_ddl = re.sub(
        r'^CREATE TABLE\s+"?events"?', "CREATE TABLE events__new", ddl.replace(old_check, new_check)
    )
    bind.execute(sa.text(new_ddl))
    bind.execute(sa.text("INSERT INTO events__new SELECT * FROM events"))
    bind.execute(sa.text("DROP INDEX ix_events_topic_id"))
    bind.execute(sa.text("DROP TABLE events"))
    bind.execute(sa.text("ALTER TABLE events__new RENAME TO events"))
    bind.execute(sa.text("CREATE INDEX ix_events_topic_id ON events (topic, id)"))
    if seq is not None:
        bind.execute(
            sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = 'events'"), {"seq": seq}
        )


def upgrade() -> None:
    postgres = dialect_name() == "postgresql"
    crdb = cockroach()
    _set_event_topics(OLD_TOPICS, NEW_TOPICS)

    op.create_table(
        "station_colonies",
        _pk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("boundary", geometry_type("POLYGON"), nullable=False),
        *crs_columns("station_colonies", "boundary"),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name="ck_station_colonies_capacity"),
        sa.CheckConstraint(
            "population >= 0 AND population <= capacity",
            name="ck_station_colonies_population",
        ),
        sa.CheckConstraint("version >= 1", name="ck_station_colonies_version"),
        sa.UniqueConstraint("name", name="uq_station_colonies_name"),
    )
    register_geometry("station_colonies", "boundary", "POLYGON")

    op.create_table(
        "stations",
        _pk(),
        sa.Column("name", sa.String(200), nullable=False),
        _fk("colony_id", "station_colonies.id", "fk_stations_colony"),
        sa.Column("created_at", _ts(), nullable=False),
        sa.UniqueConstraint("name", name="uq_stations_name"),
    )
    op.create_table(
        "station_bays",
        _pk(),
        _fk("station_id", "stations.id", "fk_station_bays_station"),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("vessel_classes", _json(), nullable=False, server_default=sa.text("'[]'")),
        sa.UniqueConstraint("station_id", "code", name="uq_station_bays_code"),
    )
    op.create_table(
        "station_vessels",
        _pk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("vessel_class", sa.String(32), nullable=False),
        sa.UniqueConstraint("name", name="uq_station_vessels_name"),
    )
    op.create_table(
        "station_voyages",
        _pk(),
        _fk("vessel_id", "station_vessels.id", "fk_station_voyages_vessel"),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("arrival_start", _ts(), nullable=False),
        sa.Column("arrival_end", _ts(), nullable=False),
        sa.CheckConstraint("arrival_end > arrival_start", name="ck_station_voyages_window"),
    )
    op.create_index("ix_station_voyages_arrival_start", "station_voyages", ["arrival_start"])

    op.create_table(
        "station_bay_bookings",
        _pk(),
        _fk("bay_id", "station_bays.id", "fk_station_bay_bookings_bay"),
        _fk("voyage_id", "station_voyages.id", "fk_station_bay_bookings_voyage", nullable=True),
        sa.Column("starts_at", _ts(), nullable=False),
        sa.Column("ends_at", _ts(), nullable=False),
        sa.Column("booked_by", sa.String(200), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_station_bay_bookings_period"),
    )
    op.create_index(
        "ix_station_bay_bookings_bay_starts", "station_bay_bookings", ["bay_id", "starts_at"]
    )
    if postgres and not crdb:
        # Two bookings of one bay never overlap: [starts_at, ends_at) ranges of equal bay_id
        # may not intersect (btree_gist gives GiST the '=' on integers).
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE station_bay_bookings ADD CONSTRAINT ex_station_bay_bookings_overlap "
            "EXCLUDE USING gist (bay_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )

    op.create_table(
        "station_passengers",
        _pk(),
        sa.Column("surname", sa.String(200), nullable=False),
        sa.Column("given_names", sa.String(200), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_table(
        "station_travel_documents",
        _pk(),
        _fk("passenger_id", "station_passengers.id", "fk_station_travel_documents_passenger"),
        sa.Column("document_number", sa.String(9), nullable=False),
        sa.Column("issuing_state", sa.String(3), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("mrz", sa.String(89), nullable=False),
        sa.UniqueConstraint(
            "issuing_state", "document_number", name="uq_station_travel_documents_number"
        ),
    )
    op.create_index(
        "ix_station_travel_documents_passenger_id", "station_travel_documents", ["passenger_id"]
    )
    op.create_table(
        "station_manifests",
        _pk(),
        _fk("voyage_id", "station_voyages.id", "fk_station_manifests_voyage"),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.UniqueConstraint("voyage_id", name="uq_station_manifests_voyage"),
    )
    op.create_table(
        "station_manifest_entries",
        _pk(),
        _fk("manifest_id", "station_manifests.id", "fk_station_manifest_entries_manifest"),
        _fk("passenger_id", "station_passengers.id", "fk_station_manifest_entries_passenger"),
        _fk("document_id", "station_travel_documents.id", "fk_station_manifest_entries_document"),
        sa.UniqueConstraint("manifest_id", "passenger_id", name="uq_station_manifest_entries"),
    )
    op.create_table(
        "station_visa_applications",
        _pk(),
        _fk("passenger_id", "station_passengers.id", "fk_station_visa_applications_passenger"),
        _fk("colony_id", "station_colonies.id", "fk_station_visa_applications_colony"),
        sa.Column("applicant", sa.String(200), nullable=False),
        sa.Column("sponsor", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.CheckConstraint(
            _in("status", APPLICATION_STATUSES), name="ck_station_visa_applications_status"
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR (decided_by <> applicant AND "
            "(sponsor IS NULL OR decided_by <> sponsor))",
            name="ck_station_visa_applications_duties",
        ),
        sa.CheckConstraint("version >= 1", name="ck_station_visa_applications_version"),
    )
    op.create_index("ix_station_visa_applications_status", "station_visa_applications", ["status"])
    op.create_table(
        "station_visas",
        _pk(),
        _fk("application_id", "station_visa_applications.id", "fk_station_visas_application"),
        _fk("passenger_id", "station_passengers.id", "fk_station_visas_passenger"),
        _fk("colony_id", "station_colonies.id", "fk_station_visas_colony"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", _ts(), nullable=False),
        sa.Column("valid_until", _ts(), nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("revocation_proposed_by", sa.String(200), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(_in("status", VISA_STATUSES), name="ck_station_visas_status"),
        sa.CheckConstraint("valid_until > valid_from", name="ck_station_visas_validity"),
        sa.CheckConstraint(
            "(status = 'revoked') = (revoked_at IS NOT NULL AND revoked_by IS NOT NULL "
            "AND revocation_proposed_by IS NOT NULL AND revoked_by <> revocation_proposed_by)",
            name="ck_station_visas_revocation",
        ),
        sa.CheckConstraint("version >= 1", name="ck_station_visas_version"),
        sa.UniqueConstraint("application_id", name="uq_station_visas_application"),
    )
    op.create_index(
        "ix_station_visas_passenger_colony", "station_visas", ["passenger_id", "colony_id"]
    )
    op.create_table(
        "station_entry_events",
        _pk(),
        _fk("passenger_id", "station_passengers.id", "fk_station_entry_events_passenger"),
        _fk("colony_id", "station_colonies.id", "fk_station_entry_events_colony"),
        _fk("visa_id", "station_visas.id", "fk_station_entry_events_visa", nullable=True),
        _fk(
            "document_id",
            "station_travel_documents.id",
            "fk_station_entry_events_document",
            nullable=True,
        ),
        _fk("voyage_id", "station_voyages.id", "fk_station_entry_events_voyage", nullable=True),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("officer", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("arrival_at", _ts(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.CheckConstraint(_in("outcome", ENTRY_OUTCOMES), name="ck_station_entry_events_outcome"),
        sa.CheckConstraint(
            "outcome <> 'admitted' OR visa_id IS NOT NULL", name="ck_station_entry_events_visa"
        ),
    )
    op.create_index(
        "ix_station_entry_events_colony_outcome",
        "station_entry_events",
        ["colony_id", "outcome"],
    )
    op.create_table(
        "station_residents",
        _pk(),
        _fk("passenger_id", "station_passengers.id", "fk_station_residents_passenger"),
        _fk("colony_id", "station_colonies.id", "fk_station_residents_colony"),
        _fk("visa_id", "station_visas.id", "fk_station_residents_visa"),
        sa.Column("since", _ts(), nullable=False),
        sa.UniqueConstraint("passenger_id", name="uq_station_residents_passenger"),
    )
    op.create_index("ix_station_residents_colony_id", "station_residents", ["colony_id"])

    op.create_table(
        "station_audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id >= 1", name="ck_station_audit_log_id"),
        sa.UniqueConstraint("hash", name="uq_station_audit_log_hash"),
    )
    if postgres:
        op.execute(
            "CREATE FUNCTION station_audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{AUDIT_REFUSAL} (% refused)', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            "CREATE TRIGGER station_audit_log_append_only BEFORE UPDATE OR DELETE ON "
            "station_audit_log FOR EACH ROW EXECUTE FUNCTION station_audit_log_refuse()"
        )
        if not crdb:  # CockroachDB has no statement-level triggers
            op.execute(
                "CREATE TRIGGER station_audit_log_no_truncate BEFORE TRUNCATE ON station_audit_log "
                "FOR EACH STATEMENT EXECUTE FUNCTION station_audit_log_refuse()"
            )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER station_audit_log_no_{verb.lower()} BEFORE {verb} ON "
                f"station_audit_log BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL} ({verb} "
                "refused)'); END"
            )


def downgrade() -> None:
    postgres = dialect_name() == "postgresql"
    if postgres:
        if not cockroach():
            op.execute("DROP TRIGGER IF EXISTS station_audit_log_no_truncate ON station_audit_log")
        op.execute("DROP TRIGGER IF EXISTS station_audit_log_append_only ON station_audit_log")
        op.execute("DROP FUNCTION IF EXISTS station_audit_log_refuse()")
    else:
        op.execute("DROP TRIGGER IF EXISTS station_audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS station_audit_log_no_delete")
    op.drop_table("station_audit_log")
    op.drop_index("ix_station_residents_colony_id", table_name="station_residents")
    op.drop_table("station_residents")
    op.drop_index("ix_station_entry_events_colony_outcome", table_name="station_entry_events")
    op.drop_table("station_entry_events")
    op.drop_index("ix_station_visas_passenger_colony", table_name="station_visas")
    op.drop_table("station_visas")
    op.drop_index("ix_station_visa_applications_status", table_name="station_visa_applications")
    op.drop_table("station_visa_applications")
    op.drop_table("station_manifest_entries")
    op.drop_table("station_manifests")
    op.drop_index("ix_station_travel_documents_passenger_id", table_name="station_travel_documents")
    op.drop_table("station_travel_documents")
    op.drop_table("station_passengers")
    op.drop_index("ix_station_bay_bookings_bay_starts", table_name="station_bay_bookings")
    op.drop_table("station_bay_bookings")
    op.drop_index("ix_station_voyages_arrival_start", table_name="station_voyages")
    op.drop_table("station_voyages")
    op.drop_table("station_vessels")
    op.drop_table("station_bays")
    op.drop_table("stations")
    drop_geometry_table("station_colonies", ("boundary",))
    op.execute("DELETE FROM events WHERE topic = 'station'")
    _set_event_topics(NEW_TOPICS, OLD_TOPICS)
