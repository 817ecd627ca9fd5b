"""A steady tick clock: absolute deadlines (no drift), missed ticks skipped, periods and jitter recorded."""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class SteadyClock:
    """Wakes at start + k x period; a tick that comes too late skips the deadlines it missed."""

    def __init__(self, rate: float, history: int = 300) -> None:
        self.period = 1.0 / rate
        self.started = time.monotonic()
        self.ticks = 0
        self.missed = 0
        self.deadline = self.started
        self.wakes: deque[float] = deque(maxlen=history)

    def wait(self, stop: threading.Event) -> float | None:
        """Sleep until the next deadline; the wake time, or None when `stop` was set meanwhile."""
        self.deadline += self.period
        now = time.monotonic()
        if now > self.deadline + self.period:  # fell behind by more than a tick: realign, don't burst
            skipped = int((now - self.deadline) / self.period)
            self.missed += skipped
            self.deadline += skipped * self.period
        delay = self.deadline - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return None
        if stop.is_set():
            return None
        woke = time.monotonic()
        self.wakes.append(woke)
        self.ticks += 1
        return woke

    def figures(self) -> dict[str, float | int | None]:
        """Mean period and p99 jitter (|period - nominal|) over the recent ticks, in milliseconds."""
        wakes = list(self.wakes)  # one atomic copy: the loop thread keeps appending
        periods = np.diff(np.asarray(wakes)) * 1000 if len(wakes) > 2 else None
        if periods is None:
            return {'ticks': self.ticks, 'missed': self.missed, 'period_mean_ms': None, 'jitter_p99_ms': None}
        jitter = np.abs(periods - self.period * 1000)
        return {'ticks': self.ticks, 'missed': self.missed, 'period_mean_ms': round(float(periods.mean()), 3),
                'jitter_p99_ms': round(float(np.percentile(jitter, 99)), 3)}
