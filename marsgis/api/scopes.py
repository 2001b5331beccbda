"""The marsgis scopes and the one table that gives them to roles.

Scopes are named like JupyterHub custom scopes (``custom:marsgis:<resource>:<action>``), so the
same names serve a hub deployment's role definitions and the standalone tokens of
:mod:`marsgis.db.tokens`. Routes check scopes (:func:`marsgis.api.auth.require`), never roles.

>>> sorted(ROLE_SCOPES["operator"])
['custom:marsgis:missions:read', 'custom:marsgis:missions:status']
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "MISSIONS_READ",
    "MISSIONS_STATUS",
    "MISSIONS_WRITE",
    "ROLE_SCOPES",
    "SCOPE_PREFIX",
    "scopes_for_role",
]

#: Prefix of every marsgis scope (JupyterHub's custom-scope namespace).
SCOPE_PREFIX = "custom:marsgis:"
#: Read missions, their tasks and plans.
MISSIONS_READ = SCOPE_PREFIX + "missions:read"
#: Create, edit and delete missions.
MISSIONS_WRITE = SCOPE_PREFIX + "missions:write"
#: Change a mission's status (the lifecycle of :data:`marsgis.db.TRANSITIONS`).
MISSIONS_STATUS = SCOPE_PREFIX + "missions:status"
#: Everything.
ADMIN = SCOPE_PREFIX + "admin"

#: Every scope marsgis defines.
ALL_SCOPES: frozenset[str] = frozenset({MISSIONS_READ, MISSIONS_WRITE, MISSIONS_STATUS, ADMIN})

#: role -> the scopes it grants (the one place roles meet scopes).
ROLE_SCOPES: Mapping[str, frozenset[str]] = {
    "admin": ALL_SCOPES,
    "scientist": frozenset({MISSIONS_READ, MISSIONS_WRITE}),
    "operator": frozenset({MISSIONS_READ, MISSIONS_STATUS}),
    "viewer": frozenset({MISSIONS_READ}),
}


def scopes_for_role(role: str) -> frozenset[str]:
    """The scopes of ``role`` (none for a role this table does not know).

    >>> scopes_for_role("viewer") == {MISSIONS_READ}
    True
    """
    return ROLE_SCOPES.get(role, frozenset())
