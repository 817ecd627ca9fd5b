"""Bloom: bright parts of the picture spill a soft halo into their surroundings."""
from __future__ import annotations

import numpy as np


def bloom(level: np.ndarray, threshold: float, radius: int, amount: float) -> None:
    """Add to `level` (in place) a wide, soft blur of what rises above `threshold`."""
    if amount <= 0 or radius < 1:
        return
    bright = level - threshold
    np.maximum(bright, 0.0, out=bright)
    for _ in range(2):  # two box blurs make a soft, tent-shaped halo
        bright = _box(_box(bright, radius, 0), radius, 1)
    bright *= amount
    level += bright


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
