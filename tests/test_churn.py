"""Connections that come and go leave nothing behind: sessions, peers, threads, open files and video encoders."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest

from pipeline.frame_bus import FrameBus
from rtc.encoder import CodecHolder
from rtc.fanout import SharedEncoder
from rtc.jpeg_fanout import JpegFanout
from rtc.latest import LatestFanout

from .scope_client import visit
from .server import RunningServer, serving
from .waiting import PATIENCE

CYCLES = 100
# Thread pools (the event loop's executor, AnyIO's) grow on demand and keep their idle threads, so after the
# warm-up they may still add a few; a thread left behind by each connection would add a hundred.
POOL_HEADROOM = 6


@pytest.fixture(scope='module')
def churn_server() -> Iterator[RunningServer]:
    """A server of its own, so the baseline is not moved by other tests' sessions."""
    with serving() as running:
        yield running


async def test_a_hundred_short_visits_leave_nothing_behind(churn_server: RunningServer) -> None:
    """A hundred clients connect, watch three frames and leave: sessions, peers, threads and open files come back."""
    for _ in range(5):  # warm up: the thread pools and the codecs' first use
        await visit(churn_server.url)
    await wait_until(lambda: counts(churn_server)[:2] == (0, 0), PATIENCE)
    sessions, peers, threads, files = counts(churn_server)

    for _ in range(CYCLES):
        await visit(churn_server.url)

    def back_to_baseline() -> bool:
        now_sessions, now_peers, now_threads, now_files = counts(churn_server)
        return (now_sessions, now_peers) == (sessions, peers) and now_threads <= threads + POOL_HEADROOM \
            and now_files <= files
    await wait_until(back_to_baseline, PATIENCE,
                     lambda: f'{counts(churn_server)} vs {(sessions, peers, threads, files)}')


@pytest.mark.parametrize('make', [lambda bus: SharedEncoder(bus, 'vp8'), lambda bus: SharedEncoder(bus, 'h264'),
                                  JpegFanout], ids=['vp8', 'h264', 'jpeg'])
async def test_an_encoder_frees_its_codec_when_the_last_viewer_leaves(make: Callable[[FrameBus], LatestFanout]) \
        -> None:
    """The codec's buffers (megabytes) go when nobody watches, not when the garbage collector gets round to it; the
    next viewer gets a fresh codec."""
    bus = FrameBus(asyncio.get_running_loop())
    fanout = make(bus)
    codec = codec_of(fanout)
    for _ in range(2):
        fanout.attach()
        await encoded_frame(bus, fanout)
        assert codec.context is not None
        fanout.detach()
        await wait_until(lambda: codec.context is None, PATIENCE)


async def test_an_encoder_frees_its_codec_and_the_bus_its_last_picture_when_the_session_ends() -> None:
    bus = FrameBus(asyncio.get_running_loop())
    fanout = SharedEncoder(bus, 'vp8')
    fanout.attach()
    await encoded_frame(bus, fanout)
    bus.close()
    assert bus.latest is None
    await wait_until(lambda: fanout.encoder.context is None, PATIENCE)
    fanout.detach()


def counts(server: RunningServer) -> tuple[int, int, int, int]:
    """(sessions, peers, threads, open files) of the server (the files counted before asking, so the request's own
    connection is not among them)."""
    threads, files = server.threads(), server.open_files()
    figures = httpx.get(f'{server.url}/api/v1/session/metrics', timeout=10).json()
    return len(figures['sessions']), figures['server']['peers'], threads, files


def codec_of(fanout: LatestFanout) -> CodecHolder:
    encoder = fanout.encoder  # type: ignore[attr-defined]
    assert isinstance(encoder, CodecHolder)
    return encoder


async def encoded_frame(bus: FrameBus, fanout: LatestFanout) -> None:
    """Publish pictures until the fan-out has encoded one."""
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    seq = fanout.latest_seq
    deadline = time.monotonic() + PATIENCE
    while fanout.latest_seq == seq:
        assert time.monotonic() < deadline, 'nothing was encoded'
        bus.publish(image, 0)
        await asyncio.sleep(0.05)


async def wait_until(condition: Callable[[], bool], timeout: float, explain: Callable[[], str] = str) -> None:
    """Wait for a condition (checked every 0.1 s); fail with `explain()` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'not within {timeout} s: {explain()}'
        await asyncio.sleep(0.1)
