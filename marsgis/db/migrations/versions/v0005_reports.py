"""Scheduled papermill reports: schedules and the record of every run.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

RUN_STATUSES = ("running", "succeeded", "failed")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("report", sa.String(200), nullable=False),
        sa.Column("cron", sa.String(120), nullable=False),
        sa.Column("parameters", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        # the due time the scheduler handles next; advanced in the same transaction that
        # records a run, so a restart neither repeats nor skips one
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        # set while a run of this schedule is in progress (one at a time), with its lease end
        sa.Column("locked_by", sa.String(200), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_report_schedules_name"),
    )
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "schedule_id",
            sa.Integer(),
            sa.ForeignKey(
                "report_schedules.id", ondelete="SET NULL", name="fk_report_runs_schedule"
            ),
            nullable=True,
        ),
        sa.Column("report", sa.String(200), nullable=False),
        sa.Column("parameters", _json(), nullable=False, server_default=sa.text("'{}'")),
        # the schedule's due time this run fulfils (NULL for runs started by hand)
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outputs", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("status", RUN_STATUSES), name="ck_report_runs_status"),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_report_runs_schedule_due"),
    )
    op.create_index("ix_report_runs_report", "report_runs", ["report"])
    op.create_index("ix_report_runs_started_at", "report_runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_report_runs_started_at", table_name="report_runs")
    op.drop_index("ix_report_runs_report", table_name="report_runs")
    op.drop_table("report_runs")
    op.drop_table("report_schedules")
