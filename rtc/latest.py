"""The shape both fan-outs share: a producer that runs while anyone watches and keeps only its newest output."""
from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from pipeline.frame_bus import FrameBus

T = TypeVar('T')


class LatestFanout(ABC, Generic[T]):
    """Runs `produce()` while watchers are attached; each watcher asks for the newest output after the one it had."""

    def __init__(self, bus: FrameBus) -> None:
        self.bus = bus
        self.latest: T | None = None
        self.latest_seq = 0
        self.watchers = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def attach(self) -> None:
        self.watchers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def detach(self) -> None:
        self.watchers -= 1
        if self.watchers <= 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def next(self, after_seq: int) -> T | None:
        """The newest output numbered above `after_seq` (None once the session ended or nobody watches)."""
        while True:
            if self.latest is not None and self.latest_seq > after_seq:
                return self.latest
            if self.bus.closed or self._task is None:
                return None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    def publish(self, value: T, seq: int) -> None:
        self.latest, self.latest_seq = value, seq
        self._changed.set()

    async def _run(self) -> None:
        try:
            await self.produce()
        except asyncio.CancelledError:
            pass
        finally:
            self._changed.set()

    @abstractmethod
    async def produce(self) -> None:
        """Make outputs (calling `publish`) while `watchers` > 0."""
