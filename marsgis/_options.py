"""Runtime options: a validated registry that also works as a context manager.

Modelled on rioxarray's ``_options.py``::

    with marsgis.set_options(max_slope_deg=20):
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from marsgis.exceptions import InvalidOptionError

__all__ = ["get_option", "set_options"]


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _slope_limit(value: Any) -> bool:
    return _positive_number(value) and value < 90


def _chunk_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 64


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _on_off_auto(value: Any) -> bool:
    return isinstance(value, bool) or value == "auto"


# name -> (default, validator, description)
_OPTIONS: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "max_slope_deg": (25.0, _slope_limit, "a number of degrees in (0, 90)"),
    "chunk_size": (2048, _chunk_size, "an integer >= 64 (pixels per dask chunk side)"),
    "progress": (
        "auto",
        _on_off_auto,
        "True, False or 'auto' (progress bars on stderr for long work; 'auto': when a terminal)",
    ),
    "verify_checksums": (True, _bool, "True or False (check sha256 of shipped data on load)"),
}

_current: dict[str, Any] = {name: spec[0] for name, spec in _OPTIONS.items()}


def get_option(name: str) -> Any:
    """Return the current value of option ``name``."""
    if name not in _current:
        raise InvalidOptionError(f"unknown option {name!r}; known options: {sorted(_OPTIONS)}")
    return _current[name]


class set_options:  # noqa: N801 - used like a function, as in xarray/rioxarray
    """Set runtime options globally, or for a ``with`` block.

    Options
    -------
    max_slope_deg
        Default slope limit of traverse planning (25°, under Curiosity's 30° limit).
    chunk_size
        Side of the dask chunks used when opening large rasters lazily (2048).
    progress
        Progress bars on stderr for long work (landing-site searches, large traverses,
        eligibility maps, catalog downloads): True, False, or ``"auto"`` (the default: only
        when stderr is a terminal, so never in tests, pipes or logs). See
        :mod:`marsgis.progress`.
    verify_checksums
        Check the sha256 of shipped datasets when they are opened (True).
    """

    def __init__(self, **kwargs: Any) -> None:
        self._previous: dict[str, Any] = {}
        for name, value in kwargs.items():
            if name not in _OPTIONS:
                raise InvalidOptionError(
                    f"unknown option {name!r}; known options: {sorted(_OPTIONS)}"
                )
            _default, validator, expected = _OPTIONS[name]
            if not validator(value):
                raise InvalidOptionError(f"option {name!r} got {value!r}; expected {expected}")
        for name, value in kwargs.items():
            self._previous[name] = _current[name]
            _current[name] = value

    def __enter__(self) -> set_options:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.update(self._previous)
