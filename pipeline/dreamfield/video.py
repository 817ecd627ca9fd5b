"""Video mode's view of an input frame: luminance and edges at the internal resolution."""
from __future__ import annotations

import numpy as np

LUMA = (0.299, 0.587, 0.114)


class InputReader:
    """Samples input frames (any size) down to the internal grid; sample positions are cached per input size."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.taps: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.luminance = np.empty((height, width), np.float32)
        self.edges = np.empty((height, width), np.float32)
        self.scratch = np.empty((height, width), np.float32)

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(luminance 0..1, edge strength 0..~1), both h x w float32; valid until the next call."""
        small = self._sample(frame)
        luminance = self.luminance
        np.multiply(small[..., 0], LUMA[0] / 255, out=luminance)
        for k in (1, 2):
            np.multiply(small[..., k], LUMA[k] / 255, out=self.scratch)
            luminance += self.scratch
        edges, scratch = self.edges, self.scratch
        edges.fill(0.0)
        np.subtract(luminance[:, 2:], luminance[:, :-2], out=edges[:, 1:-1])
        np.abs(edges, out=edges)
        scratch.fill(0.0)
        np.subtract(luminance[2:], luminance[:-2], out=scratch[1:-1])
        np.abs(scratch, out=scratch)
        edges += scratch
        edges *= 1.5
        np.clip(edges, 0.0, 1.0, out=edges)
        return luminance, edges

    def _sample(self, frame: np.ndarray) -> np.ndarray:
        """The frame at the internal size (nearest pixel centres; a strided view when the ratio is whole)."""
        frame = np.asarray(frame)
        if frame.ndim == 2:
            frame = frame[..., None]
        if frame.shape[2] < 3:
            frame = np.repeat(frame[..., :1], 3, axis=2)
        height, width = frame.shape[:2]
        if height % self.height == 0 and width % self.width == 0:
            step_y, step_x = height // self.height, width // self.width
            return frame[step_y // 2::step_y, step_x // 2::step_x, :3]
        if (height, width) not in self.taps:
            rows = np.minimum(((np.arange(self.height) + 0.5) * height / self.height).astype(np.intp), height - 1)
            cols = np.minimum(((np.arange(self.width) + 0.5) * width / self.width).astype(np.intp), width - 1)
            self.taps[(height, width)] = rows, cols
        rows, cols = self.taps[(height, width)]
        return frame[rows[:, None], cols[None, :], :3]
