"""The control-to-frame latency of a running session, measured on its own frames, and the lead it gives."""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import numpy as np

WINDOW = 60  # latencies kept for the median
MIN_TIMED = 5  # timed changes (beat pulses, quantized changes) needed before they are trusted over the rest
MAX_PENDING = 64  # changes waiting for their first frame
STALE_AFTER = 2.0  # seconds: a change whose frame never came (paused, idle) is forgotten
MAX_LEAD_MS = 1000.0


class LatencyMeter:
    """Every parameter change is noted with its version; the first frame carrying that version (or a newer one)
    closes it. The median of the recent latencies is how early beat-synced changes fire, plus a manual trim.

    Changes that come in step with the worker (a 30 Hz loop against 30 fps) wait less for the next chunk than a beat
    does, which falls anywhere between two chunks; so once there are a few, only timed changes (beat pulses and
    quantized changes, marked with `timed`) count."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.pending: deque[tuple[int, float, bool]] = deque(maxlen=MAX_PENDING)
        self.samples: deque[float] = deque(maxlen=WINDOW)
        self.timed_samples: deque[float] = deque(maxlen=WINDOW)
        self.timed_next = False
        self.compensate = True
        self.trim_ms = 0.0

    def changed(self, version: int) -> None:
        """A parameter change made version `version` (called by the session's state, from any thread)."""
        with self.lock:
            self.pending.append((version, self.clock(), self.timed_next))
            self.timed_next = False

    def timed(self) -> None:
        """The next change is a timed one (a beat pulse, a quantized change)."""
        self.timed_next = True

    def frame(self, version: int) -> None:
        """A frame made with parameters of `version` was published (called from the worker thread)."""
        now = self.clock()
        with self.lock:
            while self.pending and self.pending[0][0] <= version:
                _, changed, timed = self.pending.popleft()
                if now - changed < STALE_AFTER:
                    (self.timed_samples if timed else self.samples).append(now - changed)

    @property
    def measured_ms(self) -> float | None:
        """The median latency of recent changes (None before any frame carried one)."""
        samples = self._samples()
        return round(1000 * float(np.median(samples)), 1) if samples else None

    def _samples(self) -> list[float]:
        with self.lock:
            return list(self.timed_samples) if len(self.timed_samples) >= MIN_TIMED else list(self.samples)

    @property
    def lead_ms(self) -> float:
        """How early beat-synced changes fire: the measured latency (if compensating) plus the trim."""
        measured = self.measured_ms if self.compensate else None
        return min(MAX_LEAD_MS, max(0.0, (measured or 0.0) + self.trim_ms))

    @property
    def lead(self) -> float:
        return self.lead_ms / 1000

    def to_dict(self) -> dict[str, object]:
        samples = self._samples()
        p95 = round(1000 * float(np.percentile(samples, 95)), 1) if samples else None
        return {'measured_ms': self.measured_ms, 'p95_ms': p95, 'samples': len(samples),
                'timed': len(self.timed_samples) >= MIN_TIMED,
                'compensate': self.compensate, 'trim_ms': self.trim_ms, 'lead_ms': round(self.lead_ms, 1)}
