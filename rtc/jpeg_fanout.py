"""The WebSocket video path: JPEG frames encoded once per session, for clients WebRTC cannot reach."""
from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time

import av
import numpy as np

from pipeline.frame_bus import FrameBus

from .stats import ENCODE

log = logging.getLogger(__name__)


class JpegEncoder:
    """Encodes RGB frames to JPEG with PyAV's mjpeg encoder."""

    def __init__(self, quality: int = 5) -> None:
        self.quality = quality
        self.context: av.video.codeccontext.VideoCodecContext | None = None

    def encode(self, image: np.ndarray) -> bytes:
        begun = time.thread_time()
        height, width = image.shape[:2]
        if self.context is None or (self.context.width, self.context.height) != (width, height):
            context = av.CodecContext.create('mjpeg', 'w')
            context.width, context.height, context.pix_fmt = width, height, 'yuvj420p'
            context.time_base = fractions.Fraction(1, 30)
            context.options = {'qscale': str(self.quality)}
            context.qmin = context.qmax = self.quality
            self.context = context
        frame = av.VideoFrame.from_ndarray(image, format='rgb24').reformat(format='yuvj420p')
        data = b''.join(bytes(packet) for packet in self.context.encode(frame))
        ENCODE.add(time.thread_time() - begun)
        return data


class JpegFanout:
    """While anyone watches, encodes each new frame of a session once; watchers always get the newest JPEG."""

    def __init__(self, bus: FrameBus) -> None:
        self.bus = bus
        self.encoder = JpegEncoder()
        self.latest: tuple[int, bytes] | None = None
        self.watchers = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    def attach(self) -> None:
        self.watchers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def detach(self) -> None:
        self.watchers -= 1
        if self.watchers <= 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def next(self, after: int) -> tuple[int, bytes] | None:
        """The newest (number, JPEG) after `after`; None when the session ended."""
        while True:
            if self.latest is not None and self.latest[0] > after:
                return self.latest
            if self.bus.closed or self._task is None:
                return None
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        seq = 0
        try:
            while self.watchers > 0 and not self.bus.closed:
                frame = await self.bus.next(seq, timeout=1.0)
                if frame is None:
                    continue
                seq = frame.seq
                data = await loop.run_in_executor(None, self.encoder.encode, frame.image)
                self.latest = (frame.seq, data)
                self._changed.set()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception('JPEG encoder failed')
        finally:
            self._changed.set()
