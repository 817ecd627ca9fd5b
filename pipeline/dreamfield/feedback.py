"""The stream's cache: the previous frame, zoomed, turned and carried along the flow, blended into the new one."""
from __future__ import annotations

import math

import numpy as np


class FeedbackBuffer:
    """Temporal feedback at the internal resolution; empty after a reset, so the next frame starts fresh."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.previous: np.ndarray | None = None
        xs = np.arange(width, dtype=np.float32) - (width - 1) / 2
        ys = np.arange(height, dtype=np.float32) - (height - 1) / 2
        self.x = np.broadcast_to(xs[None, :], (height, width)).copy()
        self.y = np.broadcast_to(ys[:, None], (height, width)).copy()

    def clear(self) -> None:
        self.previous = None

    def blend(self, colour: np.ndarray, amount: float, zoom: float, turn: float, flow: tuple[np.ndarray, np.ndarray],
              flow_pixels: float) -> np.ndarray:
        """Mix the previous frame (moved) into `colour` in place with weight `amount`, then remember the result."""
        if self.previous is not None and amount > 1e-3:
            moved = self._moved(self.previous, zoom, turn, flow, flow_pixels)
            colour *= 1.0 - amount
            moved *= amount
            colour += moved
        self.previous = colour.copy()
        return colour

    def _moved(self, previous: np.ndarray, zoom: float, turn: float, flow: tuple[np.ndarray, np.ndarray],
               flow_pixels: float) -> np.ndarray:
        """The previous frame sampled bilinearly at positions pulled towards the centre and back along the flow."""
        scale = 1.0 / (1.0 + zoom)
        cos, sin = scale * math.cos(turn), scale * math.sin(turn)
        sx = self.x * cos
        sx -= self.y * sin
        sx -= flow_pixels * flow[0]
        sx += (self.width - 1) / 2
        sy = self.x * sin
        sy += self.y * cos
        sy -= flow_pixels * flow[1]
        sy += (self.height - 1) / 2
        np.clip(sx, 0.0, self.width - 1.001, out=sx)
        np.clip(sy, 0.0, self.height - 1.001, out=sy)
        fx, fy = np.floor(sx), np.floor(sy)
        sx -= fx  # exact in float32 (Sterbenz), and no float64 round trip as with an integer array
        sy -= fy
        fy *= self.width
        fy += fx  # exact: pixel numbers stay far below 2**24
        index = fy.astype(np.intp)  # np.take with any other index type converts it first, at several times the cost
        right = index + 1
        below = index + self.width
        below_right = below + 1
        moved = np.empty_like(previous)
        top, bottom = np.empty_like(sx), np.empty_like(sx)
        for k in range(3):
            plane = previous[k].reshape(-1)
            np.take(plane, index, out=top)
            np.take(plane, right, out=moved[k])
            moved[k] -= top
            moved[k] *= sx
            top += moved[k]
            np.take(plane, below, out=bottom)
            np.take(plane, below_right, out=moved[k])
            moved[k] -= bottom
            moved[k] *= sx
            bottom += moved[k]
            bottom -= top
            bottom *= sy
            np.add(top, bottom, out=moved[k])
        return moved
