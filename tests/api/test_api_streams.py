"""``/api/v1/streams``: the event log over WebSocket and server-sent events, on a real uvicorn.

Every stream is compared with the log itself (:func:`marsgis.events.read_events`): the same
events, in id order, with the actor the API recorded. Clients are real: the ``websockets``
library, ``httpx`` streaming, and for the slow client ``websockets``' own protocol over a plain
socket that is read only when the test decides to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import h11
import httpx
import pytest
import uvicorn
from api_service import ROLES, Service, marsgis_serve
from fastapi import FastAPI
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.sync.client import connect
from websockets.uri import parse_uri

from marsgis import db
from marsgis.api import create_app
from marsgis.api.auth import Principal
from marsgis.api.routers.streams import CLOSE_POLICY, CLOSE_RESYNC, readable_topics
from marsgis.api.scopes import REPORTS_READ, TOPIC_SCOPES, scopes_for_role
from marsgis.events import EVENT_TOPICS, last_event_id, read_events

WS = "/api/v1/streams/ws"
SSE = "/api/v1/streams/sse"
MISSIONS = "/api/v1/missions"
CREATE_BODY = {"name": "Jezero delta", "target": {"type": "Point", "coordinates": [77.45, 18.44]}}
WAIT_S = 60.0  # bound on every wait for a message: generous, never asserted


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def serve(app: FastAPI, *, sndbuf: int | None = None) -> Iterator[int]:
    """``app`` on a real uvicorn on a free loopback port (its own thread); yields the port.

    ``sndbuf`` sets the send buffer of the connections (inherited from the listening socket),
    so that a client that does not read fills it quickly.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sndbuf is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", ws_ping_interval=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(WAIT_S)
        listener.close()


def ws_url(base: str, **params: Any) -> str:
    """``ws://.../streams/ws?...`` for an ``http://HOST:PORT`` or ``.../api/v1`` base."""
    root = base.removesuffix("/api/v1").replace("http://", "ws://", 1)
    return f"{root}{WS}?{urlencode(params)}"


def key(message: dict[str, Any]) -> tuple[Any, ...]:
    return (message["id"], message["topic"], message["type"], message["subject"], message["actor"])


def expected(url: str, since: int, topics: str) -> list[tuple[Any, ...]]:
    """The log's own answer, as stream message keys."""
    return [
        (e.id, e.topic, e.type, e.subject, e.actor)
        for e in read_events(since, topics, limit=10_000, db=url)
    ]


def receive_events(ws: Any, count: int) -> list[dict[str, Any]]:
    """The next ``count`` event messages of a ``websockets`` client (heartbeats skipped)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = json.loads(ws.recv(timeout=WAIT_S))
        if message["type"] != "heartbeat":
            found.append(message)
    return found


def refusal(url: str, **kwargs: Any) -> tuple[dict[str, Any], int, str]:
    """The error message, close code and reason of a refused WebSocket handshake."""
    with connect(url, **kwargs) as ws:
        message = json.loads(ws.recv(timeout=WAIT_S))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=WAIT_S)
    assert closed.value.rcvd is not None
    return message, closed.value.rcvd.code, closed.value.rcvd.reason


def sse_messages(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The messages of an SSE response: ``{"id": ..., "data": ...}`` or ``{"comment": ...}``."""
    fields: dict[str, Any] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                yield fields
            fields = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def sse_events(messages: Iterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    found = []
    while len(found) < count:
        message = next(messages)
        if "data" in message:
            data = json.loads(message["data"])
            assert message["id"] == str(data["id"])
            found.append(data)
    return found


class LazyClient:
    """A WebSocket client that reads its socket only when asked (a client that fell behind).

    ``websockets``' sans-I/O protocol over a plain socket with a small receive buffer: until
    :meth:`messages` is called nothing is read, so the server's sends back up at once.
    """

    def __init__(self, url: str, *, rcvbuf: int = 4096) -> None:
        uri = parse_uri(url)
        self.sock = socket.create_connection((uri.host, uri.port), timeout=WAIT_S)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.protocol = ClientProtocol(uri, max_size=None)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self.texts: deque[str] = deque()
        while not any(isinstance(e, Response) for e in self._read()):
            pass
        assert self.protocol.handshake_exc is None

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.sock.sendall(chunk)

    def _read(self) -> list[Any]:
        data = self.sock.recv(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self._flush()
        found = self.protocol.events_received()
        self.texts.extend(
            e.data.decode() for e in found if isinstance(e, Frame) and e.opcode is Opcode.TEXT
        )
        return found

    def messages(self) -> tuple[list[dict[str, Any]], int | None]:
        """Everything until the connection ends, and the close code received (None: none)."""
        while self.protocol.state.name != "CLOSED":
            self._read()
        self.sock.close()
        close = self.protocol.close_rcvd
        return [json.loads(t) for t in self.texts], None if close is None else close.code


def _auth(service: Service, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.tokens[role]}"}


# --------------------------------------------------------------------------- WebSocket


def test_websocket_follows_changes_made_through_the_api(service: Service, tmp_path: Path) -> None:
    """A status change by the operator reaches a viewer's WebSocket with the operator as actor;
    ``since`` replays exactly the log after it."""
    with marsgis_serve(service.url, tmp_path) as base:
        made = httpx.post(
            f"{base}/missions", json=CREATE_BODY, headers=_auth(service, "scientist"), timeout=30
        )
        assert made.status_code == 201, made.text
        mission = made.json()
        since = last_event_id(service.url)
        url = ws_url(base, topics="missions", since=since)
        with connect(url, additional_headers=_auth(service, "viewer")) as ws:
            moved = httpx.put(
                f"{base}/missions/{mission['id']}/status",
                json={"status": "active", "note": "go"},
                headers={**_auth(service, "operator"), "If-Match": made.headers["etag"]},
                timeout=30,
            )
            assert moved.status_code == 200, moved.text
            patched = httpx.patch(
                f"{base}/missions/{mission['id']}",
                json={"description": "sample the delta"},
                headers={**_auth(service, "scientist"), "If-Match": moved.headers["etag"]},
                timeout=30,
            )
            assert patched.status_code == 200, patched.text
            got = receive_events(ws, 2)
        log = expected(service.url, since, "missions")
        assert [key(m) for m in got] == log
        assert [(m["type"], m["actor"]) for m in got] == [
            ("mission.status_changed", "operator-user"),
            ("mission.updated", "scientist-user"),
        ]
        assert got[0]["subject"] == mission["id"]
        assert (got[0]["payload"]["from"], got[0]["payload"]["to"]) == ("planned", "active")
        stored = read_events(since, "missions", db=service.url)[0]
        assert got[0]["time"] == stored.at.isoformat()
        assert got[0]["payload"] == stored.payload
        # the creation was recorded with the scientist as actor too (the require() dependency)
        created = read_events(since - 1, "missions", limit=1, db=service.url)[0]
        assert (created.type, created.actor) == ("mission.created", "scientist-user")

        # resume after the first event: exactly the rest, and nothing more
        resume = ws_url(base, topics="missions", since=got[0]["id"], token=service.tokens["viewer"])
        with connect(resume) as ws:
            again = receive_events(ws, len(log) - 1)
            with pytest.raises(TimeoutError):
                ws.recv(timeout=1.0)  # bounded: the heartbeat is 15 s away
        assert [key(m) for m in again] == expected(service.url, got[0]["id"], "missions")


def test_websocket_refuses_a_bad_or_missing_token(service: Service) -> None:
    with serve(service.app) as port:
        base = f"http://127.0.0.1:{port}"
        for params in ({}, {"token": "mgs_not-a-token"}, {"token": service.tokens["viewer"] + "x"}):
            message, code, reason = refusal(ws_url(base, topics="missions", **params))
            assert (message["type"], message["status"], code) == ("error", 401, CLOSE_POLICY)
            assert "token" in reason
        bad_header = {"Authorization": "Bearer mgs_forged"}
        message, code, _ = refusal(ws_url(base), additional_headers=bad_header)
        assert (message["status"], code) == (401, CLOSE_POLICY)
        # bad parameters are refused the same way, after a valid token
        for params in (
            {"topics": "weather"},
            {"since": "-3"},
            {"since": "x"},
            {"since": str(2**63)},
        ):
            message, code, reason = refusal(ws_url(base, token=service.tokens["viewer"], **params))
            assert (message["status"], code) == (422, CLOSE_POLICY), message
            assert next(iter(params.values())) in message["detail"]


def test_sse_refuses_a_bad_or_missing_token(service: Service) -> None:
    for headers in ({}, {"Authorization": "Bearer mgs_forged"}):
        response = service.call("GET", SSE, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"
    response = service.call("GET", SSE, role="viewer", params={"topics": "weather"})
    assert response.status_code == 422 and "weather" in response.json()["detail"]
    for bad in ({"since": -1}, {"since": 2**63}):
        assert service.call("GET", SSE, role="viewer", params=bad).status_code == 422
    big = {"Last-Event-ID": str(2**63)}
    assert service.call("GET", SSE, role="viewer", headers=big).status_code == 422


# --------------------------------------------------------------------------- scopes


def test_topic_scopes_cover_every_topic() -> None:
    assert set(TOPIC_SCOPES) == set(EVENT_TOPICS)
    reader = Principal("ada", "none", frozenset({REPORTS_READ}), "hub:x")
    assert readable_topics(reader, None) == ("reports", "schedules")
    assert readable_topics(reader, "*") == ("reports", "schedules")
    assert readable_topics(reader, "schedules,reports") == ("reports", "schedules")


def _readable(role: str) -> list[str]:
    return [t for t in EVENT_TOPICS if TOPIC_SCOPES[t] in scopes_for_role(role) or role == "admin"]


def test_every_role_may_follow_every_topic_it_may_read(service: Service) -> None:
    """Each role is served every topic its scopes cover (ROLE_SCOPES × TOPIC_SCOPES)."""
    with serve(service.app) as port:
        for role in ROLES:
            topics = ",".join(_readable(role))
            url = ws_url(f"http://127.0.0.1:{port}", topics=topics, since=0)
            with connect(url, additional_headers=_auth(service, role)) as ws:
                db.add_task(_mission(service.url), f"task for {role}", db=service.url)
                events = receive_events(ws, 1)
            assert events[0]["type"] in ("mission.created", "task.added")
            with httpx.stream(
                "GET",
                f"http://127.0.0.1:{port}{SSE}",
                params={"topics": topics},
                headers=_auth(service, role),
                timeout=WAIT_S,
            ) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                first = next(sse_messages(response))
            assert first == {"comment": f"position {last_event_id(service.url)}"}


def _mission(url: str) -> str:
    found = db.list_missions(db=url)
    return found[0].id if found else db.add_mission("Gale", lat=-4.6, lon=137.4, db=url).id


def test_a_topic_the_caller_may_not_read_is_refused(service: Service) -> None:
    """A viewer's token asking for a topic outside its scopes: refused; the rest served."""
    refused_topic = next(t for t in EVENT_TOPICS if t not in _readable("viewer"))
    with serve(service.app) as port:
        base = f"http://127.0.0.1:{port}"
        before = last_event_id(service.url)
        message, code, reason = refusal(
            ws_url(base, topics=f"missions,{refused_topic}", token=service.tokens["viewer"])
        )
        assert (message["status"], code) == (403, CLOSE_POLICY)
        assert f"'{refused_topic}'" in message["detail"] and refused_topic in reason
        assert "'missions'" not in message["detail"].split("needs")[0].split("topic(s)")[1]
        refused = httpx.get(
            f"{base}{SSE}",
            params={"topics": refused_topic},
            headers=_auth(service, "viewer"),
            timeout=WAIT_S,
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert f"'{refused_topic}'" in refused.json()["detail"]
        # what the viewer may read it gets; with no topics, only those
        with httpx.stream(
            "GET", f"{base}{SSE}", headers=_auth(service, "viewer"), timeout=WAIT_S
        ) as response:
            assert response.status_code == 200
            assert next(sse_messages(response)) == {"comment": f"position {before}"}
        assert last_event_id(service.url) == before  # refusals wrote nothing


# --------------------------------------------------------------------------- server-sent events


def test_sse_follows_and_resumes_with_last_event_id(service: Service, tmp_path: Path) -> None:
    with marsgis_serve(service.url, tmp_path) as base:
        since = last_event_id(service.url)
        headers = _auth(service, "viewer")
        with httpx.stream(
            "GET",
            f"{base}/streams/sse",
            params={"topics": "missions,tasks", "since": since},
            headers=headers,
            timeout=WAIT_S,
        ) as response:
            assert response.status_code == 200
            assert response.headers["cache-control"] == "no-cache"
            made = httpx.post(
                f"{base}/missions",
                json=CREATE_BODY,
                headers=_auth(service, "scientist"),
                timeout=30,
            )
            assert made.status_code == 201, made.text
            moved = httpx.put(
                f"{base}/missions/{made.json()['id']}/status",
                json={"status": "active"},
                headers=_auth(service, "admin"),
                timeout=30,
            )
            assert moved.status_code == 200, moved.text
            got = sse_events(sse_messages(response), 2)
        assert [key(m) for m in got] == expected(service.url, since, "missions,tasks")
        assert [(m["type"], m["actor"]) for m in got] == [
            ("mission.created", "scientist-user"),
            ("mission.status_changed", "admin-user"),
        ]
        # a browser's EventSource reconnects to the same URL with Last-Event-ID: that wins
        with httpx.stream(
            "GET",
            f"{base}/streams/sse",
            params={"topics": "missions,tasks", "since": 0},
            headers={**headers, "Last-Event-ID": str(got[0]["id"])},
            timeout=WAIT_S,
        ) as response:
            again = sse_events(sse_messages(response), 1)
        assert [key(m) for m in again] == expected(service.url, got[0]["id"], "missions,tasks")


# --------------------------------------------------------------------------- slow clients


def test_a_slow_client_is_dropped_while_a_fast_one_gets_everything(service: Service) -> None:
    """A client that does not read gets ``resync`` and close 4000 (after what it was sent);
    resuming from the resync id gives the rest; a reading client meanwhile gets all, in order."""
    count = 600
    mission = db.add_mission("Gale", lat=-4.6, lon=137.4, db=service.url).id
    app = create_app(service.url, rate_limit="off", stream_queue=8, stream_heartbeat=WAIT_S)
    # give the test all the time it needs to start reading before the final message is dropped
    app.state.stream_limits = dataclasses.replace(app.state.stream_limits, drop_timeout=300.0)
    since = last_event_id(service.url)
    with serve(app, sndbuf=4096) as port:
        base = f"http://127.0.0.1:{port}"
        params = {"topics": "tasks", "since": since, "token": service.tokens["viewer"]}
        slow = LazyClient(ws_url(base, **params))
        fast: list[dict[str, Any]] = []
        failure: list[BaseException] = []

        def read_all() -> None:
            try:
                with connect(ws_url(base, **params), max_size=None) as ws:
                    fast.extend(receive_events(ws, count))
            except BaseException as error:  # reported by the assertion below
                failure.append(error)

        reader = threading.Thread(target=read_all)
        reader.start()
        title = "survey the rim of the crater " * 6
        for start in range(0, count, 50):
            with db.transaction(service.url, write=True) as conn:
                for i in range(start, start + 50):
                    db.add_task(mission, f"{i:04d} {title}", db=conn)
        reader.join(WAIT_S * 5)
        assert not reader.is_alive() and not failure, failure
        log = expected(service.url, since, "tasks")
        assert len(log) == count
        assert [key(m) for m in fast] == log

        received, code = slow.messages()
        *events, last = received
        assert last["type"] == "resync", last
        assert code == CLOSE_RESYNC
        assert 0 < len(events) < count  # dropped long before the end ...
        assert [key(m) for m in events] == log[: len(events)]  # ... after a prefix, in order
        assert last["since"] == events[-1]["id"]
        # resuming from the resync id gives exactly the rest
        with connect(ws_url(base, **{**params, "since": last["since"]}), max_size=None) as ws:
            rest = receive_events(ws, count - len(events))
        assert [key(m) for m in events + rest] == log


def test_heartbeats_carry_the_position(service: Service) -> None:
    """With no event to send, both streams send heartbeats; WebSocket ones say where to resume."""
    app = create_app(service.url, rate_limit="off", stream_heartbeat=0.2)
    mission = db.add_mission("Gale", lat=-4.6, lon=137.4, db=service.url).id
    since = last_event_id(service.url)
    with serve(app) as port:
        base = f"http://127.0.0.1:{port}"
        with connect(
            ws_url(base, topics="tasks", since=since - 1, token=service.tokens["viewer"])
        ) as ws:
            beats = [json.loads(ws.recv(timeout=WAIT_S)) for _ in range(2)]
            db.add_task(mission, "drive", db=service.url)
            event = receive_events(ws, 1)[0]
            beat = json.loads(ws.recv(timeout=WAIT_S))
        # the mission's own event is not a task: the position stays at since - 1 until one comes
        assert beats == [{"type": "heartbeat", "position": since - 1}] * 2
        assert event["type"] == "task.added" and beat == {
            "type": "heartbeat",
            "position": event["id"],
        }
        with httpx.stream(
            "GET",
            f"{base}{SSE}",
            params={"topics": "tasks"},
            headers=_auth(service, "viewer"),
            timeout=WAIT_S,
        ) as response:
            messages = sse_messages(response)
            assert next(messages) == {"comment": f"position {event['id']}"}
            assert next(messages) == {"comment": f"heartbeat {event['id']}"}


class LazyHTTP:
    """An HTTP/1.1 GET (h11 over a plain socket) whose response is read only when asked."""

    def __init__(
        self, port: int, target: str, headers: dict[str, str], *, rcvbuf: int = 4096
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method="GET", target=target, headers=[("Host", f"127.0.0.1:{port}"), *headers.items()]
        )
        self.sock.sendall(self.conn.send(request) + self.conn.send(h11.EndOfMessage()))

    def body(self) -> tuple[int, str]:
        """The status and the whole body, read until the server ends the response."""
        status, chunks = 0, []
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                self.sock.close()
                return status, b"".join(chunks).decode()


def test_a_slow_sse_client_is_told_to_resync(service: Service) -> None:
    """An SSE client that does not read: its response ends with a resync message after a
    prefix of the log, while the log goes on."""
    count = 600
    mission = db.add_mission("Gale", lat=-4.6, lon=137.4, db=service.url).id
    app = create_app(service.url, rate_limit="off", stream_queue=8, stream_heartbeat=WAIT_S)
    app.state.stream_limits = dataclasses.replace(app.state.stream_limits, drop_timeout=300.0)
    since = last_event_id(service.url)
    with serve(app, sndbuf=4096) as port:
        slow = LazyHTTP(port, f"{SSE}?topics=tasks&since={since}", _auth(service, "viewer"))
        title = "survey the rim of the crater " * 6
        for start in range(0, count, 50):
            with db.transaction(service.url, write=True) as conn:
                for i in range(start, start + 50):
                    db.add_task(mission, f"{i:04d} {title}", db=conn)
        status, text = slow.body()
    assert status == 200
    blocks = [b for b in text.split("\n\n") if b and not b.startswith(":")]
    messages = [json.loads(b.partition("data: ")[2]) for b in blocks]
    *events, last = messages
    log = expected(service.url, since, "tasks")
    assert len(log) == count and 0 < len(events) < count
    assert [key(m) for m in events] == log[: len(events)]
    assert last == {"type": "resync", "since": events[-1]["id"]}


# --------------------------------------------------------------------------- server restart


class Follower(threading.Thread):
    """A client that follows the missions topic and, whenever its stream breaks or is refused,
    reconnects with ``since`` = the last id it handled (SSE: ``Last-Event-ID``), until it has
    seen ``target`` (set by the test once the writer is done). ``ids``: what it handled."""

    def __init__(self, base: str, token: str, since: int, *, sse: bool) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.position, self.sse = base, token, since, sse
        self.ids: list[int] = []
        self.connections = 0
        self.target: int | None = None
        self.failure: BaseException | None = None

    def done(self) -> bool:
        return self.target is not None and self.position >= self.target

    def handle(self, message: dict[str, Any]) -> bool:
        """False when the stream must be left (a resync or an error message)."""
        if message["type"] == "resync":
            self.position = message["since"]
            return False
        if message["type"] == "error":
            return False
        self.ids.append(message["id"])
        self.position = message["id"]
        return True

    def follow_ws(self) -> None:
        url = ws_url(self.base, topics="missions", since=self.position, token=self.token)
        with connect(url, open_timeout=WAIT_S) as ws:
            while not self.done():
                try:
                    message = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                if message["type"] != "heartbeat" and not self.handle(message):
                    return

    def follow_sse(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Last-Event-ID": str(self.position)}
        timeout = httpx.Timeout(WAIT_S, read=0.5)
        with httpx.stream(
            "GET", f"{self.base}/streams/sse?topics=missions", headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                return  # refused while the database is down (503): try again
            with contextlib.suppress(httpx.ReadTimeout):
                for message in sse_messages(response):
                    if "data" in message and not self.handle(json.loads(message["data"])):
                        return
                    if self.done():
                        return
            # a read timeout: nothing for 0.5 s; reconnecting costs nothing and ends the loop
            # once done() (a stream that is quiet but alive is simply opened again)

    def run(self) -> None:
        deadline = time.monotonic() + 4 * WAIT_S
        try:
            while not self.done():
                assert time.monotonic() < deadline, f"stuck at {self.position}"
                self.connections += 1
                try:
                    self.follow_sse() if self.sse else self.follow_ws()
                except (ConnectionClosed, OSError, httpx.TransportError):
                    time.sleep(0.1)
        except BaseException as error:  # reported by the test
            self.failure = error


@pytest.mark.postgis
def test_api_clients_lose_no_event_over_a_postgresql_restart(
    private_postgres: Any, tmp_path: Path
) -> None:
    """``marsgis serve`` (real uvicorn) on a private cluster; a WebSocket and an SSE client
    follow the missions while a writer adds them; ``pg_ctl restart -m fast`` half way. Each
    client, reconnecting with ``since`` / ``Last-Event-ID`` when its stream breaks, handles
    exactly the log's ids, in order."""
    from private_postgres import MissionWriter, log_of_the_missions

    from marsgis.db import tokens

    url = private_postgres.url
    db.upgrade(url)
    token = tokens.create_token("viewer-user", "viewer", db=url)[1]
    db.add_mission("Gale", lat=-4.6, lon=137.4, db=url)
    start = last_event_id(url)
    count = 45
    with marsgis_serve(url, tmp_path) as base:
        clients = [Follower(base, token, start, sse=sse) for sse in (False, True)]
        for client in clients:
            client.start()
        writer = MissionWriter(url, count, wait_s=WAIT_S)
        writer.start()
        assert writer.paused.wait(WAIT_S)
        for _ in range(int(WAIT_S / 0.05)):  # both have followed the first third (bounded)
            if all(len(c.ids) == count // 3 for c in clients):
                break
            time.sleep(0.05)
        assert [len(c.ids) for c in clients] == [count // 3] * 2
        threading.Timer(0.05, writer.resume.set).start()  # writes race the shutdown
        private_postgres.restart()
        writer.resume.set()
        writer.join(WAIT_S * 2)
        assert not writer.is_alive() and writer.failure is None, writer.failure
        log = log_of_the_missions(url, start, writer.acknowledged)
        for client in clients:
            client.target = log[-1]
        for client in clients:
            client.join(WAIT_S * 4)
            assert not client.is_alive() and client.failure is None, client.failure
    assert len(log) >= count
    for client in clients:
        assert client.ids == log, ("sse" if client.sse else "ws", client.connections)
