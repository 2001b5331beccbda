"""schemathesis against the real app's OpenAPI document: every operation, as admin.

The schema is the app's own ``/api/v1/openapi.json``, read through the ASGI app, so every
router the app includes is covered without naming it here. For each operation schemathesis
generates a bounded, derandomised set of valid requests (hypothesis, ``MAX_EXAMPLES`` each)
and checks each response: not a 5xx, a documented status code and content type, and a body
that conforms to the documented schema. All operations run (a failure in one does not hide
the others) and the failures are reported together.

(``schemathesis.pytest.from_fixture`` is not used: its lazy loader sets a private pytest
attribute that pytest 9 no longer has.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from api_service import Service
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marsgis.api import API_PREFIX

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 10


def _check_operation(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _is_stream(operation: Any) -> bool:
    """An event stream (``text/event-stream``) never ends: tests/api/test_api_streams.py
    follows it on a real server instead."""
    ok = operation.definition.raw.get("responses", {}).get("200", {})
    return "text/event-stream" in ok.get("content", {})


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return "\n".join(_describe(e) for e in error.exceptions)
    return f"{type(error).__name__}: {error}"[:2000]


def test_every_operation_answers_within_its_schema(service: Service) -> None:
    schema = schemathesis.openapi.from_asgi(f"{API_PREFIX}/openapi.json", service.app)
    headers = {"Authorization": f"Bearer {service.tokens['admin']}"}
    failures: dict[str, str] = {}
    count = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if _is_stream(operation):
            continue
        count += 1
        try:
            _check_operation(operation, headers)
        except (
            Exception,
            BaseExceptionGroup,
        ) as error:  # every operation runs; all failures are reported below
            failures[operation.label] = _describe(error)
    assert count >= 10, f"the schema has only {count} operations"
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
