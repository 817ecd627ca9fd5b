"""Shared fixtures: a real server process per test module, and aiortc clients of it."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

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
