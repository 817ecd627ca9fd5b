"""A number written into the top row of a frame as black and white blocks, for latency measurements."""
from __future__ import annotations

import numpy as np

BLOCK = 8
BITS = 24


def stamp_frame(image: np.ndarray, value: int) -> None:
    """Write `value` (24 bits, most significant first) into the top-left blocks of `image`, in place."""
    for bit in range(BITS):
        on = (value >> (BITS - 1 - bit)) & 1
        image[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = 255 if on else 0


def read_stamp(image: np.ndarray) -> int:
    """The value written by `stamp_frame` (tolerates lossy video coding)."""
    value = 0
    for bit in range(BITS):
        block = image[2:BLOCK - 2, bit * BLOCK + 2:(bit + 1) * BLOCK - 2]
        value = (value << 1) | int(block.mean() > 127)
    return value
