"""Frame pacing for pipelines that make several frames per call: one frame per period, from its own thread."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

Publish = Callable[[np.ndarray, int, dict[str, Any]], None]


class FramePacer:
    """Publishes queued frames one period apart while the worker computes the next chunk.

    The worker hands over a chunk when the previous one is all handed out, so the next chunk's frames follow
    the last one by exactly one period (no gap, no burst) whenever the pipeline is faster than playback; when it is
    slower, each chunk starts at once and its frames are still spread over its duration.
    """

    def __init__(self, publish: Publish, period: float, *, clock: Callable[[], float] = time.monotonic,
                 abort: threading.Event | None = None, name: str = 'frame-pacer') -> None:
        self.publish, self.period, self.clock = publish, period, clock
        self.abort = abort or threading.Event()  # the owner's stop signal: a waiting `put` gives up at once
        self.queue: deque[tuple[np.ndarray, int, dict[str, Any]]] = deque()
        self.last_published: float | None = None
        self.stopped = threading.Event()
        self._changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def put(self, frames: list[np.ndarray], version: int, values: dict[str, Any]) -> bool:
        """Queue a chunk's frames once the previous chunk's are all handed out; False when stopped meanwhile."""
        with self._changed:
            while self.queue and not self.stopped.is_set() and not self.abort.is_set():
                self._changed.wait(0.1)
            if self.stopped.is_set() or self.abort.is_set():
                return False
            self.queue.extend((frame, version, values) for frame in frames)
            self._changed.notify_all()
        return True

    def stop(self) -> None:
        self.stopped.set()
        with self._changed:
            self.queue.clear()
            self._changed.notify_all()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(2)

    def next_due(self) -> float:
        """When the next frame is due: one period after the last one, or now when that has passed."""
        now = self.clock()
        return now if self.last_published is None else max(now, self.last_published + self.period)

    def publish_next(self, wait: Callable[[float], bool]) -> bool:
        """Hand out the next queued frame at its due time (`wait(seconds)` returns True when stopped meanwhile)."""
        with self._changed:
            while not self.queue and not self.stopped.is_set():
                self._changed.wait(0.5)
            if self.stopped.is_set():
                return False
            frame, version, values = self.queue.popleft()
            self._changed.notify_all()
        due = self.next_due()
        delay = due - self.clock()
        if delay > 0 and wait(delay):
            return False
        self.last_published = due  # the schedule, not the wake-up time: late wake-ups do not add up
        self.publish(frame, version, values)
        return True

    def _run(self) -> None:
        while self.publish_next(self.stopped.wait):
            pass
