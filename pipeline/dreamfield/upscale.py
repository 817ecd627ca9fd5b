"""From the internal planar float colour to the output frame: uint8 RGB, bilinear upscaling in fixed point."""
from __future__ import annotations

import numpy as np


class Upscaler:
    """Turns 3 x h x w float colour (0..1) into a fresh H x W x 3 uint8 frame; exact 2x has a fast path."""

    def __init__(self, source: tuple[int, int], target: tuple[int, int]) -> None:
        (self.h, self.w), (self.height, self.width) = source, target
        self.same = (self.h, self.w) == (self.height, self.width)
        self.doubling = (self.height, self.width) == (2 * self.h, 2 * self.w)
        if self.doubling:
            self.padded = np.empty((3, self.h + 2, self.w + 2), np.uint16)
            self.triple = np.empty((3, self.h + 2, self.w), np.uint16)
            self.columns = np.empty((3, self.h + 2, self.w, 2), np.uint16)
            self.triple_rows = np.empty((3, self.h, 2 * self.w), np.uint16)
            self.sums = np.empty((3, self.h, 2, 2 * self.w), np.uint16)
        elif not self.same:
            self.row_index, self.row_weight = _taps(self.h, self.height)
            self.col_index, self.col_weight = _taps(self.w, self.width)

    def __call__(self, colour: np.ndarray) -> np.ndarray:
        frame = np.empty((self.height, self.width, 3), np.uint8)
        planes = frame.transpose(2, 0, 1)
        if self.same:
            np.multiply(colour, 255.0, out=planes, casting='unsafe')
        elif self.doubling:
            np.right_shift(self._double(colour), 4, out=planes, casting='unsafe')
        else:
            np.right_shift(self._bilinear(colour), 8, out=planes, casting='unsafe')
        return frame

    def _double(self, colour: np.ndarray) -> np.ndarray:
        """Exact 2x bilinear (weights 3:1 per axis, 16 in all) on planes in uint16; columns first, then rows."""
        p = self.padded
        np.multiply(colour, 255.0, out=p[:, 1:-1, 1:-1], casting='unsafe')
        p[:, 0, 1:-1], p[:, -1, 1:-1] = p[:, 1, 1:-1], p[:, -2, 1:-1]
        p[:, :, 0], p[:, :, -1] = p[:, :, 1], p[:, :, -2]
        np.multiply(p[:, :, 1:-1], 3, out=self.triple)
        np.add(self.triple, p[:, :, :-2], out=self.columns[..., 0])
        np.add(self.triple, p[:, :, 2:], out=self.columns[..., 1])
        columns = self.columns.reshape(3, self.h + 2, 2 * self.w)
        np.multiply(columns[:, 1:-1], 3, out=self.triple_rows)
        self.triple_rows += 8
        np.add(self.triple_rows, columns[:, :-2], out=self.sums[:, :, 0])
        np.add(self.triple_rows, columns[:, 2:], out=self.sums[:, :, 1])
        return self.sums.reshape(3, self.height, self.width)

    def _bilinear(self, colour: np.ndarray) -> np.ndarray:
        """Any size: separable bilinear with 4-bit weights per axis (sums stay within uint16)."""
        small = np.empty(colour.shape, np.uint16)
        np.multiply(colour, 255.0, out=small, casting='unsafe')
        (i0, i1), wy = self.row_index, self.row_weight[None, :, None]
        rows = small[:, i0] * (16 - wy) + small[:, i1] * wy
        (j0, j1), wx = self.col_index, self.col_weight[None, None, :]
        sums = rows[:, :, j0] * (16 - wx) + rows[:, :, j1] * wx
        sums += 128
        return sums


def _taps(source: int, target: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """For each target pixel: the two source pixels around its centre and the weight (0..16) of the second."""
    centre = (np.arange(target) + 0.5) * (source / target) - 0.5
    centre = np.clip(centre, 0.0, source - 1)
    first = np.floor(centre).astype(np.intp)
    second = np.minimum(first + 1, source - 1)
    weight = np.rint((centre - first) * 16).astype(np.uint16)
    return (first, second), weight
