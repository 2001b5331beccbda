"""``marsgis token``: bearer tokens of the standalone service API (no hub).

``create`` prints the new secret once (only its sha256 is stored); ``revoke`` names a token by
its id; ``list`` shows ids, users, roles and whether each is revoked, never a secret. The
database is ``--url`` if given, else ``MARSGIS_DATABASE_URL``, else the SpatiaLite file.
"""

from __future__ import annotations

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command"]

_URL_HELP = "Database URL (default: MARSGIS_DATABASE_URL, else the SpatiaLite file)."


@click.group("token")
def command() -> None:
    """Create, revoke and list API tokens (roles: admin, scientist, operator, viewer)."""


@command.command("create")
@click.option("--user", required=True, help="Who the token speaks for.")
@click.option("--role", required=True, help="admin, scientist, operator or viewer.")
@click.option("--url", default=None, help=_URL_HELP)
@json_option
@handle_errors
def create(user: str, role: str, url: str | None, as_json: bool) -> None:
    """Create a token and print its secret (shown only this once)."""
    from marsgis.db import tokens

    token, secret = tokens.create_token(user, role, db=url)
    result = {**token.to_dict(), "token": secret}
    emit(
        result,
        as_json,
        lambda r: (
            f"{r['token']}\n(token {r['id']} for {r['user']}, role {r['role']}; "
            "store it now, it is not shown again)"
        ),
    )


@command.command("revoke")
@click.argument("token_id")
@click.option("--url", default=None, help=_URL_HELP)
@json_option
@handle_errors
def revoke(token_id: str, url: str | None, as_json: bool) -> None:
    """Revoke the token TOKEN_ID (see `marsgis token list`)."""
    from marsgis.db import tokens

    token = tokens.revoke_token(token_id, db=url)
    emit(token.to_dict(), as_json, lambda r: f"revoked token {r['id']} of {r['user']}")


@command.command("list")
@click.option("--url", default=None, help=_URL_HELP)
@json_option
@handle_errors
def list_(url: str | None, as_json: bool) -> None:
    """List the tokens (ids, users, roles, revoked or not; never the secrets)."""
    from marsgis.db import tokens

    rows = [t.to_dict() for t in tokens.list_tokens(db=url)]
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['id']}  {r['user']:<20} {r['role']:<10} "
                f"{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'valid'}"
                for r in rs
            )
            or "no tokens"
        ),
    )
