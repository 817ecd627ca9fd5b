"""The music's own tempo: the beat grid of an analysed song where a file plays, else the audio engine's live beats."""
from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any, Protocol

from audio.features import SAMPLE_RATE, Features

from .analysis import SongAnalysis
from .tempo import TempoError, Timeline


class PlaybackClock(Protocol):
    """Where a playing file is (audio.playback.Playback)."""

    def position(self, now: float | None = None) -> int: ...


class AudioTempo:
    """Beats from the audio engine of a session: exact and known ahead for an analysed song, detected otherwise."""

    name = 'audio'

    def __init__(self, describe: Callable[[], str] | None = None) -> None:
        self.describe = describe or (lambda: 'audio engine')
        self.song: SongAnalysis | None = None
        self.playback: PlaybackClock | None = None
        self.loop = True
        self.anchor: Timeline | None = None  # from the live analysis
        self.ticks = 0

    def follow_song(self, song: SongAnalysis | None, playback: PlaybackClock | None, loop: bool = True) -> None:
        """Use an analysed file's beat grid while it plays (None: back to the live beats)."""
        self.song, self.playback, self.loop = song, playback, loop

    def feed(self, features: Features, now: float) -> None:
        """One tick of the live analysis: a detected beat anchors the timeline at its count and the tempo."""
        self.ticks += 1
        if features.bpm and features.beat:
            self.anchor = Timeline(now, float(features.beat_count), float(features.bpm))
        elif features.bpm and self.anchor is not None and abs(self.anchor.bpm - features.bpm) > 0.5:
            self.anchor = self.anchor.rebased(now, float(features.bpm))

    def timeline(self, now: float) -> Timeline | None:
        if self.song is not None and self.playback is not None and len(self.song.beats) >= 2:
            return song_timeline(self.song, self.playback.position(now) / SAMPLE_RATE, now, self.loop)
        return self.anchor

    def playing(self, now: float) -> bool:
        return self.timeline(now) is not None

    def set_tempo(self, bpm: float, now: float) -> None:
        raise TempoError('the audio source follows the music; change the song instead')

    def info(self) -> dict[str, Any]:
        grid = self.song is not None and self.playback is not None
        return {'following': self.describe(), 'beat_grid': 'analysed song' if grid else 'live detection'}

    def close(self) -> None:
        """Nothing to release (the audio engine belongs to its session)."""


def song_timeline(song: SongAnalysis, seconds: float, now: float, loop: bool) -> Timeline:
    """The song's beat grid at `seconds` of playback, as a local straight line (the tempo of the current beat)."""
    beats = song.beats
    loops, position = divmod(seconds, song.duration) if loop and song.duration > 0 else (0.0, seconds)
    index = bisect.bisect_right(beats, position) - 1
    index = min(max(index, 0), len(beats) - 2)
    interval = beats[index + 1] - beats[index]
    beat = index + (position - beats[index]) / interval
    offset = loops * len(beats) - song.downbeat_phase  # bars start on the downbeats, across loops
    return Timeline(now, beat + offset, 60.0 / interval)

