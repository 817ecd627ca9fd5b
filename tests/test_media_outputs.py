"""The outputs fed by a session's one H.264 encode: HLS segments and MP4 recordings decode with PyAV."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import numpy as np
import pytest

from media.hls import HlsOutput
from media.recorder import Recording
from pipeline.frame_bus import FrameBus
from rtc.fanout import SessionEncoders

from .waiting import PATIENCE


class Camera:
    """Publishes moving bars into a frame bus at about 30 fps from a thread, as a pipeline worker does."""

    def __init__(self, bus: FrameBus, width: int = 320, height: int = 240) -> None:
        self.bus, self.size = bus, (width, height)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        count = 0
        while not self.stop.is_set():
            width, height = self.size
            image = np.zeros((height, width, 3), np.uint8)
            image[:, (4 * count) % width:] = (200, 60, 40)
            self.bus.publish(image, 0)
            count += 1
            time.sleep(1 / 30)


@pytest.fixture
async def camera() -> AsyncIterator[tuple[Camera, SessionEncoders]]:
    bus = FrameBus(asyncio.get_running_loop())
    source = Camera(bus)
    source.thread.start()
    yield source, SessionEncoders(bus)
    source.stop.set()
    bus.close()


async def wait_for(condition, timeout: float = PATIENCE) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'the condition did not come true in time'
        await asyncio.sleep(0.05)


def decoded(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


async def test_hls_lists_segments_that_decode_on_their_own(camera: tuple[Camera, SessionEncoders],
                                                           tmp_path: Path) -> None:
    """Segments start on a keyframe and the playlist's durations agree with its target duration (how close to a
    second they are depends on the machine's pace: bench/bench_daydream.py reports it)."""
    _, encoders = camera
    hls = HlsOutput(tmp_path)
    hls.start(encoders)
    await wait_for(lambda: hls.playlist.exists() and hls.playlist.read_text().count('.ts') >= 3)
    playlist = hls.playlist.read_text()
    segments = [line for line in playlist.splitlines() if line.endswith('.ts')]
    durations = [float(line.split(':')[1].rstrip(',')) for line in playlist.splitlines() if line.startswith('#EXTINF')]
    target = int(next(line for line in playlist.splitlines() if line.startswith('#EXT-X-TARGETDURATION:'))
                 .split(':')[1])
    assert len(durations) == len(segments) and all(0 < d and round(d) <= target for d in durations), playlist
    for name in segments:
        path = hls.segment(name)
        assert path is not None and path.exists()
        frames = decoded(path)
        assert frames and (frames[0].width, frames[0].height) == (320, 240)
        assert frames[0].key_frame, f'{name} starts on a keyframe: a player can begin with it'
    await hls.stop()
    assert hls.segment('../secret.ts') is None


async def test_recording_cuts_parts_that_decode_with_their_duration(camera: tuple[Camera, SessionEncoders],
                                                                    tmp_path: Path) -> None:
    source, encoders = camera
    recording = Recording(tmp_path)
    recording.start(encoders)
    await wait_for(lambda: recording.muxer is not None and recording.muxer.frames >= 45)
    [(first, seconds)] = await recording.cut()
    with av.open(str(first)) as container:
        duration = (container.duration or 0) / av.time_base
    frames = decoded(first)
    assert len(frames) >= 45
    assert abs(duration - seconds) < 0.1, 'the file lasts as long as the span of frames it holds (+ one frame)'
    await wait_for(lambda: recording.muxer is not None and recording.muxer.frames >= 10)
    source.size = (256, 192)  # the pipeline changed size: a new part starts
    await wait_for(lambda: recording.muxer is not None and recording.muxer.size == (256, 192))
    parts = await recording.cut()
    await recording.stop()
    assert [decoded(path)[0].width for path, _ in parts] == [320, 256]
