"""An index on the order of mission lists (``created_at``, ``id``), for paging in SQL.

``marsgis.db.page_missions`` reads one page with ``ORDER BY created_at, id LIMIT/OFFSET``;
without this index every page sorts the whole table.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_missions_created_at_id", "missions", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_missions_created_at_id", table_name="missions")
