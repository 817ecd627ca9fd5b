"""Encode once, send to many: one encoder per session and codec feeds every peer watching in that codec."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from pipeline.frame_bus import FrameBus

from .encoder import DEFAULT_BITRATE, VIDEO_CLOCK, EncodedFrame, VideoEncoder
from .latest import LatestFanout

REPEAT_AFTER = 0.1  # seconds without a new frame before the last picture is sent again (paused streams stay alive)


class SharedEncoder(LatestFanout[EncodedFrame]):
    """Encodes each new frame of a bus once (in a thread) while anyone watches; keeps the newest encoded frame."""

    def __init__(self, bus: FrameBus, codec: str, bitrate: int = DEFAULT_BITRATE) -> None:
        super().__init__(bus)
        self.codec = codec
        self.name = f'the {codec} encoder'
        self.bitrate = bitrate
        self.encoder = VideoEncoder(codec, bitrate)
        self.keyframe_wanted = True
        self.source_seq = 0  # the last bus frame taken, so a fresh encoder goes on after a frame that failed
        self.failed_seq = 0  # a bus frame that failed is not sent again as a repeat
        self.started = time.time()

    def attach(self) -> None:
        self.keyframe_wanted = True  # the new watcher starts with a keyframe
        super().attach()

    def request_keyframe(self) -> None:
        self.keyframe_wanted = True

    def release(self) -> None:
        self.encoder.release()

    def restart(self) -> None:
        spent = self.encoder
        self.encoder = VideoEncoder(self.codec, self.bitrate)
        self.encoder.cpu_seconds, self.encoder.frames = spent.cpu_seconds, spent.frames  # the session's totals
        self.keyframe_wanted = True
        self.failed_seq = self.source_seq

    async def produce(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watchers > 0:
            frame = await self.bus.next(self.source_seq, timeout=REPEAT_AFTER)
            if frame is None:
                if self.bus.closed:
                    break
                frame = self.bus.latest
                if frame is None or frame.seq == self.failed_seq:
                    continue
            self.source_seq = frame.seq
            pts = int((time.time() - self.started) * VIDEO_CLOCK)
            force, self.keyframe_wanted = self.keyframe_wanted, False
            data, keyframe = await loop.run_in_executor(None, self.encoder.encode, frame.image, pts, force)
            if data:
                seq = self.latest_seq + 1
                height, width = frame.image.shape[:2]
                self.publish(EncodedFrame(data, pts, keyframe, seq, frame.seq, width, height), seq)


class EncodedVideoTrack(MediaStreamTrack):
    """A peer's video: the shared encoder's packets; after a gap it waits for a keyframe (and asks for one)."""

    kind = 'video'

    def __init__(self, encoders: SessionEncoders, on_failure: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.encoders = encoders
        self.on_failure = on_failure  # told why when the shared encoder gave up
        self.encoder: SharedEncoder | None = None
        self.codec = 'vp8'
        self.sender: object | None = None
        self.last_seq = 0
        self.frames_sent = 0
        self.frames_skipped = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != 'live':
            raise MediaStreamError
        if self.encoder is None:
            self.encoder = self.encoders.attach(self.codec)
        encoder = self.encoder
        if self._keyframe_requested_by_receiver():
            encoder.request_keyframe()
        while True:
            frame = await encoder.next(self.last_seq)
            if frame is None:
                if encoder.error is not None and self.on_failure is not None:
                    self.on_failure(encoder.error)
                self.stop()
                raise MediaStreamError
            gap = self.last_seq and frame.seq != self.last_seq + 1
            self.last_seq = frame.seq
            if self.frames_sent == 0 or gap:
                self.frames_skipped += bool(gap)
                if not frame.keyframe:
                    encoder.request_keyframe()
                    continue
            self.frames_sent += 1
            return frame.packet()

    def stop(self) -> None:
        if self.encoder is not None:
            self.encoders.detach(self.codec)
            self.encoder = None
        super().stop()

    def _keyframe_requested_by_receiver(self) -> bool:
        """Whether the receiver sent a picture loss indication (aiortc keeps the flag on the sender)."""
        attribute = '_RTCRtpSender__force_keyframe'
        if self.sender is not None and getattr(self.sender, attribute, False):
            setattr(self.sender, attribute, False)
            return True
        return False


class SessionEncoders:
    """The shared encoders of one session, by codec."""

    def __init__(self, bus: FrameBus, bitrate: int = DEFAULT_BITRATE) -> None:
        self.bus = bus
        self.bitrate = bitrate
        self.encoders: dict[str, SharedEncoder] = {}

    def attach(self, codec: str) -> SharedEncoder:
        encoder = self.encoders.get(codec)
        if encoder is None:
            encoder = self.encoders[codec] = SharedEncoder(self.bus, codec, self.bitrate)
        encoder.attach()
        return encoder

    def detach(self, codec: str) -> None:
        if codec in self.encoders:
            self.encoders[codec].detach()

    def cpu_seconds(self) -> float:
        return sum(e.encoder.cpu_seconds for e in self.encoders.values())

    def frames(self) -> int:
        return sum(e.encoder.frames for e in self.encoders.values())
