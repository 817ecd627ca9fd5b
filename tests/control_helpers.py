"""Helpers for control tests: a clock the test moves, and a session on the grey `still` pipeline."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pipeline.protocol import LoadContext, LoadParams
from pipeline.session import Session

from .still_pipeline import StillPipeline
from .waiting import PATIENCE

T = TypeVar('T')


class DrivenClock:
    """Monotonic time that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def still_session(**initial: object) -> Session:
    """A session on the still pipeline (call inside a running event loop); nothing renders until it is started."""
    context = LoadContext(Path('/nonexistent'), Path('/nonexistent'), Path('/nonexistent'))
    return Session(StillPipeline(LoadParams(), context), pipeline_id='still', initial=dict(initial))


def wait_for(condition: Callable[[], T | None], timeout: float = PATIENCE, interval: float = 0.05) -> T | None:
    """The first truthy result of `condition`, polled until `timeout` seconds pass (then None)."""
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


async def eventually(condition: Callable[[], Awaitable[T | None]], timeout: float = PATIENCE) -> T | None:
    """`wait_for` for async conditions."""
    deadline = time.monotonic() + timeout
    while True:
        if result := await condition():
            return result
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.05)
