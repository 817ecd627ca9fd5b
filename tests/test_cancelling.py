"""Readers of a session's pictures and packets stop when they are cancelled, even in the moment a new one arrives
(`asyncio.wait_for` on Python 3.11 dropped such a cancel: under load, stopping a recording waited for ever while it
went on recording)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from pipeline.frame_bus import FrameBus
from rtc.encoder import EncodedFrame
from rtc.fanout import SharedEncoder


async def test_a_frame_bus_reader_cancelled_as_a_picture_arrives_stops() -> None:
    bus = FrameBus(asyncio.get_running_loop())
    try:
        reader = await cancelled_as_news_arrives(bus.next(0, timeout=3600),
                                                 lambda: bus.publish(np.zeros((8, 8, 3), np.uint8), 0))
        assert reader.cancelled(), f'the reader went on: {reader}'
    finally:
        bus.close()


async def test_an_encoder_reader_cancelled_as_a_packet_arrives_stops() -> None:
    bus = FrameBus(asyncio.get_running_loop())
    encoder = SharedEncoder(bus, 'h264')
    encoder.attach()
    try:
        reader = await cancelled_as_news_arrives(encoder.next(0),
                                                 lambda: encoder.publish(EncodedFrame(b'', 0, True, 1, 1), 1))
        assert reader.cancelled(), f'the reader went on: {reader}'
    finally:
        encoder.detach()
        bus.close()


async def cancelled_as_news_arrives(wait: Awaitable[Any], news: Callable[[], object]) -> asyncio.Future[Any]:
    """Start `wait`, let it block, then deliver `news` and cancel it in the same turn of the event loop."""
    reader = asyncio.ensure_future(wait)
    await turns()
    assert not reader.done(), 'the reader waits for news'
    news()
    reader.cancel()
    await turns()
    assert reader.done(), 'the reader has finished, one way or the other'
    return reader


async def turns(count: int = 10) -> None:
    """Let the event loop run a few turns (no clock is involved: each turn runs what is ready)."""
    for _ in range(count):
        await asyncio.sleep(0)
