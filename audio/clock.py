"""The audio loop's tick clock: what it is (`TickClock`), and the real one (absolute deadlines, missed ticks
skipped, periods and jitter recorded)."""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

import numpy as np


class TickClock(Protocol):
    """What the audio loop runs on: the time it reads, and a wait for the next tick (tests drive their own)."""

    period: float

    def start(self) -> None:
        """Begin ticking: the first tick is one period from now."""

    def now(self) -> float:
        """The current time in seconds (sources play on it)."""

    def wait(self, stop: threading.Event) -> float | None:
        """Block until the next tick; its time, or None when `stop` was set meanwhile."""

    def figures(self) -> dict[str, float | int | None]:
        """Ticks so far, missed ticks, mean period and jitter (for status and benchmarks)."""


class SteadyClock:
    """Wakes at start + k x period on the monotonic clock; a tick that comes too late skips the deadlines it missed."""

    def __init__(self, rate: float, history: int = 300) -> None:
        self.period = 1.0 / rate
        self.wakes: deque[float] = deque(maxlen=history)
        self.start()

    def start(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started
        self.ticks = 0
        self.missed = 0
        self.wakes.clear()

    def now(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event) -> float | None:
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
