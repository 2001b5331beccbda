"""The one auth dependency of every router: a token, its principal, a scope check.

A token comes as ``Authorization: Bearer TOKEN`` (JupyterHub's ``Authorization: token TOKEN``
too) or as the ``?token=TOKEN`` query parameter. Two kinds are accepted:

* standalone tokens, those of :mod:`marsgis.db.tokens` (``mgs_...``); the token's role gives
  its scopes through :data:`marsgis.api.scopes.ROLE_SCOPES`;
* when the API runs as a JupyterHub service (``JUPYTERHUB_API_URL`` and
  ``JUPYTERHUB_API_TOKEN`` set, or ``create_app(hub=HubIdentity(...))``), any other token is
  checked with the hub (:class:`HubIdentity`): the principal is the hub user the token belongs
  to, and its scopes are the marsgis custom scopes (``custom:marsgis:*``) in the hub's answer,
  i.e. those the user's hub roles grant and the token carries. Group names are never read.

A missing, unknown or revoked token is a ``401`` with ``WWW-Authenticate: Bearer``; a valid token
without the route's scope is a ``403`` (and the route never runs, so nothing is written); a hub
that does not answer is a ``503``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from marsgis.api.ratelimit import charge
from marsgis.api.scopes import ADMIN, ALL_SCOPES, ROLE_SCOPES, SCOPE_PREFIX, scopes_for_role
from marsgis.config import Settings, settings
from marsgis.db import roles, tokens
from marsgis.events import acting_as
from marsgis.exceptions import DependencyNotFoundError

__all__ = [
    "HubIdentity",
    "Principal",
    "acting_role",
    "authenticate",
    "database",
    "database_role",
    "identify",
    "require",
    "token_of",
]

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `marsgis token create`, or a JupyterHub API token behind the hub.",
)
_query = APIKeyQuery(
    name="token",
    auto_error=False,
    description="The same token as a query parameter (`?token=TOKEN`), e.g. for GIS clients.",
)


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


def marsgis_scopes(scopes: object) -> frozenset[str]:
    """The marsgis scopes among a hub answer's ``scopes`` (filtered or unknown ones dropped).

    >>> sorted(marsgis_scopes(["self", "custom:marsgis:data:read", "custom:marsgis:x",
    ...                        "custom:marsgis:admin!user=ada", "access:services"]))
    ['custom:marsgis:data:read']
    """
    if not isinstance(scopes, list | tuple | set | frozenset):
        return frozenset()
    return frozenset(s for s in scopes if isinstance(s, str) and s in ALL_SCOPES)


def role_of(scopes: frozenset[str]) -> str:
    """The most powerful marsgis role whose scopes ``scopes`` hold (``"none"`` if none).

    >>> role_of(ROLE_SCOPES["operator"] | {SCOPE_PREFIX + "inference:run"})
    'operator'
    """
    for role, granted in ROLE_SCOPES.items():  # admin, scientist, operator, viewer, station
        if granted <= scopes:
            return role
    return "none"


class HubIdentity:
    """Who a JupyterHub token belongs to, asked of the hub; answers cached briefly.

    Uses JupyterHub's own client (:class:`jupyterhub.services.auth.HubAuth`, ``GET
    {api_url}/user`` with the caller's token). Each answer, a principal or "unknown", is kept
    ``cache_seconds`` in a bounded least-recently-used cache of ``cache_size`` tokens (keyed by
    the token's SHA-256), so a revoked hub token stops working within ``cache_seconds``.

    Parameters
    ----------
    api_url
        The hub's REST API, e.g. ``http://127.0.0.1:8081/hub/api`` (``JUPYTERHUB_API_URL``).
    api_token
        This service's own hub token (``JUPYTERHUB_API_TOKEN``).
    cache_seconds, cache_size
        How long and how many answers are kept.
    """

    def __init__(
        self,
        api_url: str,
        api_token: str,
        *,
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
    ) -> None:
        try:
            from jupyterhub.services.auth import HubAuth
        except ImportError as error:
            raise DependencyNotFoundError(
                "hub tokens need JupyterHub's client library: pip install 'marsgis[hub]' "
                "(or unset JUPYTERHUB_API_URL to accept standalone tokens only)"
            ) from error
        self.api_url = api_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._auth = HubAuth(api_url=self.api_url, api_token=api_token)
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, config: Settings | None = None) -> HubIdentity | None:
        """The hub of a service's environment (``JUPYTERHUB_API_URL`` + ``_TOKEN``), else None."""
        s = settings() if config is None else config
        if not (s.hub_api_url and s.hub_api_token):
            return None
        return cls(s.hub_api_url, s.hub_api_token)

    def principal(self, token: str) -> Principal | None:
        """The principal of the hub token ``token``; None if the hub does not know it.

        Raises
        ------
        fastapi.HTTPException
            ``503`` when the hub cannot be asked.
        """
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(key)
                return cached[1]
        model = self._ask(token)
        found = None if model is None else self._to_principal(model, key)
        with self._lock:
            self._cache[key] = (now + self.cache_seconds, found)
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return found

    def _ask(self, token: str) -> Mapping[str, Any] | None:
        from tornado.web import HTTPError

        try:
            model = self._auth.user_for_token(token, use_cache=False, sync=True)
        except HTTPError as error:
            raise HTTPException(
                503,
                detail=f"the JupyterHub at {self.api_url} could not check the token "
                f"({error.log_message or error.status_code}); retry shortly, or ask an "
                "operator whether the hub is running",
            ) from error
        return model if isinstance(model, Mapping) else None

    @staticmethod
    def _to_principal(model: Mapping[str, Any], key: str) -> Principal:
        scopes = marsgis_scopes(model.get("scopes"))
        return Principal(
            name=str(model.get("name", "")),
            role=role_of(scopes),
            scopes=scopes,
            token_id="hub:" + key[:16],
        )


async def database(request: Request) -> object:
    """The database the app was created for (``create_app(db=...)``).

    Async, so that FastAPI resolves it on the event loop, without a thread-pool hop.
    """
    return request.app.state.db


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def token_of(connection: HTTPConnection) -> str | None:
    """The token a request or WebSocket handshake carries, None without one.

    ``Authorization: Bearer TOKEN`` (or JupyterHub's ``Authorization: token TOKEN``) first,
    else the ``?token=TOKEN`` query parameter (what a browser's ``WebSocket`` or
    ``EventSource``, which cannot set headers, sends).
    """
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return connection.query_params.get("token") or None


def identify(connection: HTTPConnection, secret: str | None) -> Principal:
    """The principal of the token ``secret`` sent on ``connection`` (a request or a WebSocket).

    Takes a token of the caller's rate-limit bucket first: the principal's, or the client
    address's for a connection without a valid token. Blocks on the database (or the hub):
    call it from a worker thread in async code.

    Raises
    ------
    fastapi.HTTPException
        ``401`` without a valid token, ``429`` over the rate limit, ``503`` when the hub
        cannot be asked.
    """
    if secret is None:
        charge(connection, None)
        raise _unauthorized(
            "no token; send `Authorization: Bearer TOKEN` or `?token=TOKEN` (create one with "
            "`marsgis token create --user NAME --role ROLE`, or on the hub at /hub/token)"
        )
    hub: HubIdentity | None = getattr(connection.app.state, "hub", None)
    principal: Principal | None = None
    if secret.startswith(tokens.TOKEN_PREFIX) or hub is None:
        token = tokens.TOKEN_CACHE.authenticate(secret, connection.app.state.db)
        if token is not None:
            principal = _principal_of(token)
    else:
        principal = hub.principal(secret)
    if principal is None:
        charge(connection, None)
        raise _unauthorized("the token is unknown, expired or revoked; ask an admin for a new one")
    connection.state.principal = principal
    charge(connection, principal.name)
    return principal


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    query: Annotated[str | None, Depends(_query)],
) -> Principal:
    """The principal of the request's token (``401`` without a valid one).

    Takes a token of the caller's rate-limit bucket first (``429`` when it is empty): the
    principal's, or the client address's for a request without a valid token.

    A standalone token is checked through :data:`marsgis.db.tokens.TOKEN_CACHE`: a token seen
    valid in the last :data:`~marsgis.db.tokens.TOKEN_CACHE_SECONDS` is accepted on the event
    loop without a database query (so a revocation by another process takes effect here
    within that bound; one in this process at once); other lookups run in the thread pool.
    """
    secret = (
        (credentials.credentials if credentials is not None and credentials.credentials else None)
        or token_of(request)
        or query
        or None
    )
    hub: HubIdentity | None = getattr(request.app.state, "hub", None)
    if secret is not None and (secret.startswith(tokens.TOKEN_PREFIX) or hub is None):
        hit, token = tokens.TOKEN_CACHE.cached(secret, request.app.state.db)
        if hit and token is not None:  # on the event loop, no database query
            principal = _principal_of(token)
            request.state.principal = principal
            charge(request, principal.name)
            return principal
    return await run_in_threadpool(identify, request, secret)


@lru_cache(maxsize=4096)
def _principal_of(token: tokens.ApiToken) -> Principal:
    return Principal(
        name=token.user, role=token.role, scopes=scopes_for_role(token.role), token_id=token.id
    )


def database_role(
    connection: HTTPConnection, principal: Principal, scope: str | None = None
) -> AbstractContextManager[str | None]:
    """The database role the request of ``principal`` runs as (see ``create_app(db_roles=)``).

    With per-caller database roles on, :func:`marsgis.db.as_role` of the principal's role: a
    hub principal whose scopes make up no whole marsgis role (``"none"``) runs as a viewer.
    When the route's ``scope`` is not one of that role's but another whole role of the
    principal grants it (a hub user in two groups, e.g. operators and immigration officers,
    deciding an application), the request runs as that role instead. Off, the login role of
    the app's database URL does everything (a no-op context).
    """
    prefix: str | None = getattr(connection.app.state, "db_role_prefix", None)
    if prefix is None:
        return nullcontext(None)
    return roles.as_role(acting_role(principal, scope), prefix=prefix)


def acting_role(principal: Principal, scope: str | None = None) -> str:
    """The marsgis role whose database group a request for ``scope`` runs as (see above).

    >>> both = ROLE_SCOPES["operator"] | ROLE_SCOPES["immigration_officer"]
    >>> p = Principal("ada", "operator", both, "hub")
    >>> acting_role(p), acting_role(p, SCOPE_PREFIX + "station:decide")
    ('operator', 'immigration_officer')
    """
    role = principal.role if principal.role in roles.ROLE_LEVELS else "viewer"
    if scope is None or scope in ROLE_SCOPES.get(role, ()) or ADMIN in principal.scopes:
        return role
    for candidate, granted in ROLE_SCOPES.items():
        if candidate in roles.ROLE_LEVELS and scope in granted and granted <= principal.scopes:
            return candidate
    return role


def require(scope: str) -> Callable[..., AsyncIterator[Principal]]:
    """A dependency that returns the principal if it holds ``scope``, else refuses (``403``).

    The request then runs as the principal: every change the route makes records the
    principal's name as its event's actor (:func:`marsgis.events.acting_as`), and, with
    per-caller database roles on (``create_app(db_roles=True)``), every transaction runs as
    the principal's database role (:func:`database_role`), in this one place rather than in
    each route.
    """

    async def check(
        request: Request,
        principal: Annotated[Principal, Depends(authenticate)],
    ) -> AsyncIterator[Principal]:
        if not principal.allows(scope):
            raise HTTPException(
                403,
                detail=f"{principal.name!r} (role {principal.role!r}) lacks the scope {scope!r}",
            )
        with acting_as(principal.name), database_role(request, principal, scope):
            yield principal

    check.__name__ = "require_" + scope.removeprefix(SCOPE_PREFIX).replace(":", "_")
    return check
