"""Incoming video frames for video-to-video: a short latest-wins queue between the network and the worker."""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

import numpy as np


class InputFrame(Protocol):
    """A decoded input frame that can be converted to RGB at a given size (off the event loop)."""

    def to_rgb(self, width: int | None, height: int | None) -> np.ndarray: ...


class InputQueue:
    """Keeps the newest `capacity` frames; older ones are dropped so latency stays bounded."""

    def __init__(self, capacity: int = 8) -> None:
        self.frames: deque[InputFrame] = deque(maxlen=capacity)
        self.received = 0
        self.last_received = 0.0  # time.monotonic() of the newest frame
        self._ready = threading.Condition()

    def put(self, frame: InputFrame) -> None:
        with self._ready:
            self.frames.append(frame)
            self.received += 1
            self.last_received = time.monotonic()
            self._ready.notify_all()

    def take(self, count: int, timeout: float) -> list[InputFrame] | None:
        """`count` frames spread over what is queued (the newest last), or None if too few arrive in time."""
        with self._ready:
            if not self._ready.wait_for(lambda: len(self.frames) >= count, timeout):
                return None
            queued = list(self.frames)
            self.frames.clear()
        step = len(queued) / count
        return [queued[min(len(queued) - 1, int((i + 1) * step) - 1)] for i in range(count)]
