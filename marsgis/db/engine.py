"""Engines, schema migrations and database errors for PostGIS and SpatiaLite.

The database is chosen by ``MARSGIS_DATABASE_URL`` (read through
:func:`marsgis.config.settings`):

* unset: the embedded SpatiaLite file ``<data dir>/marsgis.sqlite`` (the file and its directory
  are created on first use, ``mod_spatialite`` is loaded on every connection);
* ``sqlite:////path/to/store.sqlite``: another SpatiaLite file. It must exist: a missing file is
  a :class:`~marsgis.exceptions.DatabaseError` (a typo never starts a new, empty store), and
  :func:`upgrade` (``marsgis db upgrade --url ...``) is what creates a new one;
* ``postgresql+psycopg2://USER:PASSWORD@HOST:5432/DBNAME``: a shared PostGIS database (the
  PostGIS extension is created by the first migration when the server has it);
* ``cockroachdb://USER@HOST:26257/DBNAME`` (or ``cockroachdb+psycopg2://``): CockroachDB through
  the ``sqlalchemy-cockroachdb`` dialect, always ``SERIALIZABLE``, with the schema fallbacks of
  :func:`database_flavour` (``docs/station.md``, "CockroachDB").

Two query options of a PostgreSQL URL are read by marsgis (and removed before the driver sees
the URL): ``marsgis_isolation=serializable`` runs every transaction at ``SERIALIZABLE``, and
``marsgis_compat=cockroachdb`` builds and uses the CockroachDB flavour of the schema on a
PostgreSQL server (also ``SERIALIZABLE``): the same code paths as on CockroachDB, on a server
that can be run here. Transactions that may conflict run through :func:`run_transaction`,
which repeats them after a serialisation failure (SQLSTATE 40001) or a deadlock (40P01).

Every function takes ``db``: a URL string, an :class:`~sqlalchemy.engine.Engine`, or ``None``
for the configured default. :func:`get_engine` brings the schema to the newest Alembic revision
on first use (once per engine and process); :func:`upgrade` and :func:`downgrade` move it
explicitly. Unreachable databases raise :class:`~marsgis.exceptions.DatabaseError` showing the
URL with its password hidden.
"""

from __future__ import annotations

import importlib
import logging
import random
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeAlias, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, StatementError

from marsgis.config import settings
from marsgis.exceptions import (
    ConcurrencyError,
    DatabaseError,
    DependencyNotFoundError,
    MarsGISError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = [
    "VERSION_TABLE",
    "Connection",
    "DatabaseLike",
    "Engine",
    "alembic_config",
    "before_commit",
    "current_revision",
    "database_flavour",
    "database_role",
    "dispose_engines",
    "downgrade",
    "get_engine",
    "head_revision",
    "inserted_id",
    "redact_url",
    "run_transaction",
    "transaction",
    "transaction_state",
    "upgrade",
    "upgrade_sql",
]

_log = logging.getLogger("marsgis.db")
_T = TypeVar("_T")

#: Alembic's version table for the marsgis schema (own name, so a shared PostGIS database can
#: hold other Alembic-managed schemas too).
VERSION_TABLE = "marsgis_alembic_version"
_MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serialises concurrent upgrades.
_UPGRADE_LOCK_KEY = 949_900_001
# SQLSTATE of PostgreSQL's "permission denied" (insufficient_privilege), see marsgis.db.roles.
_INSUFFICIENT_PRIVILEGE = "42501"
_FOREIGN_KEY_VIOLATION = "23503"
#: SQLSTATEs after which the whole transaction may be run again (nothing of it was written).
RETRYABLE_SQLSTATES = {"40001": "serialization failure", "40P01": "deadlock detected"}
#: How many times :func:`run_transaction` runs a callback at most, by default.
RETRY_ATTEMPTS = 30
# Backoff before retry n (1, 2, ...): uniform in [0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**n)] s.
_BACKOFF_BASE = 0.004
_BACKOFF_CAP = 0.5
#: ``Flavour`` of the schema and code paths on a database (see :func:`database_flavour`).
Flavour: TypeAlias = Literal["sqlite", "postgresql", "cockroachdb"]
# Engine execution option holding the flavour (connections inherit it).
_FLAVOUR_OPTION = "marsgis_flavour"
# URL query options read by marsgis (removed from the URL given to the driver).
_ISOLATION_QUERY = "marsgis_isolation"
_COMPAT_QUERY = "marsgis_compat"
_ISOLATIONS = {"serializable": "SERIALIZABLE", "read_committed": "READ COMMITTED"}
# psycopg2's refusal of a text value holding a NUL character (PostgreSQL text cannot hold one)
_NUL_REFUSED = "cannot contain NUL (0x00) characters"


def _nul_refused() -> ValidationError:
    return ValidationError(
        "a text value contains a NUL (0x00) character, which the database cannot store; "
        "remove it and send the text again"
    )


#: What every store function takes as ``db``: a URL, an engine, an open connection (the call
#: joins that connection's transaction), or None for the configured default.
DatabaseLike: TypeAlias = "str | Engine | Connection | None"

# Key in Connection.info of the outermost marsgis transaction's scratch state (see _begin).
_TX_STATE = "marsgis_transaction_state"

# The PostgreSQL role every transaction begun in this context runs as (see database_role).
_DATABASE_ROLE: ContextVar[str | None] = ContextVar("marsgis_database_role", default=None)

_ENGINES: dict[str, Engine] = {}
_AT_HEAD: weakref.WeakSet[Engine] = weakref.WeakSet()
_LOCK = threading.RLock()

_FIX_URL = (
    "check that the server is running and reachable and that MARSGIS_DATABASE_URL is right "
    "(postgresql+psycopg2://USER:PASSWORD@HOST:5432/DBNAME for PostGIS), or unset "
    "MARSGIS_DATABASE_URL to use the embedded SpatiaLite file in the marsgis data directory"
)


def describe_store(db: DatabaseLike = None) -> str:
    """The store in people's words, without roles or passwords: where the records live.

    ``"PostGIS database 'marsgis' on 127.0.0.1:5432"``, ``"SpatiaLite file /data/marsgis.sqlite"``
    (what a dashboard's header shows; :func:`redact_url` is the full URL, for logs).
    """
    url = _engine(db).url
    if url.get_backend_name() == "sqlite":
        return f"SpatiaLite file {url.database or ':memory:'}"
    kind = "CockroachDB" if url.get_backend_name() == "cockroachdb" else "PostGIS"
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return f"{kind} database {url.database!r} on {where}"


def redact_url(url: str | URL) -> str:
    """Return ``url`` as text with its password replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", str(url))


def _reason(url: URL, exc: BaseException) -> str:
    """The driver's message of ``exc`` on one line, without the URL's password."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(line.strip() for line in str(orig).splitlines() if line.strip())
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def _unreachable(url: URL, exc: BaseException) -> DatabaseError:
    return DatabaseError(
        f"cannot connect to the database {redact_url(url)!r}: {_reason(url, exc)}; {_FIX_URL}"
    )


def _sqlite_dbapi() -> ModuleType | None:
    """The DBAPI module for SQLite: ``sqlite3`` when it can load extensions, else pysqlite3."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return None  # the standard library's sqlite3 (SQLAlchemy's default)
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError as exc:
        raise DependencyNotFoundError(
            "this Python's sqlite3 module cannot load extensions, and SpatiaLite is one; "
            "install pysqlite3 (pip install pysqlite3) or use a Python built with "
            "--enable-loadable-sqlite-extensions"
        ) from exc


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite ``url`` (None for in-memory and ``file:`` URI databases)."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def _default_store() -> Path:
    """The default SpatiaLite file, ``<data dir>/marsgis.sqlite``."""
    return settings().data_dir / "marsgis.sqlite"


def _check_sqlite_file(url: URL, *, create: bool) -> None:
    """Refuse an explicit SpatiaLite file that does not exist, unless it is to be created.

    The default store (``<data dir>/marsgis.sqlite``) and ``create=True`` (:func:`upgrade`,
    ``marsgis db upgrade``) create the file and its folder; any other missing file is a
    :class:`~marsgis.exceptions.DatabaseError`, so that a typo in a URL never starts a new,
    empty store in place of the user's.
    """
    path = _sqlite_path(url)
    if path is None or path.exists():
        return
    if not create and path.absolute() != _default_store().absolute():
        missing = "file" if path.absolute().parent.is_dir() else "folder"
        raise DatabaseError(
            f"the SpatiaLite database {redact_url(url)!r} does not exist (no {missing} "
            f"{str(path.parent if missing == 'folder' else path)!r}); check the path in the "
            f"URL (MARSGIS_DATABASE_URL), create a new store there with `marsgis db upgrade "
            f"--url {redact_url(url)}` (Python: marsgis.db.upgrade(url)), or unset "
            "MARSGIS_DATABASE_URL to use the default store in the marsgis data directory"
        )
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(
            f"cannot create the directory {str(parent)!r} for the SpatiaLite database "
            f"{redact_url(url)!r}: {exc}; set MARSGIS_DATA_DIR to a writable directory or "
            "MARSGIS_DATABASE_URL to another database"
        ) from exc


def _make_sqlite_engine(url: URL) -> Engine:
    # mod_spatialite links the system PROJ; rasterio bundles its own. Loading SpatiaLite first and
    # rasterio later in one process crashes (both PROJ copies register the same symbols), so
    # rasterio is imported before any SpatiaLite connection is made.
    import rasterio  # noqa: F401

    module = _sqlite_dbapi()
    kwargs: dict[str, Any] = {} if module is None else {"module": module}
    engine = sa.create_engine(url, **kwargs)
    extension = settings().spatialite
    operational_error: type[Exception] = engine.dialect.loaded_dbapi.OperationalError

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, opens transactions (see on_begin): real atomic DDL + DML.
        dbapi_conn.isolation_level = None
        try:
            dbapi_conn.enable_load_extension(True)
            dbapi_conn.load_extension(extension)
        except (AttributeError, operational_error) as exc:
            raise DependencyNotFoundError(
                f"SpatiaLite ({extension}) could not be loaded into SQLite: {exc}; install "
                "it (Debian/Ubuntu: apt-get install libsqlite3-mod-spatialite; conda: conda "
                "install -c conda-forge libspatialite; macOS: brew install libspatialite) or "
                "point MARSGIS_SPATIALITE at the mod_spatialite library"
            ) from exc
        finally:
            with suppress(AttributeError, operational_error):
                dbapi_conn.enable_load_extension(False)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    def on_begin(conn: Connection) -> None:
        # Writers take the write lock at BEGIN, so read-check-write sequences cannot interleave.
        immediate = bool(conn.get_execution_options().get("marsgis_write"))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def _parse_url(url_text: str) -> URL:
    try:
        return make_url(url_text)
    except (ArgumentError, ValueError) as exc:
        raise ValidationError(
            f"the database URL {redact_url(url_text)!r} is not a SQLAlchemy URL; use "
            "postgresql+psycopg2://USER:PASSWORD@HOST:5432/DBNAME, "
            "cockroachdb://USER@HOST:26257/DBNAME or sqlite:////path/file.sqlite"
        ) from exc


def _marsgis_query(url: URL) -> tuple[URL, dict[str, str]]:
    """``url`` without the ``marsgis_*`` query options, and those options (validated)."""
    ours = {k: str(v) for k, v in url.query.items() if k.startswith("marsgis_")}
    unknown = sorted(set(ours) - {_ISOLATION_QUERY, _COMPAT_QUERY})
    if unknown:
        raise ValidationError(
            f"unknown option(s) {', '.join(unknown)} in the database URL {redact_url(url)!r}; "
            f"marsgis reads {_ISOLATION_QUERY}=serializable|read_committed and "
            f"{_COMPAT_QUERY}=cockroachdb (PostgreSQL URLs only)"
        )
    isolation = ours.get(_ISOLATION_QUERY)
    if isolation is not None and isolation.lower() not in _ISOLATIONS:
        raise ValidationError(
            f"{_ISOLATION_QUERY}={isolation!r} in the database URL {redact_url(url)!r} is not "
            f"one of {', '.join(_ISOLATIONS)}; use {_ISOLATION_QUERY}=serializable"
        )
    compat = ours.get(_COMPAT_QUERY)
    if compat is not None and compat.lower() != "cockroachdb":
        raise ValidationError(
            f"{_COMPAT_QUERY}={compat!r} in the database URL {redact_url(url)!r} is not "
            f"'cockroachdb', the one other flavour marsgis knows; remove it or use "
            f"{_COMPAT_QUERY}=cockroachdb"
        )
    if ours and url.get_backend_name() != "postgresql":
        raise ValidationError(
            f"the options {', '.join(sorted(ours))} of the database URL {redact_url(url)!r} "
            "apply to PostgreSQL URLs only (SQLite serialises writers itself; CockroachDB is "
            "always SERIALIZABLE); remove them"
        )
    return url.difference_update_query(list(ours)), {k: v.lower() for k, v in ours.items()}


def _make_server_engine(url: URL, options: dict[str, str]) -> Engine:
    """A PostgreSQL or CockroachDB engine; its flavour is an execution option."""
    cockroach = url.get_backend_name() == "cockroachdb"
    flavour: Flavour = (
        "cockroachdb" if cockroach or options.get(_COMPAT_QUERY) == "cockroachdb" else "postgresql"
    )
    isolation = _ISOLATIONS.get(options.get(_ISOLATION_QUERY, ""))
    if flavour == "cockroachdb":
        isolation = "SERIALIZABLE"  # the fallbacks rely on it (docs/station.md)
    kwargs: dict[str, Any] = {"execution_options": {_FLAVOUR_OPTION: flavour}}
    if isolation is not None:
        kwargs["isolation_level"] = isolation
    connect_args: dict[str, Any] = {}
    if url.get_driver_name() == "psycopg2" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    try:
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    except ImportError as exc:
        package = "sqlalchemy-cockroachdb psycopg2-binary" if cockroach else "psycopg2-binary"
        raise DependencyNotFoundError(
            f"the driver for {redact_url(url)!r} is not installed: {exc}; pip install {package}"
        ) from exc
    except sa.exc.NoSuchModuleError as exc:
        raise DependencyNotFoundError(
            f"the SQLAlchemy dialect of {redact_url(url)!r} is not installed: {exc}; "
            "pip install sqlalchemy-cockroachdb"
        ) from exc


def _make_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    url, options = _marsgis_query(url)
    if backend == "sqlite":
        return _make_sqlite_engine(url)
    if backend in ("postgresql", "cockroachdb"):
        return _make_server_engine(url, options)
    raise ValidationError(
        f"the database URL {redact_url(url)!r} is neither PostGIS (postgresql+psycopg2://...), "
        "CockroachDB (cockroachdb://...) nor SpatiaLite (sqlite:///...); set "
        "MARSGIS_DATABASE_URL to one of those"
    )


def database_flavour(db: Engine | Connection | Any) -> Flavour:
    """Which schema and code paths a database uses: ``sqlite``, ``postgresql`` or ``cockroachdb``.

    ``cockroachdb`` for a ``cockroachdb://`` URL, and for a PostgreSQL URL with
    ``?marsgis_compat=cockroachdb`` (the CockroachDB flavour run on a PostgreSQL server, so it
    can be tested for real). That flavour has no custom SRID (geometries in SRID 0 with a
    ``<column>_crs`` column naming the Mars CRS), no exclusion constraint (bay bookings are a
    check inside a ``SERIALIZABLE`` transaction), no advisory locks and no ``NOTIFY``.

    ``db`` is an engine, a connection, or anything with a ``dialect`` (Alembic's offline
    connection).
    """
    getter = getattr(db, "get_execution_options", None)
    if getter is not None:
        flavour = getter().get(_FLAVOUR_OPTION)
        if flavour in ("postgresql", "cockroachdb"):
            return flavour  # type: ignore[no-any-return]
    name = str(db.dialect.name)
    if name == "cockroachdb":
        return "cockroachdb"
    return "sqlite" if name == "sqlite" else "postgresql"


def _engine(db: DatabaseLike, *, create: bool = False) -> Engine:
    """The engine for ``db`` without touching the schema (cached per URL).

    A SpatiaLite file that does not exist is refused unless ``create`` is true or it is the
    default store (see :func:`_check_sqlite_file`).
    """
    if isinstance(db, Engine):
        return db
    if isinstance(db, Connection):
        return db.engine
    if db is not None and not isinstance(db, str):
        raise ValidationError(
            f"db must be a database URL, a SQLAlchemy Engine or None (the configured default), "
            f"not {type(db).__name__!r}"
        )
    url_text = db if db is not None else settings().database_url
    url = _parse_url(url_text)
    with _LOCK:
        _check_sqlite_file(url, create=create)
        engine = _ENGINES.get(url_text)
        if engine is None:
            engine = _ENGINES[url_text] = _make_engine(url)
        return engine


def _sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of a DBAPI error (psycopg2 ``pgcode``, psycopg ``sqlstate``), or None."""
    code = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None)
    return None if code is None else str(code)


def _conflict(url: URL, code: str, exc: BaseException) -> ConcurrencyError:
    return ConcurrencyError(
        f"the database {redact_url(url)!r} aborted the transaction because it conflicted "
        f"with a concurrent one (SQLSTATE {code}, {RETRYABLE_SQLSTATES[code]}: "
        f"{_reason(url, exc)}); nothing was written. Run the same change again "
        "(marsgis.db.run_transaction does so with backoff)"
    )


@contextmanager
def database_role(name: str | None) -> Iterator[None]:
    """Run every transaction begun inside the block as the PostgreSQL role ``name``.

    Each transaction that :func:`transaction` begins on PostgreSQL while the block is active
    starts with ``SET LOCAL ROLE name`` (the name quoted as an identifier), so the database
    checks its statements against that role's grants and the role ends with the transaction:
    a pooled connection never keeps it. ``None`` runs as the login role of the URL again. On
    SpatiaLite, which has no roles, nothing changes. The setting is a context variable: it
    follows the code of one request (or task, or thread started with its context copied) and
    no other.

    Use :func:`marsgis.db.as_role`, which takes a marsgis role and checks it against the
    table of known roles; this is the mechanism underneath.
    """
    token = _DATABASE_ROLE.set(name)
    try:
        yield
    finally:
        _DATABASE_ROLE.reset(token)


def _set_role(conn: Connection) -> str | None:
    """``SET LOCAL ROLE`` to the role of :func:`database_role` on PostgreSQL; the role set."""
    name = _DATABASE_ROLE.get()
    if name is None or conn.dialect.name != "postgresql":
        return None
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    try:
        conn.exec_driver_sql(f"SET LOCAL ROLE {quoted}")
    except StatementError as exc:
        # a deployment error, not the caller's: the login is not a member of the role (42501)
        # or the role does not exist (22023)
        raise DatabaseError(
            f"the login role {conn.engine.url.username!r} of {redact_url(conn.engine.url)!r} "
            f"cannot act as the database role {name!r}: {_reason(conn.engine.url, exc)}; "
            "create the roles and make the login a member of them with the owner's URL: "
            "marsgis.db.roles.ensure_roles(owner_url) and "
            "marsgis.db.roles.grant_role(owner_url, login, roles.ALL_LEVELS, password=...)"
        ) from exc
    return name


@contextmanager
def _begin(engine: Engine, *, write: bool, autocommit: bool = False) -> Iterator[Connection]:
    """A connection inside a transaction; database errors become marsgis errors.

    ``autocommit``: every statement commits on its own (schema changes on CockroachDB).
    """
    try:
        conn = engine.connect()
    except StatementError as exc:
        raise _unreachable(engine.url, exc) from exc
    role = engine.url.username
    try:
        with conn:
            if autocommit:
                conn.execution_options(isolation_level="AUTOCOMMIT")
            if write:
                conn.execution_options(marsgis_write=True)
            with conn.begin():
                role = _set_role(conn) or role
                state: dict[str, Any] = {"before_commit": []}
                # kept: after the server went away mid-statement, conn.info itself raises
                # (PendingRollbackError), which would hide the error that says so
                info = conn.info
                info[_TX_STATE] = state
                try:
                    yield conn
                    # last statements of the transaction (the event log's appends), in order
                    for hook in state["before_commit"]:
                        hook(conn)
                finally:
                    info.pop(_TX_STATE, None)
    except ValueError as exc:
        if _NUL_REFUSED in str(exc):
            raise _nul_refused() from exc
        raise
    except StatementError as exc:
        if isinstance(exc.orig, MarsGISError):
            raise exc.orig from exc
        if _NUL_REFUSED in str(exc.orig):
            raise _nul_refused() from exc
        code = _sqlstate(exc.orig)
        if code in RETRYABLE_SQLSTATES:
            raise _conflict(engine.url, code, exc) from exc
        if code == _INSUFFICIENT_PRIVILEGE:
            raise PermissionDeniedError(
                f"the database {redact_url(engine.url)!r} refused the operation for role "
                f"{role!r}: {_reason(engine.url, exc)}; nothing was written. "
                "Your hub group does not allow this change (viewers read, operators change "
                "mission status, scientists create and edit missions; on the station officers "
                "decide, dispatchers book bays, auditors read): ask a hub admin to add "
                "you to the group that may, then restart your server (schema upgrades need "
                "the database owner: `marsgis db upgrade` with the owner's URL)"
            ) from exc
        if code == _FOREIGN_KEY_VIOLATION or ("FOREIGN KEY constraint failed" in str(exc.orig)):
            raise NotFoundError(
                "a record this change refers to does not exist (a wrong or deleted id); "
                "nothing was written. List the records first and use one of their ids"
            ) from exc
        raise DatabaseError(
            f"the database {redact_url(engine.url)!r} refused the operation: "
            f"{_reason(engine.url, exc)}; nothing was written"
        ) from exc


def transaction_state(conn: Connection) -> dict[str, Any] | None:
    """Scratch space of the outermost marsgis transaction open on ``conn`` (None if none).

    A dict that lives exactly as long as the transaction of :func:`transaction` (the outermost
    one, not a joined one); None when ``conn``'s transaction was begun by the caller with plain
    SQLAlchemy. For store modules that collect rows to write at commit (:mod:`marsgis.db.events`).
    """
    state: dict[str, Any] | None = conn.info.get(_TX_STATE)
    return state


def before_commit(conn: Connection, hook: Callable[[Connection], None]) -> bool:
    """Run ``hook(conn)`` as the last statements of the marsgis transaction open on ``conn``.

    Hooks run in the order registered, inside the transaction, after the caller's block ended
    without error and before ``COMMIT``; an error in a hook rolls everything back. Returns False
    (and registers nothing) when ``conn``'s transaction was not opened by :func:`transaction`.
    """
    state = transaction_state(conn)
    if state is None:
        return False
    state["before_commit"].append(hook)
    return True


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the row an ``INSERT`` just wrote (one integer column)."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - both backends return the key
        raise DatabaseError("the database did not return the new row's id")
    return int(key[0])


@contextmanager
def transaction(db: DatabaseLike = None, *, write: bool = False) -> Iterator[Connection]:
    """Open a connection to the migrated database inside one transaction.

    Everything executed on the connection commits together when the block ends, or is rolled
    back if it raises. Database errors are raised as :class:`~marsgis.exceptions.DatabaseError`.

    Transactions compose: given an open :class:`~sqlalchemy.engine.Connection` (one yielded by
    an outer ``transaction()``), the block runs inside that connection's transaction and
    commits or rolls back with it, so several store calls can be grouped into one all-or-nothing
    change.

    Parameters
    ----------
    db
        Database URL, engine, an open connection to join, or None for
        ``marsgis.config.settings().database_url``.
    write
        True for transactions that write: on SQLite they take the write lock at ``BEGIN``
        (``BEGIN IMMEDIATE``) so that read-check-write sequences are serialised. An outer
        transaction that will write must itself be opened with ``write=True``.

    Examples
    --------
    >>> with transaction(write=True) as conn:  # doctest: +SKIP
    ...     a = add_mission("A", lat=0, lon=0, db=conn)
    ...     b = add_mission("B", lat=1, lon=1, db=conn)  # both stored, or neither
    """
    if isinstance(db, Connection):
        if not db.in_transaction():
            raise ValidationError(
                "db is a connection with no open transaction; pass the connection yielded by "
                "`with marsgis.db.transaction(write=True) as conn:` (or a URL/engine)"
            )
        if write and not _is_write(db) and db.dialect.name == "sqlite":
            raise ValidationError(
                "a write joined a read transaction on SQLite, which could deadlock with another "
                "writer; open the outer block with `transaction(write=True)`"
            )
        yield db
        return
    with _begin(get_engine(db), write=write) as conn:
        yield conn


def _retryable(exc: ConcurrencyError) -> str | None:
    """The SQLSTATE of a transaction conflict raised by :func:`_begin` (None: another error)."""
    cause = exc.__cause__
    if isinstance(cause, StatementError):
        code = _sqlstate(cause.orig)
        if code in RETRYABLE_SQLSTATES:
            return code
    return None


def run_transaction(
    db: DatabaseLike,
    callback: Callable[[Connection], _T],
    *,
    write: bool = True,
    attempts: int | None = None,
) -> _T:
    """Run ``callback(conn)`` in one transaction, again after a serialisation failure.

    When the database aborts the transaction because it conflicted with a concurrent one
    (SQLSTATE ``40001``, serialisation failure, the normal outcome of contention at
    ``SERIALIZABLE`` on PostgreSQL and on CockroachDB; or ``40P01``, a deadlock), nothing of it
    was written: the whole callback runs again in a new transaction, after a jittered
    exponential backoff (uniform in ``[0, min(0.5, 0.004 * 2**n)]`` s before retry ``n``), up
    to ``attempts`` times in all. Each retry is logged on the ``marsgis.db`` logger (INFO,
    with ``extra={"marsgis_retry": n, "sqlstate": ...}``).

    ``callback`` must be safe to repeat: everything it does goes through ``conn`` (no files,
    no messages, no state kept between calls except what it returns), and it computes what it
    returns from what it reads in that transaction. Any other error (a refused change, a
    :class:`~marsgis.exceptions.MarsGISError` of its own) is raised at once.

    Given an open connection (``db`` yielded by an outer :func:`transaction`), the callback
    joins that transaction and runs once: the outermost transaction is the one to repeat.

    Parameters
    ----------
    db
        Database URL, engine, open connection to join, or None for the configured default.
    callback
        ``callback(conn) -> result``.
    write
        As for :func:`transaction`.
    attempts
        Runs at most (default :data:`RETRY_ATTEMPTS`).

    Raises
    ------
    ConcurrencyError
        The transaction still conflicted on its last attempt (nothing was written).
    """
    limit = RETRY_ATTEMPTS if attempts is None else attempts
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(f"attempts {attempts!r} must be an integer >= 1")
    if isinstance(db, Connection):
        with transaction(db, write=write) as conn:
            return callback(conn)
    engine = get_engine(db)
    for attempt in range(1, limit + 1):
        try:
            with _begin(engine, write=write) as conn:
                return callback(conn)
        except ConcurrencyError as exc:
            code = _retryable(exc)
            if code is None:
                raise
            if attempt == limit:
                raise ConcurrencyError(
                    f"the transaction on {redact_url(engine.url)!r} conflicted with concurrent "
                    f"ones {limit} times in a row (last: SQLSTATE {code}, "
                    f"{RETRYABLE_SQLSTATES[code]}); nothing was written. The database is "
                    "under heavy contention: try again later, or pass a larger attempts="
                ) from exc
            delay = random.uniform(0.0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
            _log.info(
                "transaction conflict (SQLSTATE %s) on attempt %d of %d; retrying in %.3f s",
                code,
                attempt,
                limit,
                delay,
                extra={"marsgis_retry": attempt, "sqlstate": code},
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _is_write(conn: Connection) -> bool:
    """Whether ``conn``'s transaction was opened with ``write=True``."""
    return bool(conn.get_execution_options().get("marsgis_write", False))


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the packaged migrations (no ini file).

    ``connection``, when given, is the connection the migrations run on (``env.py`` reads it
    from ``config.attributes["connection"]``).
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of marsgis knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise DatabaseError("no marsgis migrations found; reinstall marsgis")
    return head


def _known_revisions() -> str:
    scripts = ScriptDirectory.from_config(alembic_config())
    return ", ".join(reversed([script.revision for script in scripts.walk_revisions()]))


def _revision_of(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _migrate(db: str | Engine | None, revision: str, *, up: bool) -> str | None:
    engine = _engine(db, create=up)
    with _LOCK:
        _AT_HEAD.discard(engine)
        try:
            # CockroachDB refuses schema changes after writes in one transaction: there each
            # statement commits on its own (the flavour runs the same way on PostgreSQL)
            cockroach = database_flavour(engine) == "cockroachdb"
            with _begin(engine, write=True, autocommit=cockroach) as conn:
                if database_flavour(conn) == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY}
                    )
                config = alembic_config(conn)
                if up:
                    command.upgrade(config, revision)
                else:
                    command.downgrade(config, revision)
                current = _revision_of(conn)
        except CommandError as exc:
            raise DatabaseError(
                f"cannot move the marsgis schema of {redact_url(engine.url)!r} to revision "
                f"{revision!r}: {exc}; this marsgis knows revisions {_known_revisions()} "
                "(a database stamped with a later revision was written by a newer marsgis: "
                "upgrade marsgis)"
            ) from exc
        if current == head_revision():
            _AT_HEAD.add(engine)
    return current


def upgrade(db: str | Engine | None = None, revision: str = "head") -> str:
    """Apply the marsgis migrations up to ``revision`` and return the revision now current.

    The whole upgrade runs in one transaction (PostgreSQL and SQLite both have transactional
    DDL here): it is applied completely or not at all. Concurrent upgrades of one PostGIS
    database wait for each other.

    This is the one call that creates a new SpatiaLite file (and its folder) at an explicit
    ``sqlite:///`` URL; every other function refuses a file that does not exist.

    Parameters
    ----------
    db
        Database URL, engine, or None for ``marsgis.config.settings().database_url``.
    revision
        Target revision id (``"0001"``, ``"0002"``, ...) or ``"head"``.

    Returns
    -------
    str
        The current revision after the upgrade (``"base"`` for an empty schema).

    Raises
    ------
    DatabaseError
        The database is unreachable, or refused a migration (nothing was changed).
    """
    return _migrate(db, revision, up=True) or "base"


def upgrade_sql(dialect: str = "cockroachdb", revision: str = "head") -> str:
    """The SQL script of the migrations up to ``revision`` for ``dialect``, without a database.

    Alembic's offline mode: every revision's statements compiled for the dialect (literal
    values inlined), e.g. to review or run by hand the schema of the CockroachDB flavour
    (``dialect="cockroachdb"``, the one offline dialect: the other flavours read the database
    while they migrate).
    """
    if dialect != "cockroachdb":
        raise ValidationError(
            f"dialect {dialect!r}: offline migration scripts are made for 'cockroachdb' only; "
            "PostGIS and SpatiaLite are migrated online with marsgis.db.upgrade(url)"
        )
    import io

    buffer = io.StringIO()
    config = alembic_config()
    config.output_buffer = buffer
    config.attributes["offline_dialect"] = dialect
    try:
        command.upgrade(config, revision, sql=True)
    except CommandError as exc:
        raise DatabaseError(
            f"cannot write the migration script up to {revision!r}: {exc}; this marsgis knows "
            f"revisions {_known_revisions()}"
        ) from exc
    return buffer.getvalue()


def downgrade(db: str | Engine | None = None, *, revision: str) -> str | None:
    """Revert the marsgis migrations down to ``revision`` (``"base"`` removes every table).

    Returns the revision now current (None at base). Runs in one transaction, like
    :func:`upgrade`. Stored data in the dropped tables is lost.
    """
    return _migrate(db, revision, up=False)


def current_revision(db: str | Engine | None = None) -> str | None:
    """The schema revision of the database (None when marsgis has not set it up yet).

    Unlike :func:`get_engine` this does not run migrations.
    """
    engine = _engine(db)
    with _begin(engine, write=False) as conn:
        return _revision_of(conn)


def get_engine(db: DatabaseLike = None, *, migrate: bool = True) -> Engine:
    """Return the engine for ``db`` with the marsgis schema at the newest revision.

    The first call for a database in a process runs the pending migrations (see
    :func:`upgrade`); later calls return the cached engine at once.

    Parameters
    ----------
    db
        Database URL, engine, or None for ``marsgis.config.settings().database_url``
        (``MARSGIS_DATABASE_URL``; the SpatiaLite file in the data dir by default).
    migrate
        False to get the (cached, SpatiaLite-enabled) engine without touching the schema,
        e.g. to inspect a database before upgrading it.

    Raises
    ------
    DatabaseError
        The database is unreachable (the message shows the URL without its password), or
        ``db`` names a SpatiaLite file that does not exist (other than the default store,
        which is created on first use): create it with :func:`upgrade`.
    DependencyNotFoundError
        SpatiaLite cannot be loaded, or the database driver is missing.
    """
    engine = _engine(db)
    if migrate and engine not in _AT_HEAD:
        with _LOCK:
            if engine not in _AT_HEAD:
                upgrade(engine)
    return engine


def dispose_engines() -> None:
    """Close the pooled connections of every cached engine and forget them.

    Call it before dropping a database (tests) or after forking a process.
    """
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _AT_HEAD.clear()
