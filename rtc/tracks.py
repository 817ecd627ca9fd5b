"""Incoming media: remote video fed to a session's input queue, remote audio to its listeners."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from pipeline.session import Session

log = logging.getLogger(__name__)


class AvInputFrame:
    """A received video frame, converted to RGB only when the worker asks for it."""

    __slots__ = ('frame', 'received_at')

    def __init__(self, frame: av.VideoFrame) -> None:
        self.frame = frame
        self.received_at = time.time()  # for the input-to-output latency the worker measures

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
