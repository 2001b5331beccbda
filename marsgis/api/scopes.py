"""The marsgis scopes and the one table that gives them to roles.

Scopes are named like JupyterHub custom scopes (``custom:marsgis:<resource>:<action>``), so the
same names serve a hub deployment's role definitions and the standalone tokens of
:mod:`marsgis.db.tokens`. Routes check scopes (:func:`marsgis.api.auth.require`), never roles.

>>> sorted(ROLE_SCOPES["operator"])  # doctest: +NORMALIZE_WHITESPACE
['custom:marsgis:data:read', 'custom:marsgis:missions:read', 'custom:marsgis:missions:status',
 'custom:marsgis:reports:read', 'custom:marsgis:reports:run']
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "DATA_READ",
    "INFERENCE_RUN",
    "MISSIONS_READ",
    "MISSIONS_STATUS",
    "MISSIONS_WRITE",
    "PLANNING_RUN",
    "REPORTS_READ",
    "REPORTS_RUN",
    "ROLE_SCOPES",
    "SCOPE_DESCRIPTIONS",
    "SCOPE_PREFIX",
    "STATION_APPLY",
    "STATION_AUDIT",
    "STATION_COLONY",
    "STATION_DECIDE",
    "STATION_DISPATCH",
    "STATION_MANAGE",
    "STATION_READ",
    "STATION_ROLES",
    "TOPIC_SCOPES",
    "scopes_for_role",
]

#: Prefix of every marsgis scope (JupyterHub's custom-scope namespace).
SCOPE_PREFIX = "custom:marsgis:"
#: Read the data catalog, terrain, STAC and map tiles.
DATA_READ = SCOPE_PREFIX + "data:read"
#: Read missions, their tasks and plans.
MISSIONS_READ = SCOPE_PREFIX + "missions:read"
#: Create, edit and delete missions and their plans.
MISSIONS_WRITE = SCOPE_PREFIX + "missions:write"
#: Change a mission's status (the lifecycle of :data:`marsgis.db.TRANSITIONS`).
MISSIONS_STATUS = SCOPE_PREFIX + "missions:status"
#: Run the terrain classifier (predict, batch jobs).
INFERENCE_RUN = SCOPE_PREFIX + "inference:run"
#: Run the planning functions (site checks and searches, traverses).
PLANNING_RUN = SCOPE_PREFIX + "planning:run"
#: Read report runs, their HTML and the schedules.
REPORTS_READ = SCOPE_PREFIX + "reports:read"
#: Trigger report runs and manage schedules.
REPORTS_RUN = SCOPE_PREFIX + "reports:run"
#: Read the station: colonies, bays and bookings, voyages, applications, visas, entries.
STATION_READ = SCOPE_PREFIX + "station:read"
#: Apply for a visa and move one's own application (submit, answer, withdraw).
STATION_APPLY = SCOPE_PREFIX + "station:apply"
#: Review and decide visa applications, issue and revoke visas, admit at arrival.
STATION_DECIDE = SCOPE_PREFIX + "station:decide"
#: Manage stations and docking bays; override colony capacity with a reason.
STATION_MANAGE = SCOPE_PREFIX + "station:manage"
#: Announce voyages, file manifests and book docking bays.
STATION_DISPATCH = SCOPE_PREFIX + "station:dispatch"
#: A colony's own business: its capacity and residents.
STATION_COLONY = SCOPE_PREFIX + "station:colony"
#: Read the station audit log and verify its hash chain.
STATION_AUDIT = SCOPE_PREFIX + "station:audit"
#: Everything.
ADMIN = SCOPE_PREFIX + "admin"

#: scope -> what it allows (also the ``description`` of each JupyterHub custom scope).
SCOPE_DESCRIPTIONS: Mapping[str, str] = {
    DATA_READ: "Read the marsgis data catalog, terrain queries, STAC and map tiles.",
    MISSIONS_READ: "Read marsgis missions, their tasks and plans.",
    MISSIONS_WRITE: "Create, edit and delete marsgis missions and plans.",
    MISSIONS_STATUS: "Change the status of a marsgis mission.",
    INFERENCE_RUN: "Run the marsgis terrain classifier.",
    PLANNING_RUN: "Run the marsgis planning functions (sites, traverses).",
    REPORTS_READ: "Read marsgis report runs and schedules.",
    REPORTS_RUN: "Trigger marsgis report runs and manage schedules.",
    STATION_READ: "Read the marsgis station (colonies, bays, voyages, applications, visas).",
    STATION_APPLY: "Apply for a marsgis station visa and move one's own application.",
    STATION_DECIDE: "Decide marsgis visa applications, issue and revoke visas, admit arrivals.",
    STATION_MANAGE: "Manage marsgis stations and docking bays; override colony capacity.",
    STATION_DISPATCH: "Announce marsgis voyages, file manifests and book docking bays.",
    STATION_COLONY: "Manage a marsgis colony's capacity and read its residents.",
    STATION_AUDIT: "Read and verify the marsgis station audit log.",
    ADMIN: "Everything in marsgis.",
}

#: Every scope marsgis defines.
ALL_SCOPES: frozenset[str] = frozenset(SCOPE_DESCRIPTIONS)

_READ = frozenset({DATA_READ, MISSIONS_READ, REPORTS_READ})

#: role -> the scopes it grants (the one place roles meet scopes).
ROLE_SCOPES: Mapping[str, frozenset[str]] = {
    "admin": ALL_SCOPES,
    "scientist": _READ | {MISSIONS_WRITE, INFERENCE_RUN, PLANNING_RUN},
    "operator": _READ | {MISSIONS_STATUS, REPORTS_RUN},
    "viewer": _READ,
    # the station (docs/station.md); a passenger reads only their own applications
    "passenger": frozenset({STATION_APPLY}),
    "immigration_officer": frozenset({STATION_READ, STATION_DECIDE}),
    "station_manager": frozenset({STATION_READ, STATION_MANAGE}),
    "spaceline_dispatcher": frozenset({STATION_READ, STATION_DISPATCH}),
    "colony_official": frozenset({STATION_READ, STATION_COLONY}),
    "auditor": frozenset({STATION_READ, STATION_AUDIT}),
}

#: The station's roles (issue 14), in :data:`ROLE_SCOPES` and :data:`marsgis.db.TOKEN_ROLES`.
STATION_ROLES = (
    "passenger",
    "immigration_officer",
    "station_manager",
    "spaceline_dispatcher",
    "colony_official",
    "auditor",
)


#: event topic (:data:`marsgis.events.EVENT_TOPICS`) -> the scope that reads it on the event
#: streams (``/api/v1/streams``): the scope of the routes that read the same records.
TOPIC_SCOPES: Mapping[str, str] = {
    "missions": MISSIONS_READ,
    "plans": MISSIONS_READ,
    "tasks": MISSIONS_READ,
    "reports": REPORTS_READ,
    "schedules": REPORTS_READ,
    "models": DATA_READ,
    "station": STATION_READ,
}


def scopes_for_role(role: str) -> frozenset[str]:
    """The scopes of ``role`` (none for a role this table does not know).

    >>> scopes_for_role("viewer") == {DATA_READ, MISSIONS_READ, REPORTS_READ}
    True
    """
    return ROLE_SCOPES.get(role, frozenset())
