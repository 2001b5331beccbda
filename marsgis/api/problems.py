"""Errors are data: RFC 9457 problem documents built from the marsgis exception tree.

One table (:data:`STATUS_BY_ERROR`) maps each :mod:`marsgis.exceptions` class to an HTTP status;
the most specific class in an exception's MRO wins, and the message is kept as ``detail``. Every
document carries ``trace_id``, the request's ``X-Request-ID``. Anything that is not a marsgis
error is a ``500`` that says only the trace id (the traceback goes to the server log).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from marsgis import exceptions as exc

__all__ = ["PROBLEM_JSON", "STATUS_BY_ERROR", "install_handlers", "problem", "status_for"]

PROBLEM_JSON = "application/problem+json"

#: marsgis exception class -> HTTP status (the most specific class in the MRO wins).
STATUS_BY_ERROR: Mapping[type[BaseException], int] = {
    exc.PermissionDeniedError: 403,
    exc.NotFoundError: 404,
    exc.DataNotFoundError: 404,
    exc.ConcurrencyError: 409,
    exc.StateTransitionError: 409,
    exc.ValidationError: 422,
    # the station (docs/api.md "Station"): conflicts with the state of the station are 409,
    # a refused admission names the rule that failed (422), a full colony is a conflict (409)
    exc.StationError: 409,
    exc.BookingConflictError: 409,
    exc.CapacityExceededError: 409,
    exc.AdmissionRefusedError: 422,
    exc.SeparationOfDutiesError: 403,
    exc.DatabaseError: 503,
    exc.MarsGISError: 400,
}


def status_for(error: BaseException) -> int:
    """The HTTP status of a marsgis error (500 for anything else).

    >>> status_for(exc.CoordinateError("lat 99")), status_for(KeyError("x"))
    (422, 500)
    """
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def problem(
    status: int,
    detail: str,
    *,
    trace_id: str,
    instance: str,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "trace_id": trace_id,
        **(extra or {}),
    }
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def _trace_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


async def _marsgis_error(request: Request, error: Exception) -> JSONResponse:
    status = status_for(error)
    if isinstance(error, exc.ConcurrencyError) and request.headers.get("if-match"):
        status = 412  # the precondition the client stated is what failed
    return problem(
        status,
        str(error),
        trace_id=_trace_id(request),
        instance=request.url.path,
        type_=f"urn:marsgis:error:{type(error).__name__}",
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return problem(
        error.status_code,
        str(error.detail),
        trace_id=_trace_id(request),
        instance=request.url.path,
        headers=error.headers,
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in error.errors()
    ]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
    return problem(
        422,
        f"the request is not valid: {detail}",
        trace_id=_trace_id(request),
        instance=request.url.path,
        extra={"errors": errors},
    )


def install_handlers(app: FastAPI) -> None:
    """Register the one marsgis handler and the HTTP and request-validation handlers."""
    app.add_exception_handler(exc.MarsGISError, _marsgis_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
