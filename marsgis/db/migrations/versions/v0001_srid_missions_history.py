"""Mars SRID, missions and mission status history.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from marsgis.db.migrations._ddl import (
    crs_columns,
    drop_geometry_table,
    geometry_type,
    prepare_spatial_database,
    register_geometry,
    register_mars_srid,
    unregister_mars_srid,
)

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

MISSION_TYPES = ("landing", "traverse", "orbital", "sample_return", "survey", "other")
MISSION_STATUSES = ("planned", "active", "completed", "aborted")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _uuid() -> sa.types.TypeEngine[str]:
    return sa.Uuid(as_uuid=False).with_variant(sa.String(36), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    prepare_spatial_database()
    register_mars_srid()
    op.create_table(
        "missions",
        sa.Column("id", _uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("mission_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("target", geometry_type("POINT"), nullable=False),
        *crs_columns("missions", "target"),
        sa.Column("safety_score", sa.Float(), nullable=True),
        sa.Column("scientific_priority", sa.Float(), nullable=True),
        sa.Column("constraints", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("risk_assessment", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("objectives", _json(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(_in("mission_type", MISSION_TYPES), name="ck_missions_mission_type"),
        sa.CheckConstraint(_in("status", MISSION_STATUSES), name="ck_missions_status"),
        sa.CheckConstraint(
            "safety_score IS NULL OR (safety_score >= 0 AND safety_score <= 1)",
            name="ck_missions_safety_score",
        ),
        sa.CheckConstraint(
            "scientific_priority IS NULL OR "
            "(scientific_priority >= 0 AND scientific_priority <= 1)",
            name="ck_missions_scientific_priority",
        ),
        sa.CheckConstraint("version >= 1", name="ck_missions_version"),
    )
    register_geometry("missions", "target", "POINT")
    op.create_index("ix_missions_status", "missions", ["status"])
    op.create_index("ix_missions_mission_type", "missions", ["mission_type"])

    op.create_table(
        "mission_status_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "mission_id",
            _uuid(),
            sa.ForeignKey(
                "missions.id", ondelete="CASCADE", name="fk_mission_status_history_mission"
            ),
            nullable=False,
        ),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(200), nullable=True),
    )
    op.create_index(
        "ix_mission_status_history_mission_id", "mission_status_history", ["mission_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_mission_status_history_mission_id", table_name="mission_status_history")
    op.drop_table("mission_status_history")
    op.drop_index("ix_missions_mission_type", table_name="missions")
    op.drop_index("ix_missions_status", table_name="missions")
    drop_geometry_table("missions", ("target",))
    unregister_mars_srid()
