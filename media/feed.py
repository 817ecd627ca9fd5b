"""Reading a session's shared H.264 encoder in order, the way a muxer needs it."""
from __future__ import annotations

import time
from collections.abc import Callable

from rtc.encoder import EncodedFrame
from rtc.fanout import SessionEncoders, SharedEncoder

CODEC = 'h264'


class PacketFeed:
    """Hands a muxer every access unit of the session's H.264 encoder: it starts on a keyframe, waits for the next
    keyframe after a gap (a frame it missed), and asks for a keyframe at least every `keyframe_every` seconds
    (HLS cuts segments there)."""

    def __init__(self, encoders: SessionEncoders, keyframe_every: float | None = None) -> None:
        self.encoders = encoders
        self.keyframe_every = keyframe_every
        self.encoder: SharedEncoder | None = None
        self.frames = 0
        self.skipped = 0

    async def run(self, deliver: Callable[[EncodedFrame], None]) -> None:
        """Deliver frames until the session ends (or the task is cancelled)."""
        self.encoder = encoder = self.encoders.attach(CODEC)
        try:
            last_seq, started, last_keyframe = 0, False, 0.0
            while True:
                frame = await encoder.next(last_seq)
                if frame is None:
                    return
                gap = bool(last_seq) and frame.seq != last_seq + 1
                last_seq = frame.seq
                if gap:
                    self.skipped += 1
                if (gap or not started) and not frame.keyframe:
                    encoder.request_keyframe()
                    started = False
                    continue
                started = True
                now = time.monotonic()
                if frame.keyframe:
                    last_keyframe = now
                elif self.keyframe_every is not None and now - last_keyframe >= self.keyframe_every:
                    encoder.request_keyframe()
                    last_keyframe = now  # asked once; the keyframe comes with the next frame
                self.frames += 1
                deliver(frame)
        finally:
            self.encoders.detach(CODEC)
            self.encoder = None

    def request_keyframe(self) -> None:
        """Ask for a keyframe (a muxer that dropped frames starts again from one)."""
        if self.encoder is not None:
            self.encoder.request_keyframe()
