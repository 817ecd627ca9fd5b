"""A PyAV container written from shared H.264 access units, without decoding or encoding them again."""
from __future__ import annotations

from typing import Any

import av

from rtc.encoder import TIME_BASE, EncodedFrame

from .annexb import parameter_sets

FRAME_RATE = 30


class H264Muxer:
    """Writes access units into one container (mp4, flv, hls, ...): opened on the first keyframe, with its SPS/PPS
    as extradata, timestamps counted from that frame. A frame of another size does not fit: check `fits` first."""

    def __init__(self, target: Any, format: str, options: dict[str, str] | None = None) -> None:
        self.target = target
        self.format = format
        self.options = dict(options or {})
        self.container: Any = None
        self.stream: Any = None
        self.size: tuple[int, int] | None = None
        self.first_pts: int | None = None
        self.last_pts = -1
        self.frames = 0

    def fits(self, frame: EncodedFrame) -> bool:
        """Whether the frame can go into this container (nothing written yet, or the same size)."""
        return self.size is None or self.size == (frame.width, frame.height)

    def write(self, frame: EncodedFrame) -> None:
        """Write one access unit (frames before the first keyframe are skipped)."""
        if self.container is None:
            if not frame.keyframe:
                return
            self._open(frame)
        assert self.first_pts is not None
        pts = max(frame.pts - self.first_pts, self.last_pts + 1)  # strictly increasing, even for a late frame
        packet = av.Packet(frame.data)
        packet.stream = self.stream
        packet.pts = packet.dts = pts
        packet.time_base = TIME_BASE
        packet.is_keyframe = frame.keyframe
        self.container.mux(packet)
        self.last_pts = pts
        self.frames += 1

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame written."""
        return max(0.0, self.last_pts / TIME_BASE.denominator) if self.frames else 0.0

    def close(self) -> None:
        """Finish the container (trailer, playlist end); idempotent."""
        container, self.container = self.container, None
        if container is not None:
            container.close()

    def _open(self, frame: EncodedFrame) -> None:
        self.container = av.open(self.target, 'w', format=self.format, options=self.options)
        self.stream = self.container.add_stream('h264', rate=FRAME_RATE)
        self.stream.width, self.stream.height = frame.width, frame.height
        self.stream.time_base = TIME_BASE
        self.stream.codec_context.extradata = parameter_sets(frame.data)
        self.size = (frame.width, frame.height)
        self.first_pts = frame.pts
