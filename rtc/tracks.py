"""Media tracks: the session's generated video out, and incoming video fed to the session's input queue."""
from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from pipeline.frame_bus import FrameBus, OutputFrame
from pipeline.session import Session

log = logging.getLogger(__name__)
VIDEO_CLOCK = 90_000
TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
REPEAT_AFTER = 0.1  # seconds without a new frame before the last one is sent again (paused streams stay alive)


class SessionVideoTrack(MediaStreamTrack):
    """Sends the newest frame of a frame bus, with presentation times from the wall clock."""

    kind = 'video'

    def __init__(self, bus: FrameBus) -> None:
        super().__init__()
        self.bus = bus
        self.last: OutputFrame | None = None
        self.started = time.time()
        self.frames_sent = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != 'live':
            raise MediaStreamError
        after = self.last.seq if self.last else 0
        frame = await self.bus.next(after, timeout=REPEAT_AFTER if self.last else None)
        if frame is None:
            if self.bus.closed or self.last is None:
                self.stop()
                raise MediaStreamError
            frame = self.last
        self.last = frame
        video = av.VideoFrame.from_ndarray(frame.image, format='rgb24')
        video.pts = int(max(time.time(), frame.time) * VIDEO_CLOCK - self.started * VIDEO_CLOCK)
        video.time_base = TIME_BASE
        self.frames_sent += 1
        return video


class AvInputFrame:
    """A received video frame, converted to RGB only when the worker asks for it."""

    __slots__ = ('frame',)

    def __init__(self, frame: av.VideoFrame) -> None:
        self.frame = frame

    def to_rgb(self, width: int | None, height: int | None) -> np.ndarray:
        if width and height:
            return self.frame.to_ndarray(format='rgb24', width=width, height=height)
        return self.frame.to_ndarray(format='rgb24')


async def feed_input(track: MediaStreamTrack, receive: Callable[[AvInputFrame], None]) -> None:
    """Read a remote video track and hand each frame to the session until the track ends."""
    while True:
        try:
            frame = await track.recv()
        except (MediaStreamError, asyncio.CancelledError):
            return
        if isinstance(frame, av.VideoFrame):
            receive(AvInputFrame(frame))


async def feed_audio(track: MediaStreamTrack, session: Session) -> None:
    """Read a remote audio track (e.g. a browser microphone) and hand each frame to the session's audio listeners."""
    while True:
        try:
            frame = await track.recv()
        except (MediaStreamError, asyncio.CancelledError):
            return
        for listener in list(session.audio_listeners):
            try:
                listener(frame)
            except Exception:
                log.exception('audio listener failed')
