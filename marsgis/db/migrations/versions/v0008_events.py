"""The event log: one row per change, written in the change's own transaction.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None

TOPICS = ("missions", "plans", "tasks", "reports", "schedules", "models")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    op.create_table(
        "events",
        # BIGSERIAL on PostgreSQL; INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, so an id is
        # never handed out twice (subscribers resume from the last id they saw)
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
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.CheckConstraint(_in("topic", TOPICS), name="ck_events_topic"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_topic_id", "events", ["topic", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_topic_id", table_name="events")
    op.drop_table("events")
