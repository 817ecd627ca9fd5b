"""Musical time: a timeline (beats as a function of time), the beat state clients see, and bar arithmetic."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Protocol

QuantizeMode = Literal['none', 'beat', 'bar', '2_bar', '4_bar']
QUANTIZE_MODES: tuple[QuantizeMode, ...] = ('none', 'beat', 'bar', '2_bar', '4_bar')
MIN_BPM, MAX_BPM = 20.0, 300.0


class TempoError(RuntimeError):
    """A tempo source that cannot do what was asked (set the tempo of a MIDI clock, open a missing device)."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """Beats as a straight line through time: `beat` at monotonic time `origin`, `bpm` beats a minute from there."""

    origin: float
    beat: float
    bpm: float

    def beat_at(self, t: float) -> float:
        """The beat (0 at the start of the first bar, fractional) at monotonic time `t`."""
        return self.beat + (t - self.origin) * self.bpm / 60.0

    def time_of(self, beat: float) -> float:
        """The monotonic time at which `beat` falls."""
        return self.origin + (beat - self.beat) * 60.0 / self.bpm

    def rebased(self, t: float, bpm: float) -> Timeline:
        """The same beat position at `t`, going on at another tempo (no jump in the beat)."""
        return Timeline(t, self.beat_at(t), bpm)


@dataclass(frozen=True, slots=True)
class BeatState:
    """Where the music is at one moment, in the shape of Scope's `beat_state`."""

    bpm: float
    beat: float
    beats_per_bar: int
    is_playing: bool
    source: str

    @property
    def beat_count(self) -> int:
        return math.floor(self.beat)

    @property
    def beat_phase(self) -> float:
        return self.beat - math.floor(self.beat)

    @property
    def bar_position(self) -> float:
        """Beats into the current bar (0 up to `beats_per_bar`)."""
        return self.beat % self.beats_per_bar

    def to_dict(self) -> dict[str, Any]:
        return {'bpm': round(self.bpm, 3), 'beat_phase': round(self.beat_phase, 4),
                'bar_position': round(self.bar_position, 4), 'beat_count': self.beat_count,
                'is_playing': self.is_playing, 'source': self.source, 'beat': round(self.beat, 4)}


class TempoSource(Protocol):
    """Something that knows where the beat is: Ableton Link, a MIDI clock, the music the audio engine hears."""

    name: str

    def timeline(self, now: float) -> Timeline | None:
        """Where the beat is around `now` (None while the source knows no tempo, e.g. a stopped MIDI clock)."""
        ...

    def playing(self, now: float) -> bool: ...

    def set_tempo(self, bpm: float, now: float) -> None:
        """Change the tempo (TempoError where the source follows someone else's tempo)."""
        ...

    def info(self) -> dict[str, Any]:
        """What the studio and `/api/v1/tempo/status` show about the source (peers, device, ...)."""
        ...

    def close(self) -> None: ...


class InternalTempo:
    """A steady tempo of our own: set by hand, or the fallback LFOs follow when no tempo source is on."""

    name = 'internal'

    def __init__(self, bpm: float = 120.0, now: float = 0.0) -> None:
        self.line = Timeline(now, 0.0, bpm)

    def timeline(self, now: float) -> Timeline:
        return self.line

    def playing(self, now: float) -> bool:
        return True

    def set_tempo(self, bpm: float, now: float) -> None:
        self.line = self.line.rebased(now, bpm)

    def info(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        """Nothing to release."""


def quantum(mode: QuantizeMode, beats_per_bar: int) -> float:
    """Beats between two boundaries of a quantize mode (0 for `none`)."""
    return {'none': 0.0, 'beat': 1.0, 'bar': float(beats_per_bar), '2_bar': 2.0 * beats_per_bar,
            '4_bar': 4.0 * beats_per_bar}[mode]


def next_boundary(line: Timeline, now: float, unit: float, lead: float = 0.0) -> float:
    """The first boundary (a multiple of `unit` beats) that can still be reached when firing `lead` seconds early."""
    earliest = line.beat_at(now + lead)
    boundary = math.floor(earliest / unit + 1e-9) * unit
    if boundary <= earliest + 1e-9:
        boundary += unit
    return boundary
