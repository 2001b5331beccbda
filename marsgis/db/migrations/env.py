"""Alembic environment for marsgis: runs on the connection that ``marsgis.db.upgrade`` passes in.

There is no ``alembic.ini``: :func:`marsgis.db.engine.alembic_config` builds the configuration
and puts an open connection (inside a transaction) in ``config.attributes["connection"]``.
Offline (``--sql``) runs come only from :func:`marsgis.db.engine.upgrade_sql`, which names the
dialect in ``config.attributes["offline_dialect"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from marsgis.db.engine import VERSION_TABLE
from marsgis.db.schema import metadata


def run_migrations() -> None:
    """Run the migrations on the connection handed over by marsgis.db."""
    if context.is_offline_mode():
        dialect = context.config.attributes.get("offline_dialect")
        if not isinstance(dialect, str):
            raise RuntimeError(
                "marsgis migrations run offline only through marsgis.db.upgrade_sql(); use "
                "marsgis.db.upgrade() to migrate a database"
            )
        context.configure(
            dialect_name=dialect,
            target_metadata=metadata,
            version_table=VERSION_TABLE,
            transactional_ddl=False,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "marsgis migrations need the connection from marsgis.db.upgrade(); run "
            "`marsgis db upgrade` instead of the alembic command"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
