"""Bloom: bright parts of the picture spill a soft halo into their surroundings (computed at a quarter size)."""
from __future__ import annotations

import numpy as np

SHRINK = 4


def bloom(level: np.ndarray, threshold: float, radius: int, amount: float) -> None:
    """Add to `level` (in place) a wide, soft blur of what rises above `threshold`; `radius` in pixels of `level`."""
    if amount <= 0:
        return
    bright = level - threshold
    np.maximum(bright, 0.0, out=bright)
    small = _shrink(bright)
    steps = max(1, round(radius / SHRINK))
    for _ in range(2):  # two box blurs make a soft, tent-shaped halo
        small = _box(_box(small, steps, 0), steps, 1)
    halo = _grow(_grow(small))[:level.shape[0], :level.shape[1]]
    halo *= amount
    level += halo


def _shrink(values: np.ndarray) -> np.ndarray:
    """Block means over SHRINK x SHRINK pixels (the edges repeated to fill the last blocks)."""
    height, width = values.shape
    if height % SHRINK or width % SHRINK:
        values = np.pad(values, ((0, -height % SHRINK), (0, -width % SHRINK)), mode='edge')
    rows = values[0::SHRINK].copy()
    for k in range(1, SHRINK):
        rows += values[k::SHRINK]
    small = rows[:, 0::SHRINK].copy()
    for k in range(1, SHRINK):
        small += rows[:, k::SHRINK]
    small *= 1.0 / (SHRINK * SHRINK)
    return small


def _box(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """A box blur of width 2·radius+1 along one axis, edges held (running sums: any radius costs the same)."""
    padded = np.pad(values, [(radius + 1, radius) if a == axis else (0, 0) for a in range(2)], mode='edge')
    np.cumsum(padded, axis=axis, out=padded)
    size = values.shape[axis]
    if axis == 0:
        blurred = padded[2 * radius + 1:] - padded[:size]
    else:
        blurred = padded[:, 2 * radius + 1:] - padded[:, :size]
    blurred *= 1.0 / (2 * radius + 1)
    return blurred


def _grow(values: np.ndarray) -> np.ndarray:
    """Twice the size, bilinear (each new pixel 3:1 between its two nearest old ones per axis)."""
    height, width = values.shape
    padded = np.pad(values, 1, mode='edge')
    rows = np.empty((height, 2, width + 2), np.float32)
    near = padded[1:-1] * 0.75
    np.add(near, padded[:-2] * 0.25, out=rows[:, 0])
    np.add(near, padded[2:] * 0.25, out=rows[:, 1])
    rows = rows.reshape(2 * height, width + 2)
    grown = np.empty((2 * height, width, 2), np.float32)
    near = rows[:, 1:-1] * 0.75
    np.add(near, rows[:, :-2] * 0.25, out=grown[..., 0])
    np.add(near, rows[:, 2:] * 0.25, out=grown[..., 1])
    return grown.reshape(2 * height, 2 * width)
