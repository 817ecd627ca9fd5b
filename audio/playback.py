"""Real-time playback of a signal: one clock shared by the analyser and the audio track peers hear."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .features import SAMPLE_RATE
from .signals import Signal

DECODE_AHEAD = SAMPLE_RATE  # samples decoded ahead of the play position
MAX_BLOCK = SAMPLE_RATE  # a tick never analyses more than the last second (after a stall)


class Playback:
    """A signal playing from `started` on a clock (the audio loop's): position = elapsed time x sample rate."""

    def __init__(self, signal: Signal, clock: Callable[[], float] = time.monotonic) -> None:
        self.signal = signal
        self.clock = clock
        self.started = clock()

    def restart(self, clock: Callable[[], float]) -> None:
        """Play from the beginning, now, on `clock`."""
        self.clock = clock
        self.started = clock()

    def position(self, now: float | None = None) -> int:
        """The sample being played at `now` (seconds on the clock; default: its current time)."""
        return int(((self.clock() if now is None else now) - self.started) * SAMPLE_RATE)

    @property
    def seconds(self) -> float:
        return max(0.0, self.clock() - self.started)


class PlaybackSource:
    """A file or generated signal played in real time: peers hear it, the analyser gets the block being played now."""

    def __init__(self, kind: str, description: str, signal: Signal, lookahead: float = 0.0) -> None:
        self.kind = kind
        self.description = description
        self.signal = signal
        self.lookahead = int(lookahead * SAMPLE_RATE)
        self.playback: Playback | None = Playback(signal)
        self.cursor = 0

    def start(self, clock: Callable[[], float]) -> None:
        """Start playing now, on the audio loop's clock."""
        self.playing.restart(clock)
        self.cursor = 0

    @property
    def playing(self) -> Playback:
        """The playback (this source always has one)."""
        assert self.playback is not None
        return self.playback

    def pull(self, now: float) -> np.ndarray:
        """The mono samples from the last pull up to the play position (plus the lookahead)."""
        end = self.playing.position(now) + self.lookahead
        self.signal.prepare(end + DECODE_AHEAD)
        start = max(self.cursor, end - MAX_BLOCK)
        self.cursor = max(self.cursor, end)
        if end <= start:
            return np.zeros(0, np.float32)
        return self.signal.read(start, end).mean(axis=1)

    @property
    def ended(self) -> bool:
        return bool(getattr(self.signal, 'ended', False)) and self.cursor >= getattr(self.signal, 'decoded', 0)

    def stop(self) -> None:
        """Release the signal."""
        self.signal.close()

    def details(self) -> dict[str, float | None]:
        return {'position_seconds': round(self.playing.seconds, 3),
                'duration_seconds': getattr(self.signal, 'duration', None)}
