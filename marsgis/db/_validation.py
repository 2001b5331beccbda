"""Argument checks of the mission store.

Each returns the clean value or raises a marsgis error naming the bad value and what is accepted.
"""

from __future__ import annotations

import json
import math
import numbers
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from marsgis.crs import validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import lon180

#: Longest mission name (and ``changed_by``), characters.
NAME_MAX = 200


def mission_id(value: Any) -> str:
    """A mission id in canonical UUID form."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    raise ValidationError(
        f"{value!r} is not a mission id (a UUID like '1b4e28ba-2fa1-41d2-883f-0016d3cca427'); "
        "list the ids with marsgis.db.list_missions() or `marsgis mission list`"
    )


def name(value: Any, what: str = "mission name") -> str:
    """A non-empty name (mission name, task title, ...) of at most :data:`NAME_MAX` characters.

    Surrounding blanks are trimmed.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} {value!r} must be a non-empty string")
    clean = value.strip()
    if len(clean) > NAME_MAX:
        raise ValidationError(
            f"{what} {clean[:40]!r}... has {len(clean)} characters; keep it to {NAME_MAX}"
        )
    return clean


def text(value: Any, what: str, *, optional: bool) -> str | None:
    """A string (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{what} {value!r} must be a string")
    return value


def choice(value: Any, what: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
    return value


def score(value: Any, what: str) -> float | None:
    """A fraction in [0, 1], or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{what} {value!r} must be a number in [0, 1] or None")
    score = float(value)
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise ValidationError(f"{what} {value!r} is outside [0, 1]; give a fraction such as 0.8")
    return score


def json_value(value: Any, what: str) -> Any:
    """``value`` as it reads back from JSON (finite numbers only)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{what} {value!r} is not JSON-serialisable ({exc}); use dicts with string keys, "
            "lists, strings, finite numbers, booleans and None"
        ) from exc
    return json.loads(text)


def json_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object (None gives ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} {value!r} must be a dict (a JSON object) or None")
    result: dict[str, Any] = json_value(dict(value), what)
    return result


def objectives(value: Any) -> list[Any]:
    """A JSON list of objectives (None gives ``[]``); a lone string is refused."""
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(
            f"objectives {value!r} must be a list of objectives, e.g. ['image the delta']"
        )
    result: list[Any] = json_value(list(value), "objectives")
    return result


def version(value: Any) -> int:
    """An ``expected_version``: an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValidationError(
            f"expected_version {value!r} must be the mission's version (an integer >= 1) as "
            "returned by get_mission"
        )
    return int(value)


def latlon(lat: Any, lon: Any) -> tuple[float, float]:
    """One validated target; longitude in [−180, 180) without touching values already there."""
    lat_a, _ = validate_latlon(lat, lon)
    if lat_a.ndim != 0:
        raise ValidationError(f"give one latitude and one longitude, not {lat!r}, {lon!r}")
    return float(lat_a), float(lon180(float(np.asarray(lon, dtype=np.float64))))


def finite(value: Any, what: str) -> float:
    """A finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{what} {value!r} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(f"{what} {value!r} must be finite")
    return number
