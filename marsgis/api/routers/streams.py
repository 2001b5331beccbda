"""``/streams``: the event log, live, over a WebSocket or as server-sent events.

``WS /api/v1/streams/ws?topics=missions,reports&since=ID`` and
``GET /api/v1/streams/sse?topics=...&since=ID`` follow :func:`marsgis.events.subscribe`: every
event of the topics after ``since`` (none: from now on), in id order, then live. Each message is
the JSON object ``{"id", "topic", "type", "subject", "actor", "time", "payload"}``; a client that
resumes with ``since=<id of the last message it handled>`` misses nothing (at least once: the
event being sent when a connection broke may come again).

Authentication is the one of every route (:func:`marsgis.api.auth.identify`: ``Authorization``
header or ``?token=``), checked at the handshake. The topics are checked against the caller's
scopes (:data:`marsgis.api.scopes.TOPIC_SCOPES`): asking for a topic the caller may not read is
refused; asking for none follows every topic the caller may read.

* WebSocket: a refusal is a JSON ``{"type": "error", "status", "detail"}`` message and a close
  with code ``1008`` (policy violation: no or bad token, a topic not allowed, a bad parameter)
  or ``1013`` (try again later: rate limit, hub down). A ``{"type": "heartbeat", "position":
  ID}`` message comes after ``heartbeat`` seconds without events (``position``: resume from
  there).
* Server-sent events: a refusal is the usual problem document (``401``, ``403``, ``422``); an
  event is ``id: ID`` + ``data: JSON``; a heartbeat is a comment line ``: heartbeat ID``; the
  ``Last-Event-ID`` header (what a browser's ``EventSource`` sends when it reconnects) wins
  over ``since``.

**Slow clients.** Each connection sends the events of its subscription straight to the
client, every event ready at a wake-up in turn (:func:`text_of`: each event's JSON is encoded
once per process). When a send waits on the client and more than ``create_app(stream_queue=...)``
events wait for it, the connection stops reading the log, sends a final
``{"type": "resync", "since": ID}``
(``ID``: the last event delivered) and ends: WebSocket close code ``4000``, the SSE response
simply ends. Memory per connection stays bounded, and the shared ``LISTEN`` connection and the
other clients never wait on it; the client reconnects with ``since=ID`` and misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, WebSocket
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from marsgis import events
from marsgis.api.auth import Principal, authenticate, identify, token_of
from marsgis.api.models import Problem
from marsgis.api.problems import status_for
from marsgis.api.routers import API_PREFIX
from marsgis.api.scopes import TOPIC_SCOPES
from marsgis.db.events import parse_topics
from marsgis.exceptions import ConfigurationError, MarsGISError, ValidationError

__all__ = [
    "CLOSE_ERROR",
    "CLOSE_POLICY",
    "CLOSE_RESYNC",
    "CLOSE_TRY_LATER",
    "StreamLimits",
    "STALL_CHECK_S",
    "message_of",
    "readable_topics",
    "text_of",
    "router",
]

PREFIX = f"{API_PREFIX}/streams"
router = APIRouter(prefix=PREFIX, tags=["streams"])

#: WebSocket close code of a refused handshake: no or bad token, topic not allowed, bad input.
CLOSE_POLICY = 1008
#: WebSocket close code of a client that fell behind: reconnect with ``since=`` the resync id.
CLOSE_RESYNC = 4000
#: WebSocket close code when the caller is over its rate limit or the hub cannot be asked.
CLOSE_TRY_LATER = 1013
#: WebSocket close code of a server error.
CLOSE_ERROR = 1011
# The largest event id (a signed 64-bit column on PostGIS and SQLite).
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class StreamLimits:
    """Per-connection limits of the event streams (``create_app(stream_queue=..., ...)``).

    Attributes
    ----------
    queue
        Events that may wait for one client while a send to it waits; a client further
        behind is told to resync and dropped.
    heartbeat
        Seconds without an event after which a heartbeat is sent.
    drop_timeout
        Seconds given to the final resync message (and the close) of a dropped client.
    """

    queue: int = 256
    heartbeat: float = 15.0
    drop_timeout: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.queue, bool) or not isinstance(self.queue, int) or self.queue < 1:
            raise ConfigurationError(
                f"stream_queue {self.queue!r} must be a whole number of messages >= 1, e.g. 256"
            )
        for name in ("heartbeat", "drop_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigurationError(
                    f"stream {name} {value!r} must be a positive number of seconds, e.g. 15"
                )


def readable_topics(principal: Principal, topics: str | None) -> tuple[str, ...]:
    """The topics ``principal`` asks for (None, ``""`` or ``"*"``: all it may read).

    Raises
    ------
    ValidationError
        An unknown topic.
    fastapi.HTTPException
        ``403`` for a topic the principal may not read, or when it may read none.
    """
    if topics is None or topics.strip() in ("", "*"):
        allowed = tuple(t for t in events.EVENT_TOPICS if principal.allows(TOPIC_SCOPES[t]))
        if not allowed:
            raise HTTPException(
                403,
                detail=f"{principal.name!r} (role {principal.role!r}) may read no event topic; "
                f"each needs one of the scopes {', '.join(sorted(set(TOPIC_SCOPES.values())))}",
            )
        return allowed
    wanted = parse_topics(topics)
    refused = [t for t in wanted if not principal.allows(TOPIC_SCOPES[t])]
    if refused:
        needs = ", ".join(f"{t!r} needs {TOPIC_SCOPES[t]!r}" for t in refused)
        raise HTTPException(
            403,
            detail=f"{principal.name!r} (role {principal.role!r}) may not read the event "
            f"topic(s) {', '.join(map(repr, refused))} ({needs}); leave them out of topics=",
        )
    return wanted


def message_of(event: events.Event) -> dict[str, Any]:
    """The stream message of an event (``time``: ISO 8601 UTC).

    Keys: ``id``, ``topic``, ``type``, ``subject``, ``actor``, ``time``, ``payload``.
    """
    return {
        "id": event.id,
        "topic": event.topic,
        "type": event.type,
        "subject": event.subject,
        "actor": event.actor,
        "time": event.at.isoformat(),
        "payload": dict(event.payload),
    }


def _limits(connection: Request | WebSocket) -> StreamLimits:
    limits: StreamLimits | None = getattr(connection.app.state, "stream_limits", None)
    return limits or StreamLimits()


def _since(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > _MAX_ID:
        raise ValidationError(
            f"since {value!r} must be an event id (an integer >= 0: the id of the last event "
            f"you handled, 0 for the whole log, at most {_MAX_ID}); leave it out for events from "
            "now on"
        )
    return int(value)


async def _close_feed(feed: events.Subscription) -> None:
    # closing the last subscription of a process stops the shared listener (a thread join):
    # in a worker thread, finished even if this task is being cancelled
    try:
        closing = asyncio.get_running_loop().run_in_executor(None, feed.close)
    except RuntimeError:  # the server is shutting down its executor: close here
        feed.close()
        return
    await asyncio.shield(closing)


def text_of(event: events.Event) -> str:
    """The JSON text of an event's stream message (:func:`message_of`), encoded once.

    Subscriptions that follow the shared tail of the log (:mod:`marsgis.events`) are handed
    the same event objects, so every connection of the process sends the one text encoded
    for the first of them. Keyed by the object (held, so its ``id`` cannot be reused).
    """
    hit = _TEXTS.get(id(event))
    if hit is not None and hit[0] is event:
        return hit[1]
    text = json.dumps(message_of(event), separators=(",", ":"), ensure_ascii=False)
    with _TEXTS_LOCK:
        if len(_TEXTS) >= _TEXTS_MAX:  # forget the oldest quarter
            for key in list(itertools.islice(_TEXTS, _TEXTS_MAX // 4)):
                del _TEXTS[key]
        _TEXTS[id(event)] = (event, text)
    return text


_TEXTS: dict[int, tuple[events.Event, str]] = {}
_TEXTS_MAX = 2 * events.TAIL_EVENTS
_TEXTS_LOCK = threading.Lock()
#: How often a connection whose send waits on its client checks how far behind it is.
STALL_CHECK_S = 0.05


async def _relay(
    feed: events.Subscription,
    limits: StreamLimits,
    send_event: Callable[[events.Event], Awaitable[None]],
    send_heartbeat: Callable[[int], Awaitable[None]],
    client_gone: Awaitable[None],
) -> int | None:
    """Send the events of ``feed`` to the client, straight from the feed, until it leaves.

    One task per connection takes every event ready at each wake-up (:meth:`Subscription.abatch
    <marsgis.events.Subscription.abatch>`) and sends them in turn. While a send waits on the
    client (its connection is full), a timer checks every :data:`STALL_CHECK_S` how many events
    wait for it: read but not yet sent, plus those the shared tail already holds beyond them.
    More than ``limits.queue``: the client is behind; the send is abandoned before it writes
    anything. Memory per connection stays bounded by the feed's batch.

    Returns the id of the last event delivered when the client fell behind, None when it left.
    """
    loop = asyncio.get_running_loop()
    position = feed.position
    batch: list[events.Event] = []
    sending = 0  # index in batch of the event being sent
    behind = False
    timer: asyncio.TimerHandle | None = None

    def check() -> None:
        nonlocal timer, behind
        waiting = len(batch) - sending - 1
        if waiting <= limits.queue:
            waiting += feed.waiting(limits.queue + 1 - waiting) or 0
        if waiting > limits.queue:
            behind = True
            deliverer.cancel()
        else:
            timer = loop.call_later(STALL_CHECK_S, check)

    async def deliver() -> None:
        nonlocal position, batch, sending, timer
        while True:
            batch = await feed.abatch(limits.heartbeat)
            if not batch:
                await send_heartbeat(position)
                continue
            timer = loop.call_later(STALL_CHECK_S, check)
            try:
                for index, event in enumerate(batch):
                    sending = index
                    await send_event(event)
                    position = event.id
            finally:
                if timer is not None:
                    timer.cancel()
                batch = []

    deliverer = asyncio.ensure_future(deliver())
    watcher = asyncio.ensure_future(client_gone)
    tasks = (deliverer, watcher)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if timer is not None:
            timer.cancel()
    if behind:
        return position
    if deliverer.done() and not deliverer.cancelled():
        error = deliverer.exception()
        if error is not None and not isinstance(error, OSError | WebSocketDisconnect):
            raise error
    return None


def _reason(detail: str) -> str:
    """A WebSocket close reason: at most 123 bytes of UTF-8."""
    return detail.encode()[:123].decode(errors="ignore")


# --------------------------------------------------------------------------- WebSocket


@router.websocket("/ws")
async def websocket_stream(websocket: WebSocket) -> None:
    """Follow the event log over a WebSocket (``?topics=a,b&since=ID&token=TOKEN``)."""
    try:
        principal = await asyncio.to_thread(identify, websocket, token_of(websocket))
        topics = readable_topics(principal, websocket.query_params.get("topics"))
        since = _since(websocket.query_params.get("since"))
        feed = await asyncio.to_thread(events.subscribe, topics, since, db=websocket.app.state.db)
    except HTTPException as refused:
        status, detail = refused.status_code, str(refused.detail)
    except MarsGISError as error:
        status, detail = status_for(error), str(error)
    else:
        await _serve_websocket(websocket, feed, _limits(websocket))
        return
    code = (
        CLOSE_TRY_LATER if status in (429, 503) else CLOSE_POLICY if status < 500 else CLOSE_ERROR
    )
    await websocket.accept()
    with contextlib.suppress(OSError, RuntimeError, WebSocketDisconnect):
        await websocket.send_json({"type": "error", "status": status, "detail": detail})
        await websocket.close(code, _reason(detail))


async def _serve_websocket(
    websocket: WebSocket, feed: events.Subscription, limits: StreamLimits
) -> None:
    async def client_gone() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # the client has nothing to say; its messages are ignored

    try:
        await websocket.accept()
        send = websocket.send_text

        async def heartbeat(position: int) -> None:
            await send(f'{{"type":"heartbeat","position":{position}}}')

        behind = await _relay(feed, limits, lambda e: send(text_of(e)), heartbeat, client_gone())
        if behind is not None:
            with contextlib.suppress(OSError, RuntimeError, WebSocketDisconnect, TimeoutError):
                resync = {"type": "resync", "since": behind}
                await asyncio.wait_for(websocket.send_json(resync), limits.drop_timeout)
                await asyncio.wait_for(
                    websocket.close(CLOSE_RESYNC, f"too far behind; reconnect with since={behind}"),
                    limits.drop_timeout,
                )
    except (OSError, WebSocketDisconnect):
        pass  # the client left
    finally:
        await _close_feed(feed)


# --------------------------------------------------------------------------- server-sent events


def _sse(item: dict[str, Any]) -> bytes:
    if item["type"] == "heartbeat":
        return f": heartbeat {item['position']}\n\n".encode()
    data = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    head = f"id: {item['id']}\n" if "id" in item else ""
    return f"{head}data: {data}\n\n".encode()


class EventStreamResponse(Response):
    """A ``text/event-stream`` response following one subscription until the client leaves."""

    media_type = "text/event-stream"

    def __init__(self, feed: events.Subscription, limits: StreamLimits) -> None:
        super().__init__(headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.feed = feed
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the events as they come; end with a resync message if the client falls behind."""

        async def write(chunk: bytes, *, more: bool = True) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await write(f": position {self.feed.position}\n\n".encode())
            behind = await _relay(
                self.feed,
                self.limits,
                lambda event: write(f"id: {event.id}\ndata: {text_of(event)}\n\n".encode()),
                lambda position: write(f": heartbeat {position}\n\n".encode()),
                client_gone(),
            )
            if behind is not None:
                with contextlib.suppress(OSError, TimeoutError):
                    resync = _sse({"type": "resync", "since": behind})
                    await asyncio.wait_for(write(resync, more=False), self.limits.drop_timeout)
        except OSError:
            pass  # the client left
        finally:
            await _close_feed(self.feed)


@router.get(
    "/sse",
    response_class=EventStreamResponse,
    status_code=200,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The events, as they come."},
        **{
            code: {"model": Problem, "content": {"application/problem+json": {}}}
            for code in (401, 403, 422)
        },
    },
)
def sse_stream(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    topics: Annotated[
        str | None,
        Query(description="Comma-separated topics (default: all those you may read)."),
    ] = None,
    since: Annotated[
        int | None,
        Query(ge=0, le=_MAX_ID, description="Events after this id (default: from now on)."),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=0,
            le=_MAX_ID,
            description="Resume after this id (wins over since).",
        ),
    ] = None,
) -> EventStreamResponse:
    """Follow the event log as server-sent events (``text/event-stream``)."""
    wanted = readable_topics(principal, topics)
    start = last_event_id if last_event_id is not None else since
    feed = events.subscribe(wanted, start, db=request.app.state.db)
    return EventStreamResponse(feed, _limits(request))
