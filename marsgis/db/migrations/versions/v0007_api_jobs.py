"""The service API's jobs: long requests run on the Dask cluster, their status and results.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    op.create_table(
        "api_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parameters", _json(), nullable=False, server_default=sa.text("'{}'")),
        # host, pid and process start time of the API process that watches the job
        sa.Column("runner", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_path", sa.Text(), nullable=True),
        sa.Column("result_media_type", sa.String(100), nullable=True),
        sa.Column("result_json", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("status", JOB_STATUSES), name="ck_api_jobs_status"),
    )
    op.create_index("ix_api_jobs_owner_created_at", "api_jobs", ["owner", "created_at"])
    op.create_index("ix_api_jobs_status", "api_jobs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_api_jobs_status", table_name="api_jobs")
    op.drop_index("ix_api_jobs_owner_created_at", table_name="api_jobs")
    op.drop_table("api_jobs")
