"""Alembic migrations of the marsgis schema (run them with ``marsgis.db.upgrade``)."""
