"""Batch uploads streamed to disk: raw THWC videos (stored with their 20-byte header) and opaque data blobs."""
from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from .batch_files import BatchFiles, Kind
from .errors import InvalidRequest, TooLarge
from .raw_video import HEADER_SIZE, Shape, header
from .uploads import receive_file

REQUIRED_HEADERS = ('X-Video-Frames', 'X-Video-Height', 'X-Video-Width')
MAX_SIDE = 4096


def video_shape(headers: Mapping[str, str]) -> Shape:
    """(T, H, W, C) from the `X-Video-*` headers; InvalidRequest when one is missing, zero or not an integer."""
    missing = [name for name in REQUIRED_HEADERS if (headers.get(name) or '').strip() in ('', '0')]
    if missing:
        raise InvalidRequest(f'Missing required headers: {", ".join(missing)} (non-zero integers: frames, height '
                             'and width of the raw uint8 THWC video in the body)')
    frames, height, width = (_positive(name, headers.get(name, '')) for name in REQUIRED_HEADERS)
    channels = _positive('X-Video-Channels', headers.get('X-Video-Channels') or '3')
    if channels not in (1, 3, 4):
        raise InvalidRequest(f'X-Video-Channels must be 1, 3 or 4, not {channels}')
    if height > MAX_SIDE or width > MAX_SIDE:
        raise InvalidRequest(f'Video frames are at most {MAX_SIDE} pixels on a side, not {width}x{height}')
    return frames, height, width, channels


async def store_video(files: BatchFiles, chunks: AsyncIterable[bytes], declared: int | None,
                      headers: Mapping[str, str], limit: int) -> dict[str, Any]:
    """Store an uploaded raw video with its header; Scope's answer `{input_path, num_frames, shape}`."""
    shape = video_shape(headers)
    expected = math.prod(shape)
    if expected > limit:
        raise TooLarge(f'Video data exceeds maximum size of {limit} bytes ({expected} bytes announced)')
    if declared is not None and declared != expected:
        raise _mismatch(expected, declared)
    file_id, target = files.create('input')
    await _receive(files, file_id, 'input', _video_body(chunks, shape, expected), target, HEADER_SIZE + expected)
    return {'input_path': file_id, 'num_frames': shape[0], 'shape': list(shape)}


async def store_blob(files: BatchFiles, chunks: AsyncIterable[bytes], declared: int | None,
                     limit: int) -> dict[str, Any]:
    """Store an uploaded data blob (at most `limit` bytes, refused as soon as it passes that); Scope's answer
    `{data_blob_path, size_bytes}`."""
    if declared is not None and declared > limit:
        raise _blob_too_large(limit)
    file_id, target = files.create('data')
    size = await _receive(files, file_id, 'data', _blob_body(chunks, limit), target, limit)
    return {'data_blob_path': file_id, 'size_bytes': size}


async def _receive(files: BatchFiles, file_id: str, kind: Kind, body: AsyncIterable[bytes], target: Path,
                   limit: int) -> int:
    try:
        return await receive_file(body, None, target, limit)
    except BaseException:
        files.remove(file_id)
        raise


async def _video_body(chunks: AsyncIterable[bytes], shape: Shape, expected: int) -> AsyncIterator[bytes]:
    yield header(shape)
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > expected:
            raise _mismatch(expected, f'more than {expected}')
        yield chunk
    if received != expected:
        raise _mismatch(expected, received)


async def _blob_body(chunks: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _blob_too_large(limit)
        yield chunk
    if received == 0:
        raise InvalidRequest('Empty request body: the data blob holds no bytes')


def _positive(name: str, value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or int(text) == 0:
        raise InvalidRequest(f'{name} must be a positive integer, not {value!r}')
    return int(text)


def _mismatch(expected: int, got: object) -> InvalidRequest:
    return InvalidRequest(f'Video data size mismatch: expected {expected} bytes (frames x height x width x '
                          f'channels), got {got}')


def _blob_too_large(limit: int) -> TooLarge:
    return TooLarge(f'Data blob exceeds maximum size of {limit} bytes')
