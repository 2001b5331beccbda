"""Progress bars for long work, on stderr, one switch for all of them.

Landing-site searches (:func:`~marsgis.planning.search_landing_sites`, one step per candidate
ellipse), eligibility maps (:func:`~marsgis.planning.eligibility_map`, one step per
constraint), long traverses (:func:`~marsgis.planning.plan_traverse`, one step per leg and
per coarse-to-fine window), catalog downloads (:func:`~marsgis.catalog.fetch`, bytes) and the
terrain products of ``marsgis terrain`` (dask's own bar) report their progress here.

Whether a bar is drawn is the ``progress`` option (:func:`marsgis.set_options`):

* ``"auto"`` (the default): only when stderr is a terminal — never in tests, pipes, logs or
  papermill runs;
* ``True``: always (to a captured or redirected stderr too);
* ``False``: never. The CLI turns bars off under ``--json``.

>>> from marsgis import set_options
>>> from marsgis.progress import enabled, progress_iter
>>> with set_options(progress=False):
...     enabled()
False
>>> with set_options(progress=True):
...     enabled()
True
>>> list(progress_iter(range(3), desc="work"))   # "auto": a bar only on a terminal
[0, 1, 2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sized
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from marsgis._options import get_option

T = TypeVar("T")

__all__ = ["dask_progress_bar", "enabled", "progress_bar", "progress_iter"]


def enabled() -> bool:
    """Whether progress bars are drawn now (the ``progress`` option; ``"auto"``: stderr is a TTY)."""
    option = get_option("progress")
    if option == "auto":
        stream = sys.stderr
        return stream is not None and hasattr(stream, "isatty") and stream.isatty()
    return bool(option)


def progress_bar(*, total: float | None, desc: str, unit: str = "it", **kwargs: Any) -> Any:
    """A :class:`tqdm.tqdm` bar on stderr: drawn when :func:`enabled`, silent otherwise.

    Use it as a context manager and call ``bar.update(n)``; a disabled bar prints nothing
    (and does not count). ``kwargs`` go to tqdm (``unit_scale=True`` for bytes).
    """
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled(),
        dynamic_ncols=True,
        **kwargs,
    )


def progress_iter(
    iterable: Iterable[T], *, desc: str, unit: str = "it", total: float | None = None
) -> Iterator[T]:
    """Iterate ``iterable`` with a bar (one step per item) when :func:`enabled`.

    The bar closes when the loop ends (``total`` defaults to ``len(iterable)`` when it has one).
    """
    if total is None and isinstance(iterable, Sized):
        total = len(iterable)
    with progress_bar(total=total, desc=desc, unit=unit) as bar:
        for item in iterable:
            yield item
            bar.update(1)


def dask_progress_bar(minimum: float = 1.0) -> AbstractContextManager[Any]:
    """Dask's :class:`~dask.diagnostics.ProgressBar` on stderr when :func:`enabled`.

    It follows dask computations run with the local schedulers inside the ``with`` block and
    draws only those lasting longer than ``minimum`` seconds.
    """
    if not enabled():
        return nullcontext()
    from dask.diagnostics.progress import ProgressBar

    return ProgressBar(minimum=minimum, out=sys.stderr)
