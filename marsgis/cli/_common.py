"""What every CLI command shares: ``--json`` output, errors without tracebacks, progress."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from marsgis.exceptions import MarsGISError

__all__ = [
    "emit",
    "error_document",
    "fail",
    "feature_records",
    "handle_errors",
    "json_option",
    "to_jsonable",
]

F = TypeVar("F", bound=Callable[..., Any])


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON document instead of text (and no progress bars).",
)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths, NaN and nested containers to JSON-ready values."""
    # numpy is not imported here (the CLI's start-up): a numpy value exists only once it is
    np = sys.modules.get("numpy")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if np is not None and isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if np is not None and isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def feature_records(gdf: Any) -> list[dict[str, Any]]:
    """The rows of a GeoDataFrame without their geometry, JSON-ready (NaN as None)."""
    return [
        to_jsonable({k: v for k, v in row.items() if k != "geometry"})
        for row in gdf.to_dict("records")
    ]


def emit(result: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print ``result``: one JSON document with ``--json``, else ``text(result)`` or key: value lines."""
    if as_json:
        click.echo(json.dumps(to_jsonable(result), indent=2, sort_keys=False))
        return
    if text is not None:
        click.echo(text(result))
    elif isinstance(result, dict):
        for key, value in to_jsonable(result).items():
            click.echo(f"{key}: {value}")
    elif isinstance(result, list):
        for item in to_jsonable(result):
            click.echo(
                item
                if not isinstance(item, dict)
                else "  ".join(f"{k}={v}" for k, v in item.items())
            )
    else:
        click.echo(str(result))


def error_document(exc: BaseException, message: str | None = None) -> dict[str, Any]:
    """``{"error": {"type": <exception class>, "message": ...}}``: what ``--json`` prints on failure."""
    return {
        "error": {"type": type(exc).__name__, "message": str(exc) if message is None else message}
    }


def fail(exc: BaseException, *, as_json: bool, status: int, message: str | None = None) -> NoReturn:
    """Print ``error: <message>`` on stderr (and the error document with ``--json``) and exit."""
    text = str(exc) if message is None else message
    if as_json:
        click.echo(json.dumps(error_document(exc, text), indent=2))
    click.echo(f"error: {text}", err=True)
    sys.exit(status)


def handle_errors(func: F) -> F:
    """The one error path of every command: a message and an exit status, never a traceback.

    * a :class:`~marsgis.exceptions.MarsGISError` (bad input, missing data, a refused write)
      or an ``OSError`` (no permission, a full disk): ``error: <message>`` on stderr and exit
      status 2;
    * any other exception is a marsgis bug: ``error: internal error (<Type>: <message>);
      please report it`` and exit status 1.

    With ``--json`` the error is also one JSON document on stdout,
    ``{"error": {"type": "<exception class>", "message": "..."}}``. Click's own exceptions
    (usage errors, ``--help``, aborts) pass through to click (see :mod:`marsgis.cli`).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json", False))
        try:
            if as_json:  # one JSON document on stdout: no progress bars on stderr either
                from marsgis._options import set_options

                with set_options(progress=False):
                    return func(*args, **kwargs)
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (MarsGISError, OSError) as exc:  # OSError: the disk or a file, not a bug
            fail(exc, as_json=as_json, status=2)
        except Exception as exc:
            fail(
                exc,
                as_json=as_json,
                status=1,
                message=f"internal error ({type(exc).__name__}: {exc}); please report it",
            )

    return wrapper  # type: ignore[return-value]
