"""When a video encoder fails, viewers see the stream go on with a fresh encoder, or hear why it stopped."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed

from .server import RunningServer, serving
from .test_shared_sessions import create_session, end, join, socket_url
from .waiting import PATIENCE


@pytest.fixture(scope='module')
def glitchy_server() -> Iterator[RunningServer]:
    """A server running the glitchy pipeline, whose broken frames no encoder takes."""
    with serving(pipeline='glitchy', env={'DREAMSTAGE_PIPELINES': 'tests.glitchy_pipeline:GlitchyPipeline'}) as running:
        yield running


async def test_a_passing_encoder_failure_does_not_stop_the_viewers(glitchy_server: RunningServer) -> None:
    """Two broken frames make the VP8 and JPEG encoders fail twice; fresh encoders take over and frames keep coming."""
    session = await create_session(glitchy_server, 'glitch-once')
    controller = await join(glitchy_server, session)
    try:
        async with websocket_connect(socket_url(glitchy_server, session, 'view'), max_size=None) as socket:
            await controller.wait_frames(5)
            assert len(await jpegs(socket, 5)) == 5
            await asyncio.wait_for(controller.channel_open.wait(), PATIENCE)
            earlier = len(glitchy_server.log_path.read_text(errors='replace'))
            controller.send({'glitches': 2})
            await wait_for_log(glitchy_server, lambda log: 'vp8 encoder failed' in log[earlier:]
                               and 'JPEG encoder failed' in log[earlier:])
            assert len(await controller.wait_frames(10)) == 10, 'the WebRTC video goes on'
            assert len(await jpegs(socket, 10)) == 10, 'the WebSocket video goes on'
        assert not [m for m in controller.messages if m.get('type') == 'stream_stopped']
        log = glitchy_server.log_path.read_text(errors='replace')[earlier:]
        assert log.count('vp8 encoder failed') <= 2 and log.count('JPEG encoder failed') <= 2, 'a frame fails once'
        assert 'viewers are stopped' not in log
    finally:
        await end(glitchy_server, session, [controller])


async def test_an_encoder_that_keeps_failing_stops_its_viewers_with_the_reason(glitchy_server: RunningServer) -> None:
    """Broken frames without end: after a few fresh encoders, every viewer gets `stream_stopped` with an error."""
    session = await create_session(glitchy_server, 'glitch-forever')
    controller = await join(glitchy_server, session)
    try:
        async with websocket_connect(socket_url(glitchy_server, session, 'view'), max_size=None) as socket:
            await controller.wait_frames(3)
            await jpegs(socket, 3)
            await asyncio.wait_for(controller.channel_open.wait(), PATIENCE)
            controller.send({'glitches': 1_000_000})
            stopped = await controller.wait_message('stream_stopped')
            assert 'Video encoding failed' in stopped['error_message'] and 'ValueError' in stopped['error_message']
            socket_stopped = await stopped_message(socket)
            assert socket_stopped['type'] == 'stream_stopped'
            assert 'Video encoding failed' in socket_stopped['error_message']
        assert controller.pc is not None
        deadline = time.monotonic() + PATIENCE
        while controller.pc.connectionState != 'closed':
            assert time.monotonic() < deadline, f'the connection stayed {controller.pc.connectionState}'
            await asyncio.sleep(0.1)
        assert httpx.get(f'{glitchy_server.url}/health').status_code == 200
    finally:
        await end(glitchy_server, session, [controller])


async def jpegs(socket: ClientConnection, count: int, timeout: float = PATIENCE) -> list[bytes]:
    """The next `count` JPEG frames of a WebSocket viewer (text messages are skipped)."""
    frames: list[bytes] = []
    async with asyncio.timeout(timeout):
        while len(frames) < count:
            message = await socket.recv()
            if isinstance(message, bytes):
                frames.append(message)
    return frames


async def stopped_message(socket: ClientConnection, timeout: float = PATIENCE) -> dict:
    """The `stream_stopped` message, read past frames and other messages (what the controller changed), before the
    server closes the socket."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                message = await socket.recv()
            except ConnectionClosed:
                raise AssertionError('the socket closed without stream_stopped') from None
            if isinstance(message, str) and (text := json.loads(message))['type'] == 'stream_stopped':
                return text


async def wait_for_log(server: RunningServer, condition: Callable[[str], bool], timeout: float = PATIENCE) -> str:
    """The server's whole log once `condition(log)` holds (a precondition: the encoders really failed)."""
    deadline = time.monotonic() + timeout
    while True:
        log = server.log_path.read_text(errors='replace')
        if condition(log):
            return log
        assert time.monotonic() < deadline, f'the encoders did not fail as expected:\n{log[-3000:]}'
        await asyncio.sleep(0.1)

