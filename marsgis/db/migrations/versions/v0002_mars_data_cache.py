"""The catalog download cache index, ``mars_data_cache``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from marsgis.db.migrations._ddl import (
    crs_columns,
    drop_geometry_table,
    geometry_type,
    register_geometry,
)

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mars_data_cache",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("href", sa.String(2048), nullable=False),
        sa.Column("data_type", sa.String(64), nullable=False),
        sa.Column("bounds", geometry_type("POLYGON"), nullable=True),
        *crs_columns("mars_data_cache", "bounds"),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("cached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("href", name="uq_mars_data_cache_href"),
    )
    register_geometry("mars_data_cache", "bounds", "POLYGON")
    op.create_index("ix_mars_data_cache_data_type", "mars_data_cache", ["data_type"])
    op.create_index("ix_mars_data_cache_expires_at", "mars_data_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_mars_data_cache_expires_at", table_name="mars_data_cache")
    op.drop_index("ix_mars_data_cache_data_type", table_name="mars_data_cache")
    drop_geometry_table("mars_data_cache", ("bounds",))
