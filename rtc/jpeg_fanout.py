"""The WebSocket video path: JPEG frames encoded once per session, for clients WebRTC cannot reach."""
from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np

from pipeline.frame_bus import FrameBus

from .encoder import CodecHolder
from .latest import LatestFanout
from .stats import ENCODE


class JpegEncoder(CodecHolder):
    """Encodes RGB frames to JPEG with PyAV's mjpeg encoder."""

    def __init__(self, quality: int = 5) -> None:
        super().__init__()
        self.quality = quality

    def encode(self, image: np.ndarray) -> bytes:
        with self.encoding():
            return self._encode(image)

    def _encode(self, image: np.ndarray) -> bytes:
        begun = time.thread_time()
        height, width = image.shape[:2]
        if self.context is None or (self.context.width, self.context.height) != (width, height):
            context = av.CodecContext.create('mjpeg', 'w')
            context.width, context.height, context.pix_fmt = width, height, 'yuvj420p'
            context.time_base = fractions.Fraction(1, 30)
            context.options = {'qscale': str(self.quality)}
            context.qmin = context.qmax = self.quality
            self.context = context
        frame = self.picture(image, 'yuvj420p')
        data = b''.join(bytes(packet) for packet in self.context.encode(frame))
        ENCODE.add(time.thread_time() - begun)
        return data


class JpegFanout(LatestFanout[tuple[int, bytes]]):
    """While anyone watches, encodes each new frame of a session once; watchers always get the newest JPEG."""

    name = 'the JPEG encoder'

    def __init__(self, bus: FrameBus) -> None:
        super().__init__(bus)
        self.encoder = JpegEncoder()
        self.source_seq = 0  # the last bus frame taken, so a fresh encoder goes on after a frame that failed

    def release(self) -> None:
        self.encoder.release()

    def restart(self) -> None:
        self.encoder = JpegEncoder(self.encoder.quality)

    async def produce(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watchers > 0 and not self.bus.closed:
            frame = await self.bus.next(self.source_seq, timeout=1.0)
            if frame is None:
                continue
            self.source_seq = frame.seq
            data = await loop.run_in_executor(None, self.encoder.encode, frame.image)
            self.publish((frame.seq, data), frame.seq)
