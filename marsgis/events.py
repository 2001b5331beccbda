"""Live events: follow the changes recorded in the event log, in order, from any id.

Every change the store makes (a mission created or moved to ``active``, a plan saved, a report
run finished, ...) is recorded in the event log in the change's own transaction
(:mod:`marsgis.db.events`). :func:`subscribe` follows that log:

* **in order, at least once, resumable**: events come in id order; a subscriber that stops
  resumes with ``since=<id of the last event it handled>`` and misses nothing. An event may be
  seen twice only by a subscriber that resumes from an older id than it handled.
* **PostGIS**: one dedicated ``LISTEN`` connection per process and database (shared by all its
  subscriptions) is woken by ``NOTIFY`` carrying event ids only; it sends a heartbeat
  (``SELECT 1``) when idle, reconnects with backoff when the connection or the server goes
  away, and then every subscriber reads the log again from its own last id.
* **SpatiaLite**: a short poll of the log (``poll_interval``).

A notification is only a wake-up: the rows always come from the log, so a lost notification
delays an event by at most ``heartbeat`` seconds and never loses it. On PostGIS the listener
reads the new rows once per notification, for every subscription of the process, into a shared
tail of the log (the last :data:`TAIL_EVENTS` events, all topics); a subscription within that
tail takes its events from it without a query, one further behind (a replay from an old
``since``) reads the log itself until it catches up. Ids become visible in id order
(:mod:`marsgis.db.events`), so the tail is always a gap-free stretch of the log.

A :class:`Subscription` is an iterator (notebooks, scripts) and an async iterator (the API).
It holds at most ``batch`` events in memory: the log is the queue, so a slow consumer falls
behind in the log (see :meth:`Subscription.lag`), never in memory. An API route feeding a
bounded per-connection queue from ``async for event in subscription`` can drop a client that
falls too far behind and let it reconnect with ``since=``.

Examples
--------
>>> from marsgis import events  # doctest: +SKIP
>>> with events.subscribe("missions,reports", since=0) as feed:  # doctest: +SKIP
...     for event in feed:
...         print(event.id, event.type, event.subject)
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import Any, NamedTuple

from marsgis.db import DatabaseLike, get_engine
from marsgis.db.events import (
    EVENT_TOPICS,
    EVENT_TYPES,
    Event,
    Listener,
    LogPosition,
    acting_as,
    last_event_id,
    log_position,
    notifies,
    parse_topics,
    read_events,
)
from marsgis.exceptions import DatabaseError, ValidationError

__all__ = [
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_POLL_INTERVAL_S",
    "EVENT_TOPICS",
    "TAIL_EVENTS",
    "EVENT_TYPES",
    "Event",
    "LogPosition",
    "Subscription",
    "acting_as",
    "last_event_id",
    "log_position",
    "read_events",
    "subscribe",
]

#: How often SpatiaLite subscribers read the log.
DEFAULT_POLL_INTERVAL_S = 0.25
#: Idle time after which the PostGIS listener checks its connection (and subscribers re-read
#: the log even without a notification).
DEFAULT_HEARTBEAT_S = 10.0
#: Recent events (all topics) each process keeps per PostGIS database for its subscriptions.
TAIL_EVENTS = 10_000
_TAIL_READ = 1000
_BACKOFF_MIN_S = 0.1
_BACKOFF_MAX_S = 5.0
_LISTEN_TICK_S = 0.5

_log = logging.getLogger(__name__)


class _Tail(NamedTuple):
    """A published snapshot of the shared tail: the events with ``first < id <= last``."""

    first: int
    last: int
    ids: tuple[int, ...]
    events: tuple[Event, ...]


def _set_all(flags: tuple[asyncio.Event, ...]) -> None:
    for flag in flags:
        flag.set()


class _Notifier:
    """The shared ``LISTEN`` connection of one database: wakes its subscribers on ``NOTIFY``."""

    def __init__(self, engine: Any, heartbeat: float) -> None:
        self.engine = engine
        self.heartbeat = heartbeat
        self.generation = 0
        self.backend_pid: int | None = None
        self.reconnects = 0
        self.connected = threading.Event()
        self.users = 0
        self._cond = threading.Condition()
        # asyncio subscriptions by loop: one thread-safe call per loop wakes all of them
        self._waiters: dict[asyncio.AbstractEventLoop, set[asyncio.Event]] = {}
        self._stop = threading.Event()
        # the shared tail: every event with tail_from < id <= tail_to, in id order. Readers take
        # the published snapshot without a lock (never mutated once published: a refresh builds
        # and publishes a new one), so a subscription on the event loop never waits for, nor
        # falls back to a worker thread because of, a refresh in progress.
        self._tail_lock = threading.Lock()  # serialises refreshes
        self._snapshot: _Tail | None = None
        self._dirty = True  # the log may hold events beyond tail_to and nobody is reading them
        self._thread = threading.Thread(target=self._run, name="marsgis-events", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the shared tail
    def mark_dirty(self) -> None:
        """The log may have grown without a notification: the next read refreshes the tail."""
        self._dirty = True

    def _refresh(self) -> None:
        """Read the events committed after the tail's end into it (the tail lock is held)."""
        try:
            tail = self._snapshot
            if tail is None:
                start = last_event_id(self.engine)
                tail = _Tail(start, start, (), ())
            while True:
                self._dirty = False  # a failed read sets it again
                fresh = read_events(tail.last, None, _TAIL_READ, db=self.engine)
                if fresh:
                    events = tail.events + tuple(fresh)
                    ids = tail.ids + tuple(e.id for e in fresh)
                    first = tail.first
                    excess = len(events) - TAIL_EVENTS
                    if excess > 0:
                        first = ids[excess - 1]
                        events, ids = events[excess:], ids[excess:]
                    tail = _Tail(first, ids[-1], ids, events)
                    self._snapshot = tail  # published: readers see it from now on
                elif self._snapshot is None:
                    self._snapshot = tail
                if len(fresh) < _TAIL_READ:
                    break
        except BaseException:
            self._dirty = True
            raise

    def after(
        self, position: int, topics: frozenset[str], limit: int, *, refresh: bool
    ) -> tuple[list[Event], int] | None:
        """Up to ``limit`` events of ``topics`` after ``position`` from the shared tail.

        Returns the events and the id the tail was read to for this caller, or None:
        ``position`` is outside the tail (read the log itself), or the tail must be refreshed
        (a query) and ``refresh`` is False. Without ``refresh`` this never blocks: it reads
        the last published snapshot of the tail.

        Raises
        ------
        DatabaseError
            Refreshing the tail failed.
        """
        if self._dirty:
            if not refresh:
                return None
            with self._tail_lock:
                if self._dirty:
                    self._refresh()
        tail = self._snapshot
        if tail is None or not tail.first <= position <= tail.last:
            return None
        found: list[Event] = []
        events = tail.events
        for k in range(bisect.bisect_right(tail.ids, position), len(events)):
            event = events[k]
            if event.topic in topics:
                found.append(event)
                if len(found) == limit:
                    return found, event.id
        return found, tail.last

    def pending(self, position: int, topics: frozenset[str], limit: int) -> int | None:
        """How many events of ``topics`` the tail holds after ``position`` (up to ``limit``).

        None: ``position`` is outside the tail. Never blocks.
        """
        tail = self._snapshot
        if tail is None or not tail.first <= position <= tail.last:
            return None
        count = 0
        events = tail.events
        for k in range(bisect.bisect_right(tail.ids, position), len(events)):
            if events[k].topic in topics:
                count += 1
                if count >= limit:
                    break
        return count

    def _update_tail(self) -> None:
        """Refresh the tail before waking the subscribers (they query the log if this fails)."""
        try:
            with self._tail_lock:
                self._refresh()
        except DatabaseError as exc:
            _log.info("reading the event log for the shared tail failed: %s", exc)

    # ------------------------------------------------------------------ wake-ups
    def wake(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()
            loops = [(loop, tuple(flags)) for loop, flags in self._waiters.items() if flags]
        for loop, flags in loops:
            try:  # one wake-up of the loop for all its subscriptions
                loop.call_soon_threadsafe(_set_all, flags)
            except RuntimeError:  # the loop was closed without closing its subscriptions
                with self._cond:
                    self._waiters.pop(loop, None)

    def wait(self, generation: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(
                lambda: self.generation != generation or self._stop.is_set(), timeout
            )

    def add_async(self, loop: asyncio.AbstractEventLoop, flag: asyncio.Event) -> None:
        with self._cond:
            self._waiters.setdefault(loop, set()).add(flag)

    def remove_async(self, loop: asyncio.AbstractEventLoop, flag: asyncio.Event) -> None:
        with self._cond:
            flags = self._waiters.get(loop)
            if flags is not None:
                flags.discard(flag)
                if not flags:
                    del self._waiters[loop]

    # ------------------------------------------------------------------ the connection
    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        listener: Listener | None = None
        backoff = _BACKOFF_MIN_S
        failed = False
        idle_since = time.monotonic()
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = Listener(self.engine)
                    self.backend_pid = listener.backend_pid
                    if failed:
                        self.reconnects += 1
                        _log.info("event listener reconnected (backend %s)", self.backend_pid)
                    failed, backoff = False, _BACKOFF_MIN_S
                    self.connected.set()
                    self._update_tail()  # notifications may have been missed: resync
                    self.wake()  # every subscriber reads on from its last id
                    idle_since = time.monotonic()
                if listener.wait(min(_LISTEN_TICK_S, self.heartbeat)):
                    self._update_tail()
                    self.wake()
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= self.heartbeat:
                    listener.ping()
                    idle_since = time.monotonic()
            except DatabaseError as exc:
                self.connected.clear()
                self.backend_pid = None
                if listener is not None:
                    listener.close()
                    listener = None
                failed = True
                _log.warning("%s; reconnecting in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
        if listener is not None:
            listener.close()
        self.connected.clear()


_NOTIFIERS: dict[Any, _Notifier] = {}
_NOTIFIERS_LOCK = threading.Lock()


def _acquire(engine: Any, heartbeat: float) -> _Notifier:
    with _NOTIFIERS_LOCK:
        notifier = _NOTIFIERS.get(engine)
        if notifier is None:
            notifier = _NOTIFIERS[engine] = _Notifier(engine, heartbeat)
        notifier.users += 1
        return notifier


def _release(notifier: _Notifier) -> None:
    with _NOTIFIERS_LOCK:
        notifier.users -= 1
        if notifier.users > 0:
            return
        if _NOTIFIERS.get(notifier.engine) is notifier:
            del _NOTIFIERS[notifier.engine]
    notifier.stop()


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(f"{name} {value!r} must be a positive number of seconds")
    return float(value)


class Subscription:
    """A follower of the event log (made by :func:`subscribe`); iterate it, then close it.

    Attributes
    ----------
    topics
        The topics followed.
    position
        The id of the last event handed out (resume a later subscription with
        ``since=position``).
    """

    def __init__(
        self,
        topics: str | Iterable[str] | None,
        since: int | None,
        db: DatabaseLike,
        *,
        poll_interval: float,
        heartbeat: float,
        batch: int,
    ) -> None:
        self._closed = False
        self._notifier: _Notifier | None = None
        self._async: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self.topics = parse_topics(topics)
        self._topic_set = frozenset(self.topics)
        if since is not None and (
            isinstance(since, bool) or not isinstance(since, int) or since < 0
        ):
            raise ValidationError(
                f"since {since!r} must be an event id (an integer >= 0: the id of the last "
                "event you handled, 0 for the whole log) or None for events from now on"
            )
        self._poll = _positive(poll_interval, "poll_interval")
        self._heartbeat = _positive(heartbeat, "heartbeat")
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10_000:
            raise ValidationError(f"batch {batch!r} must be an integer from 1 to 10000")
        self._batch = batch
        self._engine = get_engine(db)
        self._notifier = _acquire(self._engine, self._heartbeat) if notifies(self._engine) else None
        try:
            self.position = last_event_id(self._engine) if since is None else int(since)
        except BaseException:
            self.close()
            raise
        self._read_to = self.position
        self._buffer: deque[Event] = deque()
        self._backoff = _BACKOFF_MIN_S

    # ------------------------------------------------------------------ state
    @property
    def listener_pid(self) -> int | None:
        """PostgreSQL backend pid of the shared ``LISTEN`` connection (None: not connected)."""
        return None if self._notifier is None else self._notifier.backend_pid

    @property
    def reconnects(self) -> int:
        """How many times the shared ``LISTEN`` connection was opened again after a failure."""
        return 0 if self._notifier is None else self._notifier.reconnects

    def wait_listening(self, timeout: float = 10.0) -> bool:
        """Wait until notifications can wake this subscription (True at once on SpatiaLite)."""
        if self._notifier is None:
            return True
        return self._notifier.connected.wait(timeout)

    def lag(self) -> int:
        """How many event ids (of any topic) the log holds beyond :attr:`position`."""
        return max(0, last_event_id(self._engine) - self.position)

    # ------------------------------------------------------------------ reading the log
    def _fill(self, *, query: bool = True) -> bool | None:
        """Read the next batch into the buffer; False when there was none.

        From the shared tail when this subscription is within it, else from the log. With
        ``query=False`` nothing that could block is done: None when that would be needed.
        """
        try:
            if self._notifier is not None:
                tail = self._notifier.after(
                    self._read_to, self._topic_set, self._batch, refresh=query
                )
                if tail is not None:
                    self._buffer.extend(tail[0])
                    self._read_to = tail[1]
                    self._backoff = _BACKOFF_MIN_S
                    return bool(tail[0])
            if not query:
                return None
            found = read_events(self._read_to, self.topics, self._batch, db=self._engine)
        except DatabaseError as exc:
            _log.warning("reading the event log failed: %s; retrying", exc)
            time.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, _BACKOFF_MAX_S)
            return False
        self._backoff = _BACKOFF_MIN_S
        if not found:
            return False
        self._buffer.extend(found)
        self._read_to = found[-1].id
        return True

    def _take(self) -> Event:
        event = self._buffer.popleft()
        self.position = event.id
        return event

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(
                "this subscription is closed; start a new one with "
                f"marsgis.events.subscribe(..., since={self.position})"
            )

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None: as long as it takes).

        Returns None when no event came in time.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            if self._buffer:
                return self._take()
            self._check_open()
            generation = 0 if self._notifier is None else self._notifier.generation
            if self._fill():
                continue
            pause = self._heartbeat if self._notifier is not None else self._poll
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                pause = min(pause, remaining)
            if self._notifier is None:
                time.sleep(pause)
            else:
                self._notifier.wait(generation, pause)
                if self._notifier.generation == generation:  # no wake-up: read the log anyway
                    self._notifier.mark_dirty()

    async def aget(self, timeout: float | None = None) -> Event | None:
        """:meth:`get` for asyncio: the log is read in a worker thread, the loop never blocks."""
        loop = asyncio.get_running_loop()
        if self._notifier is not None and (self._async is None or self._async[0] is not loop):
            if self._async is not None:
                self._notifier.remove_async(*self._async)
            self._async = (loop, asyncio.Event())
            self._notifier.add_async(*self._async)
        deadline = None if timeout is None else loop.time() + max(0.0, timeout)
        while True:
            if self._buffer:
                return self._take()
            self._check_open()
            if self._async is not None:
                self._async[1].clear()
            filled = self._fill(query=False) if self._notifier is not None else None
            if filled is None:  # a query is needed: in a worker thread
                filled = await asyncio.to_thread(self._fill)
            if filled:
                continue
            pause = self._heartbeat if self._async is not None else self._poll
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                pause = min(pause, remaining)
            if self._async is None:
                await asyncio.sleep(pause)
            else:
                try:  # asyncio.timeout, not wait_for: no task per wait (once per event)
                    async with asyncio.timeout(pause):
                        await self._async[1].wait()
                except TimeoutError:  # no wake-up: read the log anyway
                    if self._notifier is not None:
                        self._notifier.mark_dirty()

    async def abatch(self, timeout: float | None = None) -> list[Event]:
        """The events ready now, at least one: :meth:`aget` and everything it read with it.

        Waits up to ``timeout`` seconds (None: as long as it takes) for the first; an empty
        list when none came in time. One wake-up hands out a whole batch (at most ``batch``
        events), so a consumer that falls behind catches up in few, larger steps.
        """
        first = await self.aget(timeout)
        if first is None:
            return []
        found = [first]
        if self._buffer:
            found.extend(self._buffer)
            self._buffer.clear()
            self.position = found[-1].id
        return found

    def waiting(self, limit: int) -> int | None:
        """Events of the topics beyond those read so far that the shared tail holds (to ``limit``).

        Counted without a query; None when that is not known without one (SpatiaLite, or this
        subscription is behind the tail).
        """
        if self._notifier is None:
            return None
        return self._notifier.pending(self._read_to, self._topic_set, limit)

    # ------------------------------------------------------------------ protocols
    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if self._closed and not self._buffer:
            raise StopIteration
        event = self.get()
        assert event is not None  # no timeout: get() waits for one
        return event

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._closed and not self._buffer:
            raise StopAsyncIteration
        event = await self.aget()
        assert event is not None
        return event

    def close(self) -> None:
        """Stop following the log (the shared listener closes with its last subscription)."""
        if self._closed:
            return
        self._closed = True
        if self._notifier is not None:
            if self._async is not None:
                self._notifier.remove_async(*self._async)
            _release(self._notifier)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Subscription topics={','.join(self.topics)} position={self.position} {state}>"


def subscribe(
    topics: str | Iterable[str] | None = None,
    since: int | None = None,
    *,
    db: DatabaseLike = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL_S,
    heartbeat: float = DEFAULT_HEARTBEAT_S,
    batch: int = 500,
) -> Subscription:
    """Follow the event log: an iterator and async iterator of :class:`Event`, in id order.

    Parameters
    ----------
    topics
        ``"missions"``, ``"missions,reports"``, a list of topics (:data:`EVENT_TOPICS`), or
        None for all.
    since
        Deliver the events after this id (0: the whole log); None: only events recorded from
        now on. Resume a stopped subscriber with the id of the last event it handled.
    db
        Database URL, engine, or None for the configured default.
    poll_interval
        Seconds between reads of the log on SpatiaLite.
    heartbeat
        On PostGIS: seconds of silence after which a waiting subscriber re-reads the log
        anyway, and the shared listener checks its connection (the listener keeps the
        heartbeat of the subscription that started it).
    batch
        Events read from the log at a time (at most this many are held in memory).

    Returns
    -------
    Subscription
        Iterate it (``for event in sub``, ``async for event in sub``) or call
        :meth:`~Subscription.get` / :meth:`~Subscription.aget` with a timeout; close it when
        done (it is a context manager).

    Raises
    ------
    ValidationError
        An unknown topic, a bad ``since`` or interval.
    DatabaseError
        The database is unreachable.
    """
    return Subscription(
        topics, since, db, poll_interval=poll_interval, heartbeat=heartbeat, batch=batch
    )
