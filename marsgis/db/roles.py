"""Who may write what: PostgreSQL roles for the hub's groups, enforced by the database itself.

On the shared PostGIS deployment every hub user's server connects as a PostgreSQL login role of
its own, member of one group role per privilege level:

=============  ===========================  ==================================================
hub group      PostgreSQL group role        privileges on the marsgis tables
=============  ===========================  ==================================================
``viewers``    ``<prefix>_viewer``          ``SELECT``
``operators``  ``<prefix>_operator``        ``SELECT``; ``UPDATE (status, updated_at,
                                            version)`` on ``missions``; ``INSERT`` on
                                            ``mission_status_history`` and ``events``;
                                            ``INSERT, UPDATE`` on ``report_runs`` (run a
                                            report now); ``INSERT, UPDATE, DELETE`` on
                                            ``report_schedules``
``scientists`` ``<prefix>_scientist``       ``SELECT, INSERT, UPDATE, DELETE`` on every table
                                            but ``events`` (``SELECT, INSERT``: the event
                                            log is append-only)
=============  ===========================  ==================================================

The station's roles (issue 14, :data:`STATION_LEVELS`) have a group role each, with grants on
the station tables only (``station_*``, ``stations``; none on the mission tables):

=========================  ====================================  ==============================
hub group                  PostgreSQL group role                 may change (besides reading)
=========================  ====================================  ==============================
``immigration-officers``   ``<prefix>_immigration_officer``      decide applications (``UPDATE``
                                                                 ``station_visa_applications``),
                                                                 issue, revoke and expire visas,
                                                                 record entries, admit
                                                                 (residents, colony population)
``station-managers``       ``<prefix>_station_manager``          add stations, bays, vessels;
                                                                 a colony's capacity (override);
                                                                 book bays
``spaceline-dispatchers``  ``<prefix>_spaceline_dispatcher``     vessels, voyages, manifests
                                                                 (registering passengers and
                                                                 documents), bay bookings
``colony-officials``       ``<prefix>_colony_official``          a colony's capacity
``passengers``             ``<prefix>_passenger``                create and move applications
                                                                 (never to approved or
                                                                 rejected: no ``decided_by``);
                                                                 reads colonies, passengers,
                                                                 documents, applications, visas
``auditors``               ``<prefix>_auditor``                  nothing: reads the station
                                                                 tables, audit log and events
=========================  ====================================  ==============================

Every station role but the passenger reads every station table and the event log; the writers
append to the audit log (reading only its ``id`` and ``hash``, to chain the next record, unless
they are officers or auditors) and to the event log, and store their API responses'
idempotency keys. Table grants cannot tell one passenger's rows from another's, nor one colony
from another: "own application" and "own colony" are the service API's checks
(:mod:`marsgis.api.routers.station`). No station role may update or delete a decision: the
audit log and the event log are append-only for every role.

The database refuses anything else, whichever path the write takes (a dashboard, a service's
API, the ``marsgis`` CLI, code typed into a kernel), and :mod:`marsgis.db` raises the refusal as
:class:`~marsgis.exceptions.PermissionDeniedError`. That is the one enforcement point; the
hub only decides which role a server or a dashboard kernel connects as (``hub/``).
:func:`current_access` lets a dashboard grey out the buttons a role may not use, but it
enforces nothing.

Roles need PostgreSQL. SpatiaLite is the single-user embedded store: whoever can open the file
can write it, and :func:`current_access` reports ``"owner"`` there.

Passwords: the hub derives each role's password from a secret of its own
(:func:`derive_password`) and hands it out inside ``MARSGIS_DATABASE_URL``. A deployment's
``pg_hba.conf`` must use ``scram-sha-256`` for these roles, otherwise (``trust``) the role name
alone logs in and the roles only guard against mistakes, not against a user who picks another
role name.

Examples
--------
>>> from marsgis.db import roles  # doctest: +SKIP
>>> admin = "postgresql+psycopg2://postgres@127.0.0.1:5432/marsgis"  # doctest: +SKIP
>>> roles.ensure_roles(admin)  # doctest: +SKIP
>>> name = roles.grant_user(admin, "ada", "operator", password="s3cret")  # doctest: +SKIP
>>> roles.user_database_url(admin, name, "s3cret")  # doctest: +SKIP
'postgresql+psycopg2://marsgis_u_ada:s3cret@127.0.0.1:5432/marsgis'
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from marsgis.db.engine import VERSION_TABLE, database_role, get_engine, transaction
from marsgis.exceptions import DatabaseError, ValidationError

__all__ = [
    "ALL_LEVELS",
    "DEFAULT_PREFIX",
    "HUB_GROUPS",
    "LEVELS",
    "ROLE_LEVELS",
    "STATION_LEVELS",
    "Access",
    "as_role",
    "current_access",
    "derive_password",
    "drop_roles",
    "ensure_roles",
    "grant_user",
    "grant_role",
    "group_role",
    "service_role",
    "user_database_url",
    "user_role",
]

#: The missions' privilege levels, most powerful first.
LEVELS = ("scientist", "operator", "viewer")
#: The station's privilege levels (one per station role, :data:`marsgis.api.scopes.STATION_ROLES`),
#: in the order a dashboard prefers them when a person holds several.
STATION_LEVELS = (
    "station_manager",
    "immigration_officer",
    "spaceline_dispatcher",
    "colony_official",
    "auditor",
    "passenger",
)
#: Every privilege level with a group role of its own.
ALL_LEVELS = LEVELS + STATION_LEVELS
#: Hub group name -> privilege level.
HUB_GROUPS = {
    "scientists": "scientist",
    "operators": "operator",
    "viewers": "viewer",
    "immigration-officers": "immigration_officer",
    "station-managers": "station_manager",
    "spaceline-dispatchers": "spaceline_dispatcher",
    "colony-officials": "colony_official",
    "auditors": "auditor",
    "passengers": "passenger",
}
#: Prefix of the role names (PostgreSQL roles are shared by every database of a server).
DEFAULT_PREFIX = "marsgis"

#: marsgis role (every role of :data:`marsgis.db.schema.TOKEN_ROLES`) -> the privilege
#: level whose group role its work runs as under :func:`as_role`. ``admin`` gets the
#: scientists' grants (as hub admins do, see ``hub/``); each station role has a group role
#: of its own (:data:`STATION_LEVELS`).
ROLE_LEVELS: Mapping[str, str | None] = {
    "admin": "scientist",
    "scientist": "scientist",
    "operator": "operator",
    "viewer": "viewer",
    "passenger": "passenger",
    "immigration_officer": "immigration_officer",
    "station_manager": "station_manager",
    "spaceline_dispatcher": "spaceline_dispatcher",
    "colony_official": "colony_official",
    "auditor": "auditor",
}

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")  # names stay within 63 bytes
_SIMPLE_NAME = re.compile(r"^[a-z0-9_]{1,30}$")
_SERVICE_NAME = re.compile(r"^[a-z0-9_]{1,40}$")  # dashboards_spaceline_dispatcher
# Operators may change exactly these columns of a mission (set_status writes them).
_STATUS_COLUMNS = ("status", "updated_at", "version")


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise ValidationError(
            f"role prefix {prefix!r} must be a lower-case identifier of at most 20 characters "
            "(letters, digits, underscores, starting with a letter), e.g. 'marsgis'"
        )
    return prefix


def _check_level(level: str) -> str:
    if level not in ALL_LEVELS:
        raise ValidationError(
            f"unknown privilege level {level!r}; use one of {', '.join(ALL_LEVELS)}"
        )
    return level


def group_role(level: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The PostgreSQL group role of a privilege level, e.g. ``marsgis_operator``."""
    return f"{_check_prefix(prefix)}_{_check_level(level)}"


def user_role(username: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The PostgreSQL login role of a hub user (or service), e.g. ``marsgis_u_ada``.

    Names that are not plain lower-case identifiers (``Ada.Lovelace@esa.int``) get a readable
    part and a hash, so that two hub names never share a role.
    """
    if not isinstance(username, str) or not username:
        raise ValidationError(f"username {username!r} must be a non-empty string")
    prefix = _check_prefix(prefix)
    if _SIMPLE_NAME.match(username):
        return f"{prefix}_u_{username}"
    slug = re.sub(r"[^a-z0-9_]+", "_", username.lower()).strip("_")[:20]
    digest = hashlib.sha256(username.encode()).hexdigest()[:8]
    return f"{prefix}_u_{slug}_{digest}"


def service_role(name: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The PostgreSQL login role of a hub service, e.g. ``marsgis_s_scheduler``.

    Services live in their own namespace (``_s_``), so no hub user, whatever name they sign up
    with, gets a service's role (users' roles are ``_u_``, :func:`user_role`).
    """
    if not isinstance(name, str) or not _SERVICE_NAME.match(name):
        raise ValidationError(
            f"service name {name!r} must be lower-case letters, digits and underscores "
            "(at most 40), e.g. 'dashboards_viewer'"
        )
    return f"{_check_prefix(prefix)}_s_{name}"


@contextmanager
def as_role(role: str, *, prefix: str = DEFAULT_PREFIX) -> Iterator[str | None]:
    """Run the database work of the block as the group role of the marsgis role ``role``.

    Every transaction begun inside the block on PostgreSQL starts with ``SET LOCAL ROLE`` to
    the group role of ``role``'s privilege level (:data:`ROLE_LEVELS`, e.g. ``"viewer"`` ->
    ``marsgis_viewer``), so the database grants of that level decide every statement, and a
    refused one raises :class:`~marsgis.exceptions.PermissionDeniedError` with nothing
    written. This is how the service API runs each request as its caller
    (``MARSGIS_API_DB_ROLES``). The role lasts as long as the block, in this context only
    (a context variable: one request, task or thread, not the whole process).

    The login role of the database URL must be a member of the group roles
    (:func:`grant_role` with the levels to act as); otherwise each transaction fails with a
    :class:`~marsgis.exceptions.DatabaseError` that says so. On SpatiaLite, which has no
    roles, the block runs unchanged (a no-op): the embedded store is single-user.

    Parameters
    ----------
    role
        A marsgis role: ``admin``, ``scientist``, ``operator``, ``viewer`` or a station role.
    prefix
        Prefix of the group roles (that of :func:`ensure_roles`).

    Yields
    ------
    str or None
        The PostgreSQL role the work runs as; None for a role with no group of its own (the
        login role's grants apply).

    Raises
    ------
    ValidationError
        ``role`` is not a marsgis role, or ``prefix`` is not a valid prefix.

    Examples
    --------
    >>> from marsgis import db
    >>> with db.as_role("viewer") as name:
    ...     name
    'marsgis_viewer'
    """
    prefix = _check_prefix(prefix)
    if not isinstance(role, str) or role not in ROLE_LEVELS:
        raise ValidationError(
            f"unknown marsgis role {role!r} for database work; use one of {', '.join(ROLE_LEVELS)}"
        )
    level = ROLE_LEVELS[role]
    name = None if level is None else group_role(level, prefix=prefix)
    with database_role(name):
        yield name


def derive_password(secret: str, name: str) -> str:
    """A role's password, derived from the hub's secret (HMAC-SHA256, hex).

    The hub and the services it starts share ``secret``; users never see it, only the
    password of their own role inside their ``MARSGIS_DATABASE_URL``.
    """
    if not secret:
        raise ValidationError("the password secret is empty; set MARSGIS_HUB_DB_SECRET")
    return hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()


def user_database_url(admin_url: str, role: str, password: str | None) -> str:
    """``admin_url`` (host, port, database, driver) with ``role`` and ``password`` as the login.

    The result keeps the password in clear text: it is what a server's
    ``MARSGIS_DATABASE_URL`` holds.
    """
    url = make_url(admin_url).set(username=role, password=password)
    return url.render_as_string(hide_password=False)


def _require_postgres(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise DatabaseError(
            f"database roles need PostgreSQL, not {conn.dialect.name!r}: SpatiaLite is the "
            "single-user store; point MARSGIS_DATABASE_URL (or the hub's "
            "MARSGIS_HUB_DATABASE_URL) at PostGIS for a shared deployment"
        )


def _quote(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote_identifier(name))


def _role_exists(conn: Connection, name: str) -> bool:
    found = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    return found.first() is not None


def _marsgis_tables(conn: Connection) -> list[str]:
    """The tables of the marsgis schema: base tables of the current schema, PostGIS's excluded."""
    rows = conn.execute(
        sa.text(
            """
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
              AND NOT EXISTS (
                SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            ORDER BY c.relname
            """
        )
    )
    return [str(r[0]) for r in rows]


def _sequences(conn: Connection, table: str) -> list[str]:
    """The sequences owned by ``table``'s columns (serial ids), schema-qualified and quoted."""
    rows = conn.execute(
        sa.text(
            """
            SELECT pg_get_serial_sequence(quote_ident(current_schema()) || '.' ||
                                          quote_ident(:t), a.attname)
            FROM pg_attribute a
            WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident(:t))::regclass
              AND a.attnum > 0 AND NOT a.attisdropped
            """
        ),
        {"t": table},
    )
    return [str(r[0]) for r in rows if r[0] is not None]


#: Station writers' privileges (besides reading): level -> table -> privileges. Tables missing
#: from the schema are skipped; each ``INSERT`` also gets the table's sequences.
_STATION_WRITES: Mapping[str, Mapping[str, str]] = {
    "immigration_officer": {
        "station_visa_applications": "UPDATE",
        "station_visas": "INSERT, UPDATE",
        "station_entry_events": "INSERT",
        "station_residents": "INSERT",
        "station_colonies": "UPDATE (population, version)",
    },
    "station_manager": {
        "stations": "INSERT",
        "station_bays": "INSERT",
        "station_vessels": "INSERT",
        "station_colonies": "UPDATE (capacity, version)",
        "station_bay_bookings": "INSERT",
    },
    "spaceline_dispatcher": {
        "station_passengers": "INSERT",  # the passengers of a manifest, with their documents
        "station_travel_documents": "INSERT",
        "station_vessels": "INSERT",
        "station_voyages": "INSERT",
        "station_manifests": "INSERT",
        "station_manifest_entries": "INSERT",
        "station_bay_bookings": "INSERT",
    },
    "colony_official": {"station_colonies": "UPDATE (capacity, version)"},
    # a passenger's own steps (submit, answer, withdraw) write no decided_by: the database
    # refuses them an approval or a rejection whatever the API does
    "passenger": {
        "station_visa_applications": "INSERT, UPDATE (status, version, updated_at, reason)"
    },
    "auditor": {},
}
#: What a passenger reads (their own application's context; the API filters the rows).
_PASSENGER_READS = (
    "station_colonies",
    "station_passengers",
    "station_travel_documents",
    "station_visa_applications",
    "station_visas",
)
#: Who reads the whole audit log (the others read the chain's ``id`` and ``hash`` only).
_AUDIT_READERS = ("immigration_officer", "auditor")


def _is_station_table(table: str) -> bool:
    return table == "stations" or table.startswith("station_")


def _station_grants(level: str, tables: list[str]) -> list[tuple[str, str]]:
    """``(privileges, table)`` of a station level, from :data:`_STATION_WRITES`."""
    out: list[tuple[str, str]] = []
    writes = _STATION_WRITES[level]
    if VERSION_TABLE in tables:  # every connection checks the schema's version
        out.append(("SELECT", VERSION_TABLE))
    for table in tables:
        if not _is_station_table(table):
            continue
        if table == "station_audit_log":
            read = "SELECT" if level in _AUDIT_READERS else "SELECT (id, hash)"
            out.append((read if level == "auditor" else f"{read}, INSERT", table))
        elif level != "passenger" or table in _PASSENGER_READS:
            out.append(("SELECT", table))
        if table in writes:
            out.append((writes[table], table))
    if "events" in tables:  # the event log: station changes append to it
        read = "SELECT (id)" if level == "passenger" else "SELECT"
        out.append((read if level == "auditor" else f"{read}, INSERT", "events"))
    if writes and "api_idempotency_keys" in tables:  # the API's replies to Idempotency-Keys
        out.append(("SELECT, INSERT", "api_idempotency_keys"))
    return out


def ensure_roles(db: str | Engine | None = None, *, prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Create the group roles and (re)apply their grants on every marsgis table.

    Idempotent: run it after every schema upgrade (the hub does at start-up), so that tables
    added by a later migration get their grants too. Needs a role that may create roles and
    owns the tables (the database owner, ``postgres`` on a single machine).

    Parameters
    ----------
    db
        The owner's database URL or engine (None: ``MARSGIS_DATABASE_URL``). The schema is
        migrated to head first.
    prefix
        Prefix of the role names.

    Returns
    -------
    dict
        Privilege level (every one of :data:`ALL_LEVELS`) -> group role name.

    Raises
    ------
    DatabaseError
        Not PostgreSQL, or the role may not create roles or grant on the tables.
    """
    names = {level: group_role(level, prefix=prefix) for level in ALL_LEVELS}
    with transaction(get_engine(db), write=True) as conn:
        _require_postgres(conn)
        # CREATE ROLE races with a concurrent hub start: serialise on an advisory lock.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(949900002)"))
        q = {level: _quote(conn, name) for level, name in names.items()}
        for name in names.values():
            if not _role_exists(conn, name):
                conn.execute(sa.text(f"CREATE ROLE {_quote(conn, name)} NOLOGIN"))
        schema = conn.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
        everyone = ", ".join(q.values())
        missions = ", ".join(q[level] for level in LEVELS)
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {everyone}"))
        tables = _marsgis_tables(conn)
        for table in tables:
            t = f"{schema}.{_quote(conn, table)}"
            conn.execute(sa.text(f"REVOKE ALL ON {t} FROM {everyone}"))
            conn.execute(sa.text(f"GRANT SELECT ON {t} TO {missions}"))
            # the event log is append-only for everyone (db.events); other tables are editable
            edit = "SELECT, INSERT" if table == "events" else "SELECT, INSERT, UPDATE, DELETE"
            conn.execute(sa.text(f"GRANT {edit} ON {t} TO {q['scientist']}"))
            for seq in _sequences(conn, table):
                conn.execute(sa.text(f"REVOKE ALL ON SEQUENCE {seq} FROM {everyone}"))
                conn.execute(sa.text(f"GRANT USAGE, SELECT ON SEQUENCE {seq} TO {q['scientist']}"))
        if "missions" in tables and "mission_status_history" in tables:
            columns = ", ".join(_STATUS_COLUMNS)
            conn.execute(
                sa.text(f"GRANT UPDATE ({columns}) ON {schema}.missions TO {q['operator']}")
            )
            conn.execute(
                sa.text(f"GRANT INSERT ON {schema}.mission_status_history TO {q['operator']}")
            )
            for seq in _sequences(conn, "mission_status_history"):
                conn.execute(sa.text(f"GRANT USAGE ON SEQUENCE {seq} TO {q['operator']}"))
        if "report_runs" in tables:  # operators run reports now (reports dashboard)
            conn.execute(
                sa.text(f"GRANT INSERT, UPDATE ON {schema}.report_runs TO {q['operator']}")
            )
            for seq in _sequences(conn, "report_runs"):
                conn.execute(sa.text(f"GRANT USAGE ON SEQUENCE {seq} TO {q['operator']}"))
        if "report_schedules" in tables:  # operators manage schedules (reports:run)
            conn.execute(
                sa.text(
                    f"GRANT INSERT, UPDATE, DELETE ON {schema}.report_schedules TO {q['operator']}"
                )
            )
            for seq in _sequences(conn, "report_schedules"):
                conn.execute(sa.text(f"GRANT USAGE ON SEQUENCE {seq} TO {q['operator']}"))
        if "events" in tables:  # a status change records its event
            conn.execute(sa.text(f"GRANT INSERT ON {schema}.events TO {q['operator']}"))
            for seq in _sequences(conn, "events"):
                conn.execute(sa.text(f"GRANT USAGE ON SEQUENCE {seq} TO {q['operator']}"))
        for level in STATION_LEVELS:
            for privileges, table in _station_grants(level, tables):
                t = f"{schema}.{_quote(conn, table)}"
                conn.execute(sa.text(f"GRANT {privileges} ON {t} TO {q[level]}"))
                if "INSERT" in privileges:
                    for seq in _sequences(conn, table):
                        conn.execute(sa.text(f"GRANT USAGE ON SEQUENCE {seq} TO {q[level]}"))
    return names


def grant_user(
    db: str | Engine | None,
    username: str,
    levels: str | Iterable[str],
    *,
    password: str | None,
    prefix: str = DEFAULT_PREFIX,
) -> str:
    """Create or update the login role of hub user ``username`` with exactly ``levels``.

    The role (:func:`user_role`) becomes a member of the group roles of ``levels`` and of no
    other marsgis group: a user moved from operators to viewers loses the operator grants at
    once. Call :func:`ensure_roles` first.

    Parameters
    ----------
    db
        The owner's database URL or engine.
    username
        Hub user name.
    levels
        ``"scientist"``, ``"operator"``, ``"viewer"``, a station level
        (:data:`STATION_LEVELS`, e.g. ``"immigration_officer"``), or several; none leaves a
        role that can log in but read nothing.
    password
        The role's password (see :func:`derive_password`); None keeps the current one.
    prefix
        Prefix of the role names.

    Returns
    -------
    str
        The login role's name.
    """
    return grant_role(
        db, user_role(username, prefix=prefix), levels, password=password, prefix=prefix
    )


def grant_role(
    db: str | Engine | None,
    role: str,
    levels: str | Iterable[str],
    *,
    password: str | None,
    prefix: str = DEFAULT_PREFIX,
) -> str:
    """Create or update the login role ``role`` (a :func:`user_role` or :func:`service_role`).

    As :func:`grant_user`, for a role name given directly.
    """
    wanted = {_check_level(level) for level in ([levels] if isinstance(levels, str) else levels)}
    if not role.startswith((f"{_check_prefix(prefix)}_u_", f"{prefix}_s_")):
        raise ValidationError(
            f"role {role!r} is not a marsgis login role of prefix {prefix!r}; make the name "
            "with marsgis.db.roles.user_role() or service_role()"
        )
    with transaction(get_engine(db, migrate=False), write=True) as conn:
        _require_postgres(conn)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(949900002)"))
        r = _quote(conn, role)
        verb = "ALTER" if _role_exists(conn, role) else "CREATE"
        if password is None:
            conn.execute(sa.text(f"{verb} ROLE {r} WITH LOGIN INHERIT"))
        else:
            conn.execute(
                sa.text(f"{verb} ROLE {r} WITH LOGIN INHERIT PASSWORD :pw"), {"pw": password}
            )
        for level in ALL_LEVELS:
            group = group_role(level, prefix=prefix)
            if not _role_exists(conn, group):
                raise DatabaseError(
                    f"the group role {group!r} does not exist; run "
                    "marsgis.db.roles.ensure_roles(<owner's URL>) first"
                )
            g = _quote(conn, group)
            if level in wanted:
                conn.execute(sa.text(f"GRANT {g} TO {r}"))
            else:
                conn.execute(sa.text(f"REVOKE {g} FROM {r}"))
    return role


def drop_roles(db: str | Engine | None = None, *, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Drop the group roles and every login role of ``prefix`` (tests, uninstall).

    Their privileges in *this* database are dropped first; a role that still holds privileges
    in another database of the server stays, and PostgreSQL says so.

    Returns
    -------
    list of str
        The roles dropped.
    """
    prefix = _check_prefix(prefix)
    with transaction(get_engine(db, migrate=False), write=True) as conn:
        _require_postgres(conn)
        pattern = prefix.replace("_", r"\_") + r"\_%"
        rows = conn.execute(
            sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p ORDER BY rolcanlogin DESC"),
            {"p": pattern},
        )
        names = [str(r[0]) for r in rows]
        for name in names:
            conn.execute(sa.text(f"DROP OWNED BY {_quote(conn, name)}"))
        for name in names:
            conn.execute(sa.text(f"DROP ROLE {_quote(conn, name)}"))
    return names


@dataclass(frozen=True)
class Access:
    """What the connected role may do (for showing or hiding controls; enforces nothing).

    Attributes
    ----------
    level
        ``"owner"`` (SpatiaLite, or a role that owns the tables), ``"scientist"``,
        ``"operator"``, ``"viewer"``, a station level (:data:`STATION_LEVELS`, when the role
        may not read missions) or ``"none"``.
    role
        The database role (``None`` on SpatiaLite).
    read, change_status, edit_missions
        Whether missions can be read, have their status changed, be created and edited.
    run_reports
        Whether a report run can be recorded (run a report now).
    station_level
        The station level whose group role the role is or belongs to (the first of
        :data:`STATION_LEVELS`), None if none (the owner and the mission levels).
    read_station
        Whether the station's records (colonies, applications, visas) can be read.
    decide
        Whether visa applications can be decided and visas issued (immigration officers).
    book_bays
        Whether docking bays can be booked (dispatchers, station managers).
    manage_station
        Whether stations and bays can be added (station managers).
    set_capacity
        Whether a colony's capacity can be changed (colony officials, station managers).
    apply
        Whether a visa application can be created (passengers).
    read_audit
        Whether the station audit log can be read in full (officers, auditors).
    """

    level: str
    role: str | None
    read: bool
    change_status: bool
    edit_missions: bool
    run_reports: bool = True
    station_level: str | None = None
    read_station: bool = False
    decide: bool = False
    book_bays: bool = False
    manage_station: bool = False
    set_capacity: bool = False
    apply: bool = False
    read_audit: bool = False


def _can(table: str, privilege: str) -> str:
    """SQL: whether the current user holds ``privilege`` on ``table`` (false if no table)."""
    return f"coalesce(has_table_privilege(to_regclass('{table}'), '{privilege}'), false)"


def _can_column(table: str, column: str, privilege: str) -> str:
    return (
        f"coalesce(has_column_privilege(to_regclass('{table}'), '{column}', '{privilege}'), false)"
    )


def current_access(db: str | Engine | None = None) -> Access:
    """What the role of ``db`` (default ``MARSGIS_DATABASE_URL``) may do, missions and station.

    The answer comes from PostgreSQL's own privilege functions, so it matches what the
    database will allow; the database still decides each write. The station level is the
    station group role (``<prefix>_immigration_officer``, ...) the role is or belongs to.
    """
    with transaction(db) as conn:
        if conn.dialect.name != "postgresql":
            return Access(
                "owner",
                None,
                read=True,
                change_status=True,
                edit_missions=True,
                run_reports=True,
                read_station=True,
                decide=True,
                book_bays=True,
                manage_station=True,
                set_capacity=True,
                apply=True,
                read_audit=True,
            )
        row = conn.execute(
            sa.text(
                f"""
                SELECT current_user,
                       pg_has_role(current_user, c.relowner, 'USAGE'),
                       has_table_privilege('missions', 'SELECT'),
                       has_column_privilege('missions', 'status', 'UPDATE')
                         AND has_table_privilege('mission_status_history', 'INSERT'),
                       has_table_privilege('missions', 'INSERT')
                         AND has_column_privilege('missions', 'name', 'UPDATE'),
                       has_table_privilege('report_runs', 'INSERT')
                         AND has_table_privilege('report_runs', 'UPDATE'),
                       {_can("station_visa_applications", "SELECT")},
                       {_can("station_visas", "INSERT")}
                         AND {_can("station_visa_applications", "UPDATE")},
                       {_can("station_bay_bookings", "INSERT")},
                       {_can("station_bays", "INSERT")},
                       {_can_column("station_colonies", "capacity", "UPDATE")},
                       {_can("station_visa_applications", "INSERT")},
                       {_can("station_audit_log", "SELECT")}
                FROM pg_class c WHERE c.oid = 'missions'::regclass
                """
            )
        ).one()
        groups = conn.execute(
            sa.text(
                "SELECT rolname FROM pg_roles "
                "WHERE NOT rolcanlogin AND pg_has_role(current_user, oid, 'USAGE')"
            )
        )
        member_of = [str(r[0]) for r in groups]
    role, owner, read, status, edit, run = str(row[0]), *(bool(v) for v in row[1:6])
    station = [bool(v) for v in row[6:]]
    # (a superuser owner "belongs" to every role: no station level of its own)
    station_level = None
    if not owner:
        station_level = next(
            (lvl for lvl in STATION_LEVELS if any(n.endswith(f"_{lvl}") for n in member_of)),
            None,
        )
    if owner:
        level = "owner"
    elif edit:
        level = "scientist"
    elif status:
        level = "operator"
    elif read:
        level = "viewer"
    elif station_level is not None:
        level = station_level
    else:
        level = "none"
    return Access(
        level,
        role,
        read=read,
        change_status=status,
        edit_missions=edit,
        run_reports=run,
        station_level=station_level,
        read_station=station[0],
        decide=station[1],
        book_bays=station[2],
        manage_station=station[3],
        set_capacity=station[4],
        apply=station[5],
        read_audit=station[6],
    )
