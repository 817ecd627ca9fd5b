"""The server's tempo: one source at a time (Link, MIDI clock, the music, or a tempo set by hand), as in Scope."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .link import link_available
from .tempo import BeatState, InternalTempo, TempoError, TempoSource, Timeline

SOURCE_NAMES = {'link': 'Ableton Link', 'midi_clock': 'MIDI Clock', 'audio': 'Audio engine (detected or analysed)',
                'internal': 'Internal (set by hand)'}


@dataclass(slots=True)
class TempoRequest:
    """What `enable` asks for (Scope's TempoEnableRequest, plus Dreamstage's sources)."""

    source: str
    bpm: float = 120.0
    beats_per_bar: int = 4
    midi_device: str | None = None
    session_id: str | None = None  # audio: whose audio engine to follow (default: the one started last)


SourceFactory = Callable[[TempoRequest, float], TempoSource]


class TempoSync:
    """Owns the active tempo source; every session's control engine reads its timeline (thread-safe)."""

    def __init__(self, clock: Callable[[], float], factories: dict[str, SourceFactory] | None = None,
                 availability: Callable[[], dict[str, Any]] | None = None) -> None:
        self.clock = clock
        self.factories: dict[str, SourceFactory] = {'internal': lambda request, now: InternalTempo(request.bpm, now),
                                                    **(factories or {})}
        self.availability = availability
        self.source: TempoSource | None = None
        self.beats_per_bar = 4
        self.fallback = InternalTempo(120.0, clock())  # what synced LFOs follow while no source is on
        self.lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.source is not None

    def enable(self, request: TempoRequest) -> None:
        """Switch to a source (the previous one is closed); TempoError when it cannot be used here."""
        factory = self.factories.get(request.source)
        if factory is None:
            raise TempoError(f'unknown tempo source {request.source!r}; choose one of {sorted(self.factories)}')
        source = factory(request, self.clock())
        with self.lock:
            previous, self.source = self.source, source
            self.beats_per_bar = request.beats_per_bar
        if previous is not None and previous is not source:
            previous.close()

    def disable(self) -> None:
        with self.lock:
            previous, self.source = self.source, None
        if previous is not None:
            previous.close()

    def set_tempo(self, bpm: float) -> None:
        """Set the tempo of the active source (TempoError when it follows someone else, or none is on)."""
        now = self.clock()
        source = self.source
        if source is None:
            raise TempoError('Tempo sync is not enabled')
        source.set_tempo(bpm, now)
        self.fallback.set_tempo(bpm, now)

    def timeline(self, now: float) -> Timeline | None:
        """Where the beat is, or None while no source is on (or the source knows no tempo)."""
        source = self.source
        return source.timeline(now) if source is not None else None

    def clock_line(self, now: float) -> Timeline:
        """The timeline synced LFOs follow: the source's, or the internal fallback tempo."""
        return self.timeline(now) or self.fallback.timeline(now)

    def state(self, now: float) -> BeatState | None:
        source = self.source
        line = source.timeline(now) if source is not None else None
        if source is None or line is None:
            return None
        return BeatState(line.bpm, line.beat_at(now), self.beats_per_bar, source.playing(now), source.name)

    def status(self) -> dict[str, Any]:
        """Scope's `TempoStatusResponse`: enabled, source info, beats per bar and the beat state."""
        now = self.clock()
        source = self.source
        state = self.state(now)
        info = {'type': source.name, **source.info()} if source is not None else None
        return {'enabled': source is not None, 'source': info, 'beats_per_bar': self.beats_per_bar,
                'beat_state': state.to_dict() if state is not None else None}

    def sources(self) -> dict[str, Any]:
        """Scope's `TempoSourcesResponse.sources`: every source with whether it can be used here."""
        available, reason = link_available()
        sources: dict[str, Any] = {'link': {'available': available, 'name': SOURCE_NAMES['link']}}
        if reason:
            sources['link']['install_hint'] = 'pip install aalink'
            sources['link']['reason'] = reason
        extra = self.availability() if self.availability is not None else {}
        for key in ('midi_clock', 'audio', 'internal'):
            sources[key] = {'available': key in self.factories, 'name': SOURCE_NAMES[key], **extra.get(key, {})}
        return sources

    def close(self) -> None:
        self.disable()
