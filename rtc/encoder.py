"""Video encoding with PyAV, once per session and codec: VP8 (libvpx) or H.264 (libx264, ultrafast)."""
from __future__ import annotations

import fractions
import time
from dataclasses import dataclass

import av
import numpy as np

from .stats import ENCODE

VIDEO_CLOCK = 90_000
TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
KEYFRAME_INTERVAL = 4.0  # seconds; late joiners and lossy viewers also ask for keyframes on demand
DEFAULT_BITRATE = 2_500_000


@dataclass(slots=True)
class EncodedFrame:
    """One encoded picture, shared by every peer that watches in this codec."""

    data: bytes
    pts: int
    keyframe: bool
    seq: int
    source_seq: int

    def packet(self) -> av.Packet:
        packet = av.Packet(self.data)
        packet.pts = self.pts
        packet.time_base = TIME_BASE
        return packet


class VideoEncoder:
    """A PyAV encoder for one codec ('vp8' or 'h264') that re-creates itself when the frame size changes."""

    def __init__(self, codec: str, bitrate: int = DEFAULT_BITRATE) -> None:
        self.codec_name = codec
        self.bitrate = bitrate
        self.context: av.video.codeccontext.VideoCodecContext | None = None
        self.last_keyframe = 0.0
        self.cpu_seconds = 0.0
        self.frames = 0

    def encode(self, image: np.ndarray, pts: int, force_keyframe: bool) -> tuple[bytes, bool]:
        """Encode one RGB frame; returns the bitstream and whether it is a keyframe."""
        begun = time.thread_time()
        height, width = image.shape[:2]
        frame = av.VideoFrame.from_ndarray(image, format='rgb24').reformat(format='yuv420p')
        if self.context is None or (self.context.width, self.context.height) != (width, height):
            self.context = self._create(width, height)
            force_keyframe = True
        now = time.monotonic()
        if now - self.last_keyframe > KEYFRAME_INTERVAL:
            force_keyframe = True
        frame.pict_type = av.video.frame.PictureType.I if force_keyframe else av.video.frame.PictureType.NONE
        frame.pts, frame.time_base = pts, TIME_BASE
        data, keyframe = b'', False
        for packet in self.context.encode(frame):
            data += bytes(packet)
            keyframe = keyframe or packet.is_keyframe
        if keyframe:
            self.last_keyframe = now
        spent = time.thread_time() - begun
        self.cpu_seconds += spent
        self.frames += 1
        ENCODE.add(spent)
        return data, keyframe

    def _create(self, width: int, height: int) -> av.video.codeccontext.VideoCodecContext:
        bitrate = self.bitrate
        if self.codec_name == 'h264':
            context = av.CodecContext.create('libx264', 'w')
            context.options = {'preset': 'ultrafast', 'tune': 'zerolatency', 'level': '31', 'bf': '0',
                               'x264-params': 'keyint=infinite:repeat-headers=1'}
            context.profile = 'Baseline'
        else:
            context = av.CodecContext.create('libvpx', 'w')  # cpu-used -10: 0.5 ms a frame less than -6, same PSNR
            context.options = {'bufsize': str(bitrate), 'cpu-used': '-10', 'deadline': 'realtime',
                               'lag-in-frames': '0',
                               'minrate': str(bitrate), 'maxrate': str(bitrate), 'noise-sensitivity': '0',
                               'overshoot-pct': '15', 'partitions': '0', 'static-thresh': '1',
                               'undershoot-pct': '100'}
            context.qmin, context.qmax = 2, 56
        context.width, context.height = width, height
        context.bit_rate = bitrate
        context.pix_fmt = 'yuv420p'
        context.time_base = TIME_BASE
        context.framerate = fractions.Fraction(30, 1)
        context.gop_size = 3000
        context.thread_count = 1
        return context
