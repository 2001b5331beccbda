"""The app under test and how to call it (shared by the tests in tests/api)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

__all__ = ["ROLES", "Service", "marsgis_serve", "run_async"]

CLI = str(Path(sys.executable).parent / "marsgis")

ROLES = ("admin", "scientist", "operator", "viewer")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def marsgis_serve(db_url: str, folder: Path, *options: str) -> Iterator[str]:
    """A real ``marsgis serve`` (uvicorn) on a free loopback port, stopped at the end.

    Yields the API's base URL (``http://127.0.0.1:PORT/api/v1``) once ``/health`` answers; the
    server's output (the JSON access log) is ``folder / "serve.log"``; ``options`` are more
    ``marsgis serve`` options (``"--workers", "2"``).
    """
    port = _free_port()
    env = {**os.environ, "MARSGIS_DATA_DIR": str(folder / "data")}
    with (folder / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--url", db_url, *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/health", timeout=5)
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail((folder / "serve.log").read_text())
                    time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


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
