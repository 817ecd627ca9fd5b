"""Arrays a chunk reads from the data blob by byte offset and shape, checked against the blob's size first."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .batch_request import ChunkSpec, PlanError

ArrayName = Literal['input_video', 'vace_frames', 'vace_masks']
MAX_SIDE = 4096


@dataclass(frozen=True, slots=True)
class Layout:
    """How an array of the blob is laid out."""

    dtype: type[np.generic]
    ndim: int
    time_axis: int
    described: str


LAYOUTS: dict[ArrayName, Layout] = {
    'input_video': Layout(np.uint8, 4, 0, 'uint8 [T, H, W, C] with C 1, 3 or 4'),
    'vace_frames': Layout(np.float32, 5, 2, 'float32 [1, 3, T, H, W]'),
    'vace_masks': Layout(np.float32, 5, 2, 'float32 [1, 1, T, H, W]'),
}


@dataclass(frozen=True, slots=True)
class BlobArray:
    """A checked region of the blob: it lies wholly inside it."""

    name: ArrayName
    offset: int
    shape: tuple[int, ...]

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.name]

    def read(self, blob: Path, frames: int) -> np.ndarray:
        """Its first `frames` time steps (a copy), padded by repeating the last one; only those bytes are read."""
        layout = self.layout
        mapped = np.memmap(blob, dtype=layout.dtype, mode='r', offset=self.offset, shape=self.shape)
        taken = np.take(mapped, range(min(frames, self.shape[layout.time_axis])), axis=layout.time_axis)
        missing = frames - taken.shape[layout.time_axis]
        if missing > 0:
            last = np.take(taken, [-1], axis=layout.time_axis)
            taken = np.concatenate([taken, np.repeat(last, missing, axis=layout.time_axis)], axis=layout.time_axis)
        del mapped
        return np.ascontiguousarray(taken)


def blob_array(spec: ChunkSpec, name: ArrayName, blob_size: int | None) -> BlobArray | None:
    """The region a chunk spec names for `name` (None when it names none); PlanError when it does not fit."""
    offset, shape = getattr(spec, f'{name}_offset'), getattr(spec, f'{name}_shape')
    if offset is None and shape is None:
        return None
    where = f'chunk {spec.chunk}: {name}'
    layout = LAYOUTS[name]
    if offset is None or shape is None:
        raise PlanError(f'{where} needs both {name}_offset and {name}_shape')
    if blob_size is None:
        raise PlanError(f'{where} is read from the data blob, but the request has no data_blob_path')
    if len(shape) != layout.ndim or any(size < 1 for size in shape):
        raise PlanError(f'{where}_shape {shape} must be {layout.described}, every size at least 1')
    height, width = (shape[1], shape[2]) if name == 'input_video' else (shape[3], shape[4])
    if name == 'input_video' and shape[3] not in (1, 3, 4):
        raise PlanError(f'{where}_shape {shape}: channels must be 1, 3 or 4')
    if name != 'input_video' and (shape[0] != 1 or shape[1] != (3 if name == 'vace_frames' else 1)):
        raise PlanError(f'{where}_shape {shape} must be {layout.described}')
    if height > MAX_SIDE or width > MAX_SIDE:
        raise PlanError(f'{where}_shape {shape}: frames are at most {MAX_SIDE} pixels on a side')
    size = math.prod(shape) * np.dtype(layout.dtype).itemsize
    if offset + size > blob_size:
        raise PlanError(f'{where} (offset {offset}, shape {list(shape)}: {size} bytes) reaches past the end of the '
                        f'data blob ({blob_size} bytes)')
    return BlobArray(name, offset, tuple(shape))
