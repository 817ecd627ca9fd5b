"""MP4 recording of the shared H.264 packets, in segments: each download hands over what was recorded since the last."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from rtc.encoder import EncodedFrame

from .muxer import H264Muxer
from .sink import Sink


class Recording(Sink):
    """Records into `<folder>/part-N.mp4` (faststart). `cut()` finishes the current part and returns it; recording
    goes on in a new part from the next keyframe. A change of frame size also starts a new part."""

    name = 'recording'

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.parts = 0
        self.muxer: H264Muxer | None = None
        self.finished: list[tuple[Path, float]] = []  # parts cut off by a size change, not handed over yet
        self.path: Path | None = None

    async def cut(self) -> list[tuple[Path, float]]:
        """Finish the current part; returns the finished parts (path, seconds), oldest first, and forgets them.
        The next part starts at once (with a keyframe asked for now)."""
        parts = await self.call(self._cut)
        if self.feed is not None:
            self.feed.request_keyframe()
        return parts

    def write(self, frame: EncodedFrame) -> None:
        if self.muxer is not None and not self.muxer.fits(frame):
            self._finish_part()
        if self.muxer is None:
            if not frame.keyframe:
                return
            self.parts += 1
            self.path = self.folder / f'part-{self.parts}.mp4'
            self.muxer = H264Muxer(str(self.path), 'mp4', {'movflags': '+faststart'})
        self.muxer.write(frame)

    def on_write_error(self) -> None:
        self._finish_part()

    def finish(self) -> None:
        self._finish_part()

    def _cut(self) -> list[tuple[Path, float]]:
        self._finish_part()
        finished, self.finished = self.finished, []
        return finished

    def _finish_part(self) -> None:
        muxer, path, self.muxer, self.path = self.muxer, self.path, None, None
        if muxer is None or path is None:
            return
        try:
            muxer.close()
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        if muxer.frames:
            self.finished.append((path, muxer.duration))
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
