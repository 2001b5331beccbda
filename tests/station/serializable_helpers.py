"""Process-pool workers of the SERIALIZABLE / CockroachDB-flavour station tests.

Each worker runs one store call in its own process and reports, with the outcome, how many
times :func:`marsgis.db.run_transaction` retried it (its INFO records on the ``marsgis.db``
logger carry ``marsgis_retry``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from station_helpers import admit_worker, book_worker


class _RetryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "marsgis_retry"):
            self.retries += 1


@contextmanager
def counting_retries() -> Iterator[_RetryCounter]:
    """Count the retries logged by marsgis.db.run_transaction inside the block."""
    logger = logging.getLogger("marsgis.db")
    counter = _RetryCounter()
    logger.addHandler(counter)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield counter
    finally:
        logger.setLevel(level)
        logger.removeHandler(counter)


def _counted(fn: Callable[..., tuple[str, Any]], *args: Any) -> tuple[str, Any, int]:
    with counting_retries() as counter:
        kind, detail = fn(*args)
    return kind, detail, counter.retries


def counted_admit(
    url: str, passenger_id: int, colony_id: int, document_id: int, arrival: str
) -> tuple[str, Any, int]:
    """:func:`station_helpers.admit_worker`, and the retries it took."""
    return _counted(admit_worker, url, passenger_id, colony_id, document_id, arrival)


def counted_book(url: str, bay_id: int, start: str, end: str, who: str) -> tuple[str, Any, int]:
    """:func:`station_helpers.book_worker`, and the retries it took."""
    return _counted(book_worker, url, bay_id, start, end, who)
