"""Source values that arrive from outside (OSC, MIDI, the XY pad) and the names the matrix can read."""
from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from audio.features import FEATURE_NAMES

TEMPO_SOURCES = {'tempo.beat': 'a pulse on every beat', 'tempo.bar': 'a pulse on every downbeat',
                 'tempo.phase': 'position in the beat, 0..1', 'tempo.bar_phase': 'position in the bar, 0..1'}
AUDIO_SOURCES = {f'audio.{name}': f'audio feature {name}' for name in FEATURE_NAMES}
XY_SOURCES = {'xy.x': 'XY pad, left to right', 'xy.y': 'XY pad, bottom to top'}


@dataclass(slots=True)
class Seen:
    """A source that has sent a value: its latest value, a label, and when (monotonic time)."""

    value: float
    label: str
    at: float


class SourceBoard:
    """The latest value of every outside source (thread-safe); OSC and MIDI write, every matrix reads."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.seen: dict[str, Seen] = {}

    def set(self, name: str, value: float, label: str | None = None) -> bool:
        """Set a source's value; False (and nothing set) for a value that is not a finite number."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        with self.lock:
            self.seen[name] = Seen(float(value), label or name, self.clock())
        return True

    def values(self) -> dict[str, float]:
        with self.lock:
            return {name: seen.value for name, seen in self.seen.items()}

    def labels(self) -> dict[str, str]:
        with self.lock:
            return {name: seen.label for name, seen in self.seen.items()}

    def latest(self) -> tuple[str, Seen] | None:
        """The source that moved last."""
        with self.lock:
            if not self.seen:
                return None
            return max(self.seen.items(), key=lambda item: item[1].at)
