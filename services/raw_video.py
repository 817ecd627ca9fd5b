"""Scope's raw video container: a 20-byte header (u32 LE ndim = 4, then T, H, W, C) and uint8 THWC frames."""
from __future__ import annotations

import queue
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

HEADER = struct.Struct('<5I')
HEADER_SIZE = HEADER.size  # 20
Shape = tuple[int, int, int, int]  # frames, height, width, channels


def header(shape: Shape) -> bytes:
    """The header of a video of `shape` (T, H, W, C)."""
    return HEADER.pack(4, *shape)


def read_shape(path: Path) -> Shape:
    """The (T, H, W, C) a stored video's header gives; ValueError when it is not a 4-d header."""
    with path.open('rb') as file:
        raw = file.read(HEADER_SIZE)
    if len(raw) != HEADER_SIZE:
        raise ValueError('not a raw video: the header is cut short')
    ndim, frames, height, width, channels = HEADER.unpack(raw)
    if ndim != 4:
        raise ValueError(f'not a raw video: ndim {ndim}, expected 4')
    return frames, height, width, channels


def frames_of(path: Path) -> np.ndarray:
    """The frames of a stored video, memory-mapped (read from disk only where indexed)."""
    shape = read_shape(path)
    if shape[0] == 0:
        return np.zeros(shape, np.uint8)
    return np.memmap(path, dtype=np.uint8, mode='r', offset=HEADER_SIZE, shape=shape)


class RawVideoWriter:
    """Writes frames to a raw video file as they come; the frame count in the header is set when it closes."""

    def __init__(self, path: Path, height: int, width: int) -> None:
        self.path = path
        self.height, self.width = height, width
        self.frames = 0
        self.sized = False  # the first frame fixes the size
        self.file: BinaryIO = path.open('wb')
        self.file.write(header((0, height, width, 3)))

    def write(self, frame: np.ndarray) -> None:
        """Append one HxWx3 uint8 frame (the first frame's size is the video's size)."""
        if not self.sized:
            self.height, self.width = frame.shape[:2]
            self.sized = True
        self.file.write(np.ascontiguousarray(frame, np.uint8).data)
        self.frames += 1

    @property
    def shape(self) -> Shape:
        return self.frames, self.height, self.width, 3

    def close(self) -> None:
        """Write the final header and close the file (idempotent)."""
        if self.file.closed:
            return
        self.file.seek(0)
        self.file.write(header(self.shape))
        self.file.close()

    def __enter__(self) -> RawVideoWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class BackgroundWriter:
    """Writes chunks of frames on a thread of its own, so disk writes overlap the next chunk (at most `depth` chunks
    wait); an error in writing comes back on the next `put` or on `close`."""

    def __init__(self, writer: RawVideoWriter, depth: int = 4, on_start: Callable[[], None] | None = None) -> None:
        self.writer = writer
        self.on_start = on_start  # called first in the writer's thread
        self.error: BaseException | None = None
        self.queue: queue.Queue[list[np.ndarray] | None] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, name='batch-writer', daemon=True)
        self.thread.start()

    def put(self, frames: list[np.ndarray]) -> None:
        self._raise()
        self.queue.put(frames)

    def close(self, check: bool = True) -> None:
        """Write what is queued, then the final header (idempotent); `check` raises a write error."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self.writer.close()
        if check:
            self._raise()

    def _run(self) -> None:
        if self.on_start is not None:
            self.on_start()
        while (frames := self.queue.get()) is not None:
            if self.error is not None:
                continue  # keep taking chunks so the generation never blocks on a full queue
            try:
                for frame in frames:
                    self.writer.write(frame)
            except BaseException as error:
                self.error = error

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
