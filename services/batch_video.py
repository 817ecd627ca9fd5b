"""Frames in and out of batch generation: input frames at the pipeline's size, MP4 files in both directions."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .raw_video import RawVideoWriter, Shape, frames_of

MP4_CRF = '18'  # visually lossless H.264


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """An HxWxC uint8 frame with 1, 3 or 4 channels as HxWx3 RGB."""
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.shape[2] == 1:
        return np.repeat(frame, 3, axis=2)
    return np.ascontiguousarray(frame[..., :3])


def fit(frame: np.ndarray, width: int | None, height: int | None) -> np.ndarray:
    """An RGB frame scaled to width x height as live input frames are (FFmpeg's scaler); unchanged without a size."""
    rgb = to_rgb(frame)
    if not width or not height or rgb.shape[:2] == (height, width):
        return rgb
    return av.VideoFrame.from_ndarray(rgb, format='rgb24').to_ndarray(format='rgb24', width=width, height=height)


def encode_mp4(raw: Path, target: Path, fps: float) -> None:
    """Encode a raw video as an H.264 MP4 (yuv420p, so sides are cut to even sizes) written under a temporary name."""
    frames = frames_of(raw)
    count, height, width = frames.shape[:3]
    if count == 0:
        raise ValueError('the video has no frames')
    even_height, even_width = max(2, height - height % 2), max(2, width - width % 2)
    partial = target.with_name(f'.{target.name}.part')
    try:
        with av.open(str(partial), 'w', format='mp4') as container:
            stream = container.add_stream('libx264', rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = even_width, even_height, 'yuv420p'
            stream.options = {'crf': MP4_CRF, 'preset': 'veryfast'}
            for index in range(count):
                picture = np.ascontiguousarray(frames[index, :even_height, :even_width, :3])
                container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format='rgb24')))
            container.mux(stream.encode(None))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def decode_to_raw(source: Path, target: Path, max_frames: int, width: int | None = None,
                  height: int | None = None) -> Shape:
    """Decode up to `max_frames` frames of a video file (scaled to width x height when given) into a raw video file;
    one frame in memory at a time. ValueError for a file without video."""
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as error:
        raise ValueError(f'cannot read {source.name}: {error}') from None
    with container, RawVideoWriter(target, height or 0, width or 0) as writer:
        if not container.streams.video:
            raise ValueError(f'{source.name} holds no video')
        for frame in container.decode(video=0):
            if writer.frames >= max_frames:
                break
            if width and height:
                writer.write(frame.to_ndarray(format='rgb24', width=width, height=height))
            else:
                writer.write(frame.to_ndarray(format='rgb24'))
        if writer.frames == 0:
            raise ValueError(f'{source.name}: no frame could be decoded')
        return writer.shape
