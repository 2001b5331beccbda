"""``marsgis db``: bring the database schema up to date, or show its revision.

The database is ``--url`` if given, else ``MARSGIS_DATABASE_URL``, else the SpatiaLite file
``marsgis.sqlite`` in the user data dir. URLs are printed with their password hidden.
"""

from __future__ import annotations

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command"]

_URL_HELP = "Database URL (default: MARSGIS_DATABASE_URL, else the SpatiaLite file)."


def _url(url: str | None) -> str:
    from marsgis.config import settings

    return url if url is not None else settings().database_url


@click.group("db")
def command() -> None:
    """Manage the marsgis database schema (Alembic migrations shipped with marsgis)."""


@command.command("upgrade")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@json_option
@handle_errors
def upgrade(url: str | None, revision: str, as_json: bool) -> None:
    """Apply pending migrations (in one transaction) and print the revision now current."""
    from marsgis.db import head_revision, redact_url
    from marsgis.db import upgrade as upgrade_schema

    target = _url(url)
    current = upgrade_schema(target, revision)
    result = {"url": redact_url(target), "revision": current, "head": head_revision()}
    emit(result, as_json, lambda r: f"{r['url']}: at revision {r['revision']} (head {r['head']})")


@command.command("current")
@click.option("--url", default=None, help=_URL_HELP)
@json_option
@handle_errors
def current(url: str | None, as_json: bool) -> None:
    """Print the schema revision of the database (none before the first upgrade)."""
    from marsgis.db import current_revision, head_revision, redact_url

    target = _url(url)
    revision = current_revision(target)
    head = head_revision()
    result = {
        "url": redact_url(target),
        "revision": revision,
        "head": head,
        "up_to_date": revision == head,
    }
    emit(
        result,
        as_json,
        lambda r: f"{r['url']}: at revision {r['revision'] or 'none'} (head {r['head']})",
    )
