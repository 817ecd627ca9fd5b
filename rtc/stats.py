"""Server-side figures for benchmarks and the studio: video encode time per frame and event-loop lag."""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class EncodeStats:
    """CPU seconds spent encoding video (once per session and codec, in the loop's thread pool)."""

    frames: int = 0
    seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.frames += 1
        self.seconds += seconds


@dataclass(slots=True)
class LoopLag:
    """How late the event loop wakes a 10 ms timer (samples of the last minute at most)."""

    samples: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=6000))

    async def watch(self, interval: float = 0.01) -> None:
        while True:
            begun = time.perf_counter()
            await asyncio.sleep(interval)
            now = time.perf_counter()
            self.samples.append((now, max(0.0, now - begun - interval)))

    def summary(self, window: float = 10.0) -> dict[str, float]:
        """Percentiles of the lag over the last `window` seconds."""
        since = time.perf_counter() - window
        samples = list(self.samples)  # one atomic copy: the loop keeps appending while a worker thread reads
        values = sorted(lag for at, lag in samples if at >= since)
        if not values:
            return {}
        return {'p50_ms': round(1000 * values[len(values) // 2], 3),
                'p99_ms': round(1000 * values[min(len(values) - 1, int(len(values) * 0.99))], 3),
                'max_ms': round(1000 * values[-1], 3)}


ENCODE = EncodeStats()
LOOP_LAG = LoopLag()


def server_figures() -> dict[str, Any]:
    """Process CPU time, encode totals and loop lag."""
    return {'process_cpu_seconds': round(time.process_time(), 3), 'encode_frames': ENCODE.frames,
            'encode_cpu_seconds': round(ENCODE.seconds, 4), 'loop_lag': LOOP_LAG.summary()}
