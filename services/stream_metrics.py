"""A stream's figures from real measurements: frame rates in and out, frames made, input-to-output latency."""
from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field

from pipeline.session import Session

WINDOW = 5.0  # seconds of samples the rates are measured over


@dataclass(slots=True)
class StreamMetrics:
    """Samples of a stream's frame counters (one per tick), and the rates they give."""

    samples: deque[tuple[float, int, int]] = field(default_factory=lambda: deque(maxlen=64))

    def sample(self, session: Session, now: float | None = None) -> None:
        """Record the session's frame counters now."""
        now = time.monotonic() if now is None else now
        self.samples.append((now, session.inputs.received, frames_made(session)))
        while len(self.samples) > 2 and now - self.samples[0][0] > WINDOW:
            self.samples.popleft()

    def rates(self) -> tuple[float, float]:
        """Frames per second in (from the publisher) and out (made by the pipeline) over the last seconds."""
        if len(self.samples) < 2:
            return 0.0, 0.0
        (t0, in0, out0), (t1, in1, out1) = self.samples[0], self.samples[-1]
        span = max(t1 - t0, 1e-6)
        return round((in1 - in0) / span, 2), round((out1 - out0) / span, 2)


def frames_made(session: Session) -> int:
    """Every frame the session's pipelines made (the frame bus numbers them)."""
    latest = session.bus.latest
    return latest.seq if latest is not None else 0


def last_input_time(session: Session) -> float | None:
    """Wall-clock time of the newest input frame (None before the first)."""
    queue = session.inputs
    if not queue.received:
        return None
    return time.time() - (time.monotonic() - queue.last_received)


def gpu_memory_mb() -> float | None:
    """CUDA memory this process holds, when torch is loaded and a GPU is present (None otherwise)."""
    torch = sys.modules.get('torch')
    try:
        if torch is not None and torch.cuda.is_available():
            return round(torch.cuda.memory_allocated() / 2**20, 1)
    except Exception:
        return None
    return None
