"""The shape both fan-outs share: a producer that runs while anyone watches and keeps only its newest output."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from pipeline.frame_bus import FrameBus

T = TypeVar('T')
log = logging.getLogger(__name__)
MAX_RESTARTS = 3  # failures in a row that are retried with a fresh encoder before the watchers are told it failed


class LatestFanout(ABC, Generic[T]):
    """Runs `produce()` while watchers are attached; each watcher asks for the newest output after the one it had.

    When `produce()` fails it starts again with a fresh encoder (`restart()`); after `MAX_RESTARTS` failures in a
    row it gives up: `error` says why and every waiter gets None.
    """

    name = 'encoder'

    def __init__(self, bus: FrameBus) -> None:
        self.bus = bus
        self.latest: T | None = None
        self.latest_seq = 0
        self.watchers = 0
        self.error: str | None = None
        self.failures = 0  # in a row; an output resets the count
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def attach(self) -> None:
        self.watchers += 1
        if self._task is None or self._task.done():
            if self.error is not None:  # a new watcher after a failure: try again from scratch
                self.error, self.failures = None, 0
                self.restart()
            self._task = asyncio.ensure_future(self._run())

    def detach(self) -> None:
        self.watchers -= 1
        if self.watchers <= 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def next(self, after_seq: int) -> T | None:
        """The newest output numbered above `after_seq` (None once the session ended, nobody watches, or it failed)."""
        while True:
            if self.error is not None:
                return None
            if self.latest is not None and self.latest_seq > after_seq:
                return self.latest
            if self.bus.closed or self._task is None:
                return None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # not wait_for: on 3.11 it drops a cancel that meets a frame
                    await self._changed.wait()

    def publish(self, value: T, seq: int) -> None:
        self.latest, self.latest_seq = value, seq
        self.failures = 0
        self._changed.set()

    async def _run(self) -> None:
        try:
            while True:
                try:
                    await self.produce()
                    return
                except Exception as error:
                    self.failures += 1
                    if self.failures > MAX_RESTARTS:
                        log.exception('%s failed %d times in a row; its viewers are stopped', self.name, self.failures)
                        self.error = f'Video encoding failed ({self.name}): {type(error).__name__}: {error}'
                        return
                    log.warning('%s failed (%s: %s); starting a fresh one', self.name, type(error).__name__, error)
                    self.restart()
        except asyncio.CancelledError:
            pass
        finally:
            self.release()  # nobody watches (or the session ended): free the codec's buffers now
            self._changed.set()

    @abstractmethod
    async def produce(self) -> None:
        """Make outputs (calling `publish`) while `watchers` > 0; returns when done, raises when the encoder fails."""

    @abstractmethod
    def release(self) -> None:
        """Free what the encoder holds; the next output opens it again."""

    @abstractmethod
    def restart(self) -> None:
        """Replace the encoder with a fresh one; `produce()` goes on after the frame that failed."""
