"""The station's roles for standalone API tokens: ``ck_api_tokens_role`` takes them.

Revision ID: 0011
Revises: 0010

Roles: ``passenger``, ``immigration_officer``, ``station_manager``, ``spaceline_dispatcher``,
``colony_official`` and ``auditor`` (their scopes: :mod:`marsgis.api.scopes`). A downgrade
deletes the tokens that carry one of them (the old constraint could not hold them).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from marsgis.db.migrations._ddl import dialect_name

revision = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None

OLD_ROLES = ("admin", "scientist", "operator", "viewer")
STATION_ROLES = (
    "passenger",
    "immigration_officer",
    "station_manager",
    "spaceline_dispatcher",
    "colony_official",
    "auditor",
)
NEW_ROLES = (*OLD_ROLES, *STATION_ROLES)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _set_roles(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if dialect_name() == "postgresql":
        op.drop_constraint("ck_api_tokens_role", "api_tokens", type_="check")
        op.create_check_constraint("ck_api_tokens_role", "api_tokens", _in("role", new))
        return
    # SQLite cannot alter a CHECK: rebuild the table with the same DDL and the new role list
    # (api_tokens has no AUTOINCREMENT and no separate index: its UNIQUE is part of the DDL).
    bind = op.get_bind()
    ddl = str(
        bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens'")
        ).scalar_one()
    )
    old_check, new_check = _in("role", old), _in("role", new)
    if old_check not in ddl:  # pragma: no cover - the DDL of revision 0006
        raise RuntimeError(f"unexpected DDL of the api_tokens table: {ddl}")
    # after a RENAME, SQLite stores the name quoted: CREATE TABLE "api_tokens" (...)
    new_ddl = re.sub(
        r'^CREATE TABLE\s+"?api_tokens"?',
        "CREATE TABLE api_tokens__new",
        ddl.replace(old_check, new_check),
    )
    bind.execute(sa.text(new_ddl))
    bind.execute(sa.text("INSERT INTO api_tokens__new SELECT * FROM api_tokens"))
    bind.execute(sa.text("DROP TABLE api_tokens"))
    bind.execute(sa.text("ALTER TABLE api_tokens__new RENAME TO api_tokens"))


def upgrade() -> None:
    _set_roles(OLD_ROLES, NEW_ROLES)


def downgrade() -> None:
    op.execute(f"DELETE FROM api_tokens WHERE {_in('role', STATION_ROLES)}")
    _set_roles(NEW_ROLES, OLD_ROLES)
