"""Latest-frame fan-out from the worker thread to everything on the event loop that shows frames."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class OutputFrame:
    """One generated frame, with the wall-clock time it was made and the parameter version it carries."""

    image: np.ndarray
    seq: int
    time: float
    version: int


class FrameBus:
    """Holds the newest frame; async consumers wait for one newer than the last they took (slow ones skip)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.latest: OutputFrame | None = None
        self.closed = False
        self._seq = 0
        self._lock = threading.Lock()
        self._changed = asyncio.Event()
        self.listeners: list[Callable[[OutputFrame], None]] = []  # told of each frame, on the worker thread

    def publish(self, image: np.ndarray, version: int) -> OutputFrame:
        """Make a frame the newest one (called from the worker thread)."""
        with self._lock:
            self._seq += 1
            frame = OutputFrame(image, self._seq, time.time(), version)
            if not self.closed:
                self.latest = frame
        for listener in list(self.listeners):
            listener(frame)
        self._call_on_loop(self._changed.set)
        return frame

    async def next(self, after_seq: int, timeout: float | None = None) -> OutputFrame | None:
        """The newest frame with a sequence number above `after_seq`, or None on timeout or close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.closed:
            frame = self.latest
            if frame is not None and frame.seq > after_seq:
                return frame
            self._changed.clear()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                async with asyncio.timeout(remaining):  # not wait_for: on 3.11 it drops a cancel that meets a frame
                    await self._changed.wait()
            except TimeoutError:
                return None
        return None

    def close(self) -> None:
        """End the stream; the last picture is let go now rather than whenever the garbage collector gets to it."""
        with self._lock:
            self.closed = True
            self.latest = None
        self._call_on_loop(self._changed.set)

    def _call_on_loop(self, callback: object) -> None:
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            callback()  # type: ignore[operator]
        else:
            self.loop.call_soon_threadsafe(callback)  # type: ignore[arg-type]
