"""The one auth dependency of every router: a bearer token, its principal, a scope check.

Standalone (no hub), tokens are those of :mod:`marsgis.db.tokens`; the token's role gives its
scopes through :data:`marsgis.api.scopes.ROLE_SCOPES`. A missing, unknown or revoked token is a
``401`` with ``WWW-Authenticate: Bearer``; a valid token without the route's scope is a ``403``
(and the route never runs, so nothing is written).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from marsgis.api.ratelimit import charge
from marsgis.api.scopes import ADMIN, SCOPE_PREFIX, scopes_for_role
from marsgis.db import tokens

__all__ = ["Principal", "authenticate", "database", "require"]

_bearer = HTTPBearer(auto_error=False, description="A token from `marsgis token create`.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user name, the role of its token and that role's scopes."""

    name: str
    role: str
    scopes: frozenset[str]
    token_id: str

    def allows(self, scope: str) -> bool:
        """Whether the principal holds ``scope`` (``admin`` holds every scope)."""
        return scope in self.scopes or ADMIN in self.scopes


def database(request: Request) -> object:
    """The database the app was created for (``create_app(db=...)``)."""
    return request.app.state.db


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal of the request's bearer token (``401`` without a valid one).

    Takes a token of the caller's rate-limit bucket first (``429`` when it is empty): the
    principal's, or the client address's for a request without a valid token.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        charge(request, None)
        raise _unauthorized(
            "no bearer token; send `Authorization: Bearer TOKEN` (create one with "
            "`marsgis token create --user NAME --role ROLE`)"
        )
    token = tokens.authenticate(credentials.credentials, db=request.app.state.db)
    if token is None:
        charge(request, None)
        raise _unauthorized("the bearer token is unknown or revoked; ask an admin for a new one")
    principal = Principal(
        name=token.user, role=token.role, scopes=scopes_for_role(token.role), token_id=token.id
    )
    request.state.principal = principal
    charge(request, principal.name)
    return principal


def require(scope: str) -> Callable[..., Principal]:
    """A dependency that returns the principal if it holds ``scope``, else refuses (``403``)."""

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.allows(scope):
            raise HTTPException(
                403,
                detail=f"{principal.name!r} (role {principal.role!r}) lacks the scope {scope!r}",
            )
        return principal

    check.__name__ = "require_" + scope.removeprefix(SCOPE_PREFIX).replace(":", "_")
    return check
