"""Waiting for a condition with a generous deadline: tests wait for what they expect, never for a fixed time."""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar('T')
PATIENCE = 60.0  # seconds: long enough for a busy machine; a test that passes never waits for all of it
LOADING = 300.0  # seconds a server start or a pipeline load may take when every core is busy


def wait_until(condition: Callable[[], T | None], timeout: float = PATIENCE, interval: float = 0.05) -> T | None:
    """The first truthy result of `condition`, polled until `timeout` seconds pass (then None)."""
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


@overload
async def until(condition: Callable[[], Awaitable[T | None]], timeout: float = ...,
                interval: float = ...) -> T | None: ...


@overload
async def until(condition: Callable[[], T | None], timeout: float = ..., interval: float = ...) -> T | None: ...


async def until(condition: Callable[[], object], timeout: float = PATIENCE, interval: float = 0.05) -> object:
    """The first truthy result of `condition` (a function or a coroutine function), polled on the event loop until
    `timeout` seconds pass (then None)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(interval)
