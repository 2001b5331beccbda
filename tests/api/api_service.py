"""The app under test and how to call it (shared by the tests in tests/api)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

__all__ = ["ROLES", "Service", "run_async"]

ROLES = ("admin", "scientist", "operator", "viewer")


def run_async(coro: Any) -> Any:
    """Run ``coro`` on a private event loop.

    ``asyncio.run`` leaves the thread without a current event loop when it returns, which
    breaks later tests that ask for one (ipywidgets' dashboards do); a private loop leaves
    the thread's loop as it was.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@dataclass
class Service:
    """The app, its database URL and a token per role; ``call`` sends one request."""

    url: str
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def call(
        self, method: str, path: str, *, role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, path, headers=headers, **kwargs)

        return run_async(send())
