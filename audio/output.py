"""The sound peers hear with the video: an aiortc audio track reading the playback at its clock's position."""
from __future__ import annotations

import asyncio
import fractions
import time
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from .features import SAMPLE_RATE

if TYPE_CHECKING:
    from .playback import Playback

FRAME_SAMPLES = 960  # 20 ms, one Opus frame
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
RESYNC = int(0.04 * SAMPLE_RATE)  # a track more than 40 ms off the playback clock jumps back onto it
SILENCE_POLL = 0.1  # seconds between looks for music while nothing plays


class AudioOutput:
    """A session's `audio_output`: its tracks play the current playback, and silence while there is none.

    Tracks exist only for peers that offered audio after the output was installed; `ensure_audio_output` installs a
    silent one early, so that music started later reaches peers already connected without renegotiation.
    """

    def __init__(self, playback: Playback | None = None) -> None:
        self.playback = playback
        self.tracks_created = 0

    def create_track(self) -> PlaybackTrack:
        self.tracks_created += 1
        return PlaybackTrack(self)


def ensure_audio_output(session: Any) -> AudioOutput:
    """The session's `AudioOutput`, installed (silent) if it has none; call before answering offers that want audio."""
    output = session.audio_output
    if not isinstance(output, AudioOutput):
        output = session.audio_output = AudioOutput()
    return output


class PlaybackTrack(MediaStreamTrack):
    """20 ms stereo s16 frames, paced by the wall clock, taken from the playback at the position being played now.

    While nothing plays the track sends nothing (no silent packets to encode and send 50 times a second per peer);
    it resumes within `SILENCE_POLL` seconds of music starting.
    """

    kind = 'audio'

    def __init__(self, output: AudioOutput) -> None:
        super().__init__()
        self.output = output
        self.started: float | None = None
        self.sent = 0
        self.cursor: int | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != 'live':
            raise MediaStreamError
        if self.output.playback is None:
            while self.output.playback is None and self.readyState == 'live':
                await asyncio.sleep(SILENCE_POLL)
            self.started = None  # pace from now on; the timestamps go on from where they were
        if self.started is None:
            self.started = time.monotonic() - self.sent / SAMPLE_RATE
        else:
            wait = self.started + self.sent / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.AudioFrame.from_ndarray(self._samples().reshape(1, -1), format='s16', layout='stereo')
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.sent
        frame.time_base = TIME_BASE
        self.sent += FRAME_SAMPLES
        return frame

    def _samples(self) -> np.ndarray:
        playback = self.output.playback
        if playback is None:
            self.cursor = None
            return np.zeros((FRAME_SAMPLES, 2), np.int16)
        now = playback.position()
        if self.cursor is None or abs(self.cursor - now) > RESYNC:
            self.cursor = now
        block = playback.signal.read(self.cursor, self.cursor + FRAME_SAMPLES)
        self.cursor += FRAME_SAMPLES
        return (np.clip(block, -1.0, 1.0) * 32767).astype(np.int16)
