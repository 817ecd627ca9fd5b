"""A synthetic camera: a video track of moving coloured bars, for video-to-video tests."""
from __future__ import annotations

import av
import numpy as np
from aiortc import VideoStreamTrack


class PatternTrack(VideoStreamTrack):
    """Sends a pattern at 30 fps ('bars': moving vertical bars, 'checker': a checkerboard, 'flat': one colour)."""

    def __init__(self, pattern: str = 'bars', width: int = 320, height: int = 240,
                 color: tuple[int, int, int] = (200, 40, 40)) -> None:
        super().__init__()
        self.pattern, self.width, self.height, self.color = pattern, width, height, color
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self.image(), format='rgb24')
        frame.pts, frame.time_base = pts, time_base
        self.count += 1
        return frame

    def image(self) -> np.ndarray:
        """The current picture."""
        y, x = np.mgrid[0:self.height, 0:self.width]
        if self.pattern == 'checker':
            on = ((x // 40) + (y // 40)) % 2 == 0
        elif self.pattern == 'flat':
            on = np.ones_like(x, bool)
        else:
            on = ((x + 4 * self.count) // 32) % 2 == 0
        image = np.zeros((self.height, self.width, 3), np.uint8)
        image[on] = self.color
        return image
