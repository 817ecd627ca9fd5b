"""Shared fixtures: a real server process per test module, and aiortc clients of it."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from .scope_client import ScopeClient
from .server import RunningServer


@pytest.fixture(scope='session')
def server() -> Iterator[RunningServer]:
    """A server with the CPU pipeline loaded, shared by the tests that do not change its settings."""
    running = RunningServer()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ScopeClient]:
    """A Scope client of the shared server."""
    scope_client = ScopeClient(server.url)
    yield scope_client
    await scope_client.close()


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """An HTTP client of the shared server."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope='session')
def limited_server() -> Iterator[RunningServer]:
    """A server without a pipeline whose uploads are limited to 1 MB."""
    running = RunningServer(pipeline='none', env={'DREAMSTAGE_MAX_UPLOAD_MB': '1'})
    try:
        running.wait_ready(loaded=False)
        yield running
    finally:
        running.stop()
