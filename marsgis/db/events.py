"""The event log: one row per change, written in the same transaction as the change.

Table ``events`` (revision 0008, :mod:`marsgis.db.schema`): a monotonic ``id``, the ``topic``
(:data:`EVENT_TOPICS`), the ``type`` (:data:`EVENT_TYPES`), the ``subject`` (the id of what
changed), the ``actor`` (who), the time ``at`` (UTC) and a small JSON ``payload``.

The store modules append an event with each change through :func:`append_event`, inside the
change's transaction: a change that rolls back leaves no event, and an event that cannot be
written rolls its change back. The log is the source of truth for every subscriber
(:mod:`marsgis.events`); on PostGIS each committing transaction also sends
``NOTIFY marsgis_events, '<last event id>'`` (delivered at commit, ids only) so that listeners
wake at once.

Order and gaps
--------------
Subscribers resume from the last id they read (``id > last``), so an id must never become
visible after a higher one. On SQLite writers are serialised (``BEGIN IMMEDIATE``) and commit
in id order. On PostGIS concurrent transactions could take sequence values in one order and
commit in another; so the events of a transaction are inserted as its **last statements**
(:func:`marsgis.db.engine.before_commit`), after ``pg_advisory_xact_lock`` on one key: ids are
handed out one transaction at a time, and a transaction holding ids commits (or rolls back)
before the next one can take any. The lock is held only from the event insert to ``COMMIT``
(the change's own row locks were all taken before it, so it cannot deadlock with them). A
rolled-back transaction leaves a permanent hole in the ids; holes are never filled.

Actor
-----
The actor of a change is, in order: the caller a store function was given (``changed_by`` of
:func:`marsgis.db.set_status`), the one set with :func:`acting_as` (what an API request does
for its caller), the configured user (``MARSGIS_USER``, ``JUPYTERHUB_USER`` on a hub server),
or None.
"""

from __future__ import annotations

import functools
import hashlib
import select
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.config import settings
from marsgis.db.engine import (
    DatabaseLike,
    before_commit,
    database_flavour,
    get_engine,
    redact_url,
    transaction,
    transaction_state,
)
from marsgis.db.schema import EVENT_TOPICS, events
from marsgis.exceptions import DatabaseError, ValidationError

__all__ = [
    "APPEND_LOCK_KEY",
    "EVENT_TOPICS",
    "EVENT_TYPES",
    "NOTIFY_CHANNEL",
    "Event",
    "Listener",
    "LogPosition",
    "acting_as",
    "append_event",
    "current_actor",
    "last_event_id",
    "log_position",
    "notifies",
    "parse_topics",
    "read_events",
]

#: Every event type and its topic.
EVENT_TYPES: Mapping[str, str] = {
    "mission.created": "missions",
    "mission.updated": "missions",
    "mission.status_changed": "missions",
    "mission.deleted": "missions",
    "plan.saved": "plans",
    "traverse.saved": "plans",
    "ellipse.saved": "plans",
    "artefact.added": "plans",
    "artefact.deleted": "plans",
    "task.added": "tasks",
    "task.status_changed": "tasks",
    "task.reordered": "tasks",
    "task.deleted": "tasks",
    "report_run.started": "reports",
    "report_run.succeeded": "reports",
    "report_run.failed": "reports",
    "schedule.created": "schedules",
    "schedule.deleted": "schedules",
    "schedule.fired": "schedules",
    "model.registered": "models",
    "station.colony_created": "station",
    "station.station_created": "station",
    "station.bay_created": "station",
    "station.vessel_created": "station",
    "station.voyage_created": "station",
    "station.bay_booked": "station",
    "station.manifest_filed": "station",
    "station.passenger_registered": "station",
    "station.application_created": "station",
    "station.application_changed": "station",
    "station.visa_issued": "station",
    "station.visa_revocation_proposed": "station",
    "station.visa_revoked": "station",
    "station.visa_expired": "station",
    "station.entry_recorded": "station",
    "station.colony_capacity_changed": "station",
    "station.seeded": "station",
}

#: The PostgreSQL NOTIFY channel; the payload is the highest event id of the transaction.
NOTIFY_CHANNEL = "marsgis_events"
#: Most events one :func:`read_events` call returns.
READ_LIMIT_MAX = 10_000
# Key of the PostgreSQL advisory lock that serialises event appends (see the module docs).
_APPEND_LOCK_KEY = 949_900_008
#: The same key, for stores whose own append locks must be taken after it (one lock order,
#: no deadlock between them: :mod:`marsgis.db.station.audit`).
APPEND_LOCK_KEY = _APPEND_LOCK_KEY
_ACTOR_MAX = 200
_STATE_KEY = "events"

_ACTOR: ContextVar[str | None] = ContextVar("marsgis_event_actor", default=None)


@dataclass(frozen=True)
class Event:
    """One recorded change.

    Attributes
    ----------
    id
        Monotonic: a later commit has a higher id (ids of rolled-back changes are skipped).
    topic
        One of :data:`EVENT_TOPICS`.
    type
        One of :data:`EVENT_TYPES` (``"mission.status_changed"``, ...).
    subject
        Id of what changed, as text (a mission UUID, a task or run id, a model name).
    actor
        Who made the change (None when unknown).
    at
        When, timezone-aware UTC.
    payload
        A small JSON object describing the change.
    """

    id: int
    topic: str
    type: str
    subject: str
    actor: str | None
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``at`` as an ISO 8601 string)."""
        return {
            "id": self.id,
            "topic": self.topic,
            "type": self.type,
            "subject": self.subject,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "payload": dict(self.payload),
        }


# --------------------------------------------------------------------------- actor


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Record ``actor`` as who makes the changes inside the block (this thread/task only).

    >>> with acting_as("alice"):
    ...     current_actor()
    'alice'
    """
    token = _ACTOR.set(None if actor is None else str(actor)[:_ACTOR_MAX])
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str | None:
    """Who acts now: :func:`acting_as`, else the configured user (``MARSGIS_USER``), else None."""
    actor = _ACTOR.get()
    if actor is not None:
        return actor
    user = settings().user
    return None if user is None else user[:_ACTOR_MAX]


# --------------------------------------------------------------------------- writing


def append_event(
    conn: Connection,
    type: str,
    subject: object,
    payload: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
) -> None:
    """Record the event of a change made in ``conn``'s open write transaction (store modules).

    Inside a :func:`~marsgis.db.transaction` the row is inserted as one of the last statements
    of the transaction (in the order appended); on a connection whose transaction the caller
    began with plain SQLAlchemy it is inserted at once. Either way it commits or rolls back
    with the change.

    Parameters
    ----------
    conn
        The change's connection, inside its transaction.
    type
        One of :data:`EVENT_TYPES` (the topic follows from it).
    subject
        Id of what changed (stored as text).
    payload
        A small JSON object.
    actor
        Who; default :func:`current_actor`.
    """
    topic = EVENT_TYPES.get(type)
    if topic is None:
        raise ValidationError(f"unknown event type {type!r}; known: {', '.join(EVENT_TYPES)}")
    who = actor if actor is not None else current_actor()
    row = {
        "topic": topic,
        "type": type,
        "subject": str(subject),
        "actor": None if who is None else str(who)[:_ACTOR_MAX],
        "at": datetime.now(UTC),
        "payload": dict(payload or {}),
    }
    state = transaction_state(conn)
    if state is None:
        _insert(conn, [row])
        return
    queue: list[dict[str, Any]] | None = state.get(_STATE_KEY)
    if queue is None:
        queue = state[_STATE_KEY] = []
        rows = queue
        before_commit(conn, lambda c: _insert(c, rows))
    queue.append(row)


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    flavour = database_flavour(conn)
    postgres = flavour == "postgresql"
    if postgres:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    if flavour == "cockroachdb":
        # no advisory locks (and no gap-free sequences) there: the transaction, SERIALIZABLE,
        # reads the highest id and writes the next ones, so two appends conflict and one is
        # retried (marsgis.db.run_transaction): ids become visible in order there too
        top = conn.execute(sa.select(sa.func.max(events.c.id))).scalar()
        first = 1 + (0 if top is None else int(top))
        conn.execute(events.insert(), [{**row, "id": first + i} for i, row in enumerate(rows)])
        return
    last = 0
    for row in rows:
        last = int(conn.execute(events.insert().values(**row).returning(events.c.id)).scalar_one())
    if postgres:
        conn.execute(
            sa.text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": str(last)},
        )


# --------------------------------------------------------------------------- reading


def parse_topics(topics: str | Iterable[str] | None) -> tuple[str, ...]:
    """Topics as a sorted tuple: None (or ``"*"``) is every topic; ``"a,b"`` is two.

    >>> parse_topics("reports,missions")
    ('missions', 'reports')
    """
    if topics is None:
        return EVENT_TOPICS
    items = topics.split(",") if isinstance(topics, str) else list(topics)
    names = {str(item).strip() for item in items} - {""}
    if names == {"*"}:
        return EVENT_TOPICS
    unknown = sorted(names - set(EVENT_TOPICS))
    if unknown or not names:
        raise ValidationError(
            f"unknown event topic(s) {', '.join(map(repr, unknown)) or repr(topics)}; "
            f"choose from {', '.join(EVENT_TOPICS)} (or None for all)"
        )
    return tuple(sorted(names))


def _since(since: int | None) -> int:
    if since is None:
        return 0
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise ValidationError(
            f"since {since!r} must be an event id (an integer >= 0), e.g. the id of the last "
            "event you handled"
        )
    return since


def _to_event(row: RowMapping) -> Event:
    return Event(
        id=int(row["id"]),
        topic=str(row["topic"]),
        type=str(row["type"]),
        subject=str(row["subject"]),
        actor=row["actor"],
        at=row["at"],
        payload=dict(row["payload"] or {}),
    )


def read_events(
    since: int | None = None,
    topics: str | Iterable[str] | None = None,
    limit: int = 1000,
    *,
    db: DatabaseLike = None,
) -> list[Event]:
    """The recorded events after ``since``, oldest first.

    Parameters
    ----------
    since
        Only events with a higher id (None: from the first).
    topics
        Only these topics (see :func:`parse_topics`; None for all).
    limit
        At most this many (1 to :data:`READ_LIMIT_MAX`); read on from the last id returned.
    db
        Database URL, engine, open connection, or None for the configured default.
    """
    after = _since(since)
    wanted = parse_topics(topics)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= READ_LIMIT_MAX:
        raise ValidationError(f"limit {limit!r} must be an integer from 1 to {READ_LIMIT_MAX}")
    query = sa.select(events).where(events.c.id > after)
    if wanted != EVENT_TOPICS:
        query = query.where(events.c.topic.in_(wanted))
    query = query.order_by(events.c.id).limit(limit)
    with transaction(db) as conn:
        return [_to_event(row) for row in conn.execute(query).mappings()]


def last_event_id(db: DatabaseLike = None) -> int:
    """The id of the newest recorded event (0 when there is none)."""
    with transaction(db) as conn:
        value = conn.execute(sa.select(sa.func.max(events.c.id))).scalar()
    return 0 if value is None else int(value)


@dataclass(frozen=True)
class LogPosition:
    """Where a database's event log stands for some topics.

    ``database`` names the database (a digest of its URL without the password), so positions
    of different databases never pass for one another; ``event_id`` is the newest event of the
    topics (0 when none). Nothing those topics cover has changed while both stay the same —
    a key for cached reads (:mod:`marsgis.memo`).
    """

    database: str
    event_id: int


def log_position(topics: str | Iterable[str] | None = None, db: DatabaseLike = None) -> LogPosition:
    """The newest event id of ``topics`` (all by default), with the database's identity.

    One indexed lookup per topic (``ix_events_topic_id``), in one statement (built once per
    set of topics: this runs on every cached read).
    """
    wanted = parse_topics(topics)
    row: Any = None
    if not isinstance(db, Connection):
        engine = get_engine(db)
        row = _newest_row_fast(engine, wanted)
        identity = _database_identity(engine.url)
    if row is None:
        with transaction(db) as conn:
            row = conn.execute(_newest_statement(wanted)).one()
            identity = _database_identity(conn.engine.url)
    return LogPosition(identity, max((int(v) for v in row if v is not None), default=0))


def _newest_row_fast(engine: sa.Engine, wanted: tuple[str, ...]) -> Any:
    """The newest ids through a pooled DBAPI cursor; None when that fails.

    This runs before every cached read (on the API's event loop), where SQLAlchemy's
    connection, transaction and result objects cost about 6× the one indexed query (benchmarks:
    API section). One statement reads a consistent snapshot, so no transaction is needed; the
    connection goes back to the pool with its usual reset. On any DBAPI error the caller takes
    the full path, which turns the error into a marsgis error.
    """
    sql, params = _newest_sql(engine.dialect, wanted)
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        raw = engine.raw_connection()
    except (sa.exc.DBAPIError, dbapi_error):
        return None
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            cursor.close()
    except dbapi_error:
        raw.invalidate()
        return None
    finally:
        raw.close()


@functools.lru_cache(maxsize=64)
def _newest_sql(dialect: sa.Dialect, wanted: tuple[str, ...]) -> tuple[str, Any]:
    """:func:`_newest_statement` compiled for ``dialect``: its text and DBAPI parameters."""
    compiled = _newest_statement(wanted).compile(dialect=dialect)
    params = compiled.construct_params()
    if dialect.positional:
        return str(compiled), tuple(params[name] for name in compiled.positiontup or ())
    return str(compiled), params


@functools.lru_cache(maxsize=64)
def _newest_statement(wanted: tuple[str, ...]) -> sa.Select[Any]:
    newest = [
        sa.select(sa.func.max(events.c.id)).where(events.c.topic == t).scalar_subquery()
        for t in wanted
    ]
    return sa.select(*newest)


@functools.lru_cache(maxsize=64)
def _database_identity(url: sa.URL) -> str:
    """A digest of the URL without its password (URLs are immutable and hashable)."""
    text = url.render_as_string(hide_password=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- listening


def notifies(db: DatabaseLike = None) -> bool:
    """Whether the database sends event notifications (PostGIS; SpatiaLite, CockroachDB poll)."""
    return database_flavour(get_engine(db)) == "postgresql"


class Listener:
    """One dedicated PostgreSQL connection that ``LISTEN`` s for event ids.

    Not pooled, in autocommit, with ``application_name`` ``marsgis-events``. Its errors (the
    server went away, the backend was terminated) are raised as
    :class:`~marsgis.exceptions.DatabaseError`; :mod:`marsgis.events` then opens a new one and
    reads the log from where each subscriber was.

    Parameters
    ----------
    db
        A PostGIS database URL, engine, or None for the configured default.
    """

    application_name = "marsgis-events"

    def __init__(self, db: DatabaseLike = None) -> None:
        engine = get_engine(db)
        if database_flavour(engine) != "postgresql":
            raise ValidationError(
                f"{redact_url(engine.url)!r} is not PostgreSQL: only PostGIS sends event "
                "notifications; SpatiaLite and CockroachDB subscribers poll the log "
                "(marsgis.events.subscribe)"
            )
        self._url = redact_url(engine.url)
        self._error: type[Exception] = engine.dialect.loaded_dbapi.Error
        try:
            proxied = engine.raw_connection()
        # the pool raises the driver's own error when a new connection is refused (a server
        # restarting), SQLAlchemy's wrapper for other failures
        except (sa.exc.DBAPIError, self._error) as exc:
            raise self._fail("cannot open the event listener connection", exc) from exc
        proxied.detach()  # dedicated: never returned to (or reused from) the pool
        self._conn: Any = cast(Any, proxied.dbapi_connection)
        try:
            self._conn.rollback()  # whatever the pool's ping left open
            self._conn.autocommit = True
            with self._conn.cursor() as cur:
                cur.execute("SET application_name = %s", (self.application_name,))
                cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.backend_pid: int = int(self._conn.get_backend_pid())
        except self._error as exc:
            self.close()
            raise self._fail("cannot LISTEN for events", exc) from exc

    def _fail(self, what: str, exc: BaseException) -> DatabaseError:
        text = " ".join(str(getattr(exc, "orig", None) or exc).split())
        return DatabaseError(
            f"{what} on {self._url!r}: {text}; subscribers reconnect by themselves, check that "
            "the server is running if this persists"
        )

    def wait(self, timeout: float) -> list[int]:
        """Wait up to ``timeout`` seconds for notifications; the event ids they carry."""
        try:
            if not self._conn.notifies:
                readable, _, _ = select.select([self._conn], [], [], max(0.0, timeout))
                if readable:
                    self._conn.poll()
            else:
                self._conn.poll()
        except (self._error, OSError, ValueError) as exc:
            raise self._fail("the event listener connection failed", exc) from exc
        ids: list[int] = []
        while self._conn.notifies:
            note = self._conn.notifies.pop(0)
            if str(note.payload).isdigit():
                ids.append(int(note.payload))
        return ids

    def ping(self) -> None:
        """A round trip on the connection (the heartbeat); raises if it is gone."""
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT 1")
        except (self._error, OSError) as exc:
            raise self._fail("the event listener heartbeat failed", exc) from exc

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        try:
            self._conn.close()
        except self._error:  # pragma: no cover - closing a dead connection
            pass
