"""What every CLI command shares: ``--json`` output, errors without tracebacks, progress."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np

from marsgis.exceptions import MarsGISError

__all__ = ["emit", "handle_errors", "json_option", "to_jsonable"]

F = TypeVar("F", bound=Callable[..., Any])


def _json_quiets_progress(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """``--json``: no progress bars for the rest of the command (:mod:`marsgis.progress`)."""
    if value:
        from marsgis._options import set_options

        ctx.with_resource(set_options(progress=False))
    return value


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=_json_quiets_progress,
    help="Print one JSON document instead of text.",
)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths, NaN and nested containers to JSON-ready values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
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


def handle_errors(func: F) -> F:
    """Turn marsgis errors into ``error: <message>`` on stderr and exit status 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MarsGISError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
