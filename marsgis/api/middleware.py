"""The request context every response goes through (a plain ASGI middleware).

* ``X-Request-ID``: the client's (when it is a short token) or a new one, on every response and
  as the ``trace_id`` of every problem document;
* a body-size limit: a body longer than ``max_body_bytes`` is a ``413`` before any route runs;
* the last net: an exception no handler turned into a response is a ``500`` problem document
  with the trace id and nothing else (the traceback goes to the ``marsgis.api`` log);
* one access-log line per request, JSON, on the ``marsgis.api.access`` logger.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marsgis.api.problems import problem

__all__ = ["ACCESS_LOGGER", "RequestContextMiddleware"]

#: The logger of the access log (one JSON document per line).
ACCESS_LOGGER = "marsgis.api.access"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_log = logging.getLogger("marsgis.api")
_access = logging.getLogger(ACCESS_LOGGER)


class _BodyTooLargeError(Exception):
    pass


class RequestContextMiddleware:
    """Request id, body limit, last-resort 500 and access log (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection (HTTP only; other scopes pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, declared = "", ""
        for key, value in scope["headers"]:  # only the two headers read here are decoded
            name = key.lower()
            if name == b"x-request-id":
                given = value.decode("latin-1")
            elif name == b"content-length":
                declared = value.decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        path = scope.get("path", "")
        over = {"limit": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                status["sent"] = True
                message["headers"] = [
                    *[
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() != b"x-request-id"
                    ],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        async def app_send(message: Message) -> None:
            if not over["limit"]:  # the app's answer to a cut-off body is replaced by the 413
                await send_with_id(message)

        received = {"bytes": 0}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
                if received["bytes"] > self.max_body_bytes:
                    over["limit"] = True
                    raise _BodyTooLargeError
            return message

        async def reply(code: int, detail: str) -> None:
            response = problem(code, detail, trace_id=request_id, instance=path)
            await response(scope, receive, send_with_id)

        try:
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                over["limit"] = True
            else:
                await self.app(scope, limited_receive, app_send)
        except _BodyTooLargeError:
            pass
        except Exception:
            if not over["limit"]:
                _log.exception(
                    "unhandled error in %s %s (trace id %s)", scope["method"], path, request_id
                )
                if not status["sent"]:
                    await reply(500, f"internal error; report it with trace id {request_id}")
        finally:
            if over["limit"] and not status["sent"]:
                await reply(413, self._too_large())
            self._log(scope, state, status["code"], started, request_id)

    def _too_large(self) -> str:
        return (
            f"the request body is larger than {self.max_body_bytes} bytes; send a smaller document"
        )

    @staticmethod
    def _log(
        scope: Scope, state: dict[str, Any], code: int, started: float, request_id: str
    ) -> None:
        if not _access.isEnabledFor(logging.INFO):
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or scope.get("path", "")
        principal = state.get("principal")
        _access.info(
            json.dumps(
                {
                    "principal": getattr(principal, "name", None),
                    "method": scope.get("method"),
                    "route": template,
                    "path": scope.get("path"),
                    "status": code,
                    "duration_ms": round((time.perf_counter() - started) * 1000.0, 3),
                    "request_id": request_id,
                }
            )
        )
