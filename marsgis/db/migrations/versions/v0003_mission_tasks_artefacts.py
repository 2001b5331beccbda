"""Mission tasks and plan artefacts (landing ellipses, traverses) of marsgis.planning.

Revision ID: 0003
Revises: 0002
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
    register_geometry,
)

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

TASK_STATUSES = ("todo", "in_progress", "done", "skipped")
ARTEFACT_KINDS = ("ellipse", "traverse")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _uuid() -> sa.types.TypeEngine[str]:
    return sa.Uuid(as_uuid=False).with_variant(sa.String(36), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mission_tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "mission_id",
            _uuid(),
            sa.ForeignKey("missions.id", ondelete="CASCADE", name="fk_mission_tasks_mission"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("status", TASK_STATUSES), name="ck_mission_tasks_status"),
        sa.CheckConstraint("position >= 0", name="ck_mission_tasks_position"),
        sa.UniqueConstraint("mission_id", "position", name="uq_mission_tasks_position"),
    )
    op.create_index("ix_mission_tasks_mission_id", "mission_tasks", ["mission_id"])

    op.create_table(
        "mission_artefacts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "mission_id",
            _uuid(),
            sa.ForeignKey("missions.id", ondelete="CASCADE", name="fk_mission_artefacts_mission"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("geometry", geometry_type("GEOMETRY"), nullable=False),
        *crs_columns("mission_artefacts", "geometry"),
        sa.Column("properties", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in("kind", ARTEFACT_KINDS), name="ck_mission_artefacts_kind"),
    )
    register_geometry("mission_artefacts", "geometry", "GEOMETRY")
    op.create_index("ix_mission_artefacts_mission_id", "mission_artefacts", ["mission_id"])


def downgrade() -> None:
    op.drop_index("ix_mission_artefacts_mission_id", table_name="mission_artefacts")
    drop_geometry_table("mission_artefacts", ("geometry",))
    op.drop_index("ix_mission_tasks_mission_id", table_name="mission_tasks")
    op.drop_table("mission_tasks")
