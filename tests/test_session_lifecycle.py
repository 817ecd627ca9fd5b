"""Sessions end or sleep when nobody uses them, on a clock the test drives; limits count only live sessions."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from config import Config
from pipeline.registry import PipelineRegistry
from pipeline.session import Session
from pipeline.standby import STANDBY
from services.context import ServerContext
from services.errors import LimitReached

from .scope_client import ScopeClient  # noqa: F401 (gathers ICE candidates on loopback only)
from .still_pipeline import STILL
from .waiting import PATIENCE

CONNECT, GRACE, IDLE, EXPIRY = 20.0, 5.0, 30.0, 3600.0


@dataclass
class DrivenClock:
    """A clock that moves only when the test says so."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerContext]:
    """The services of a server running the `still` test pipeline, with a driven lifecycle clock."""
    registry = PipelineRegistry()
    registry.register(STILL, 'tests.still_pipeline:StillPipeline')
    config = Config(models_dir=tmp_path / 'models', assets_dir=tmp_path / 'assets', lora_dir=tmp_path / 'lora',
                    max_sessions=2, connect_timeout=CONNECT, leave_grace=GRACE, idle_after=IDLE,
                    expire_after=EXPIRY)
    context = ServerContext.build(config, registry)
    context.lifecycle.clock = DrivenClock()
    context.manager.load(context.manager.validate([('still', 'still', {})]))
    await wait_for(lambda: context.manager.status()['status'] == 'loaded')
    yield context
    await context.peers.close_all()
    await context.sessions.close_all()


async def wait_for(condition: Callable[[], Any], timeout: float = PATIENCE) -> Any:
    """The first truthy value of `condition`, polled until a generous deadline."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, 'condition not met in time'
        await asyncio.sleep(0.02)
    return value


def clock(context: ServerContext) -> DrivenClock:
    assert isinstance(context.lifecycle.clock, DrivenClock)
    return context.lifecycle.clock


async def half_open_offer(context: ServerContext) -> str:
    """An offer from a client that then vanishes: the answer is never applied, no candidate ever arrives."""
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver('video', direction='recvonly')
    client.createDataChannel('parameters')
    await client.setLocalDescription(await client.createOffer())
    sdp = '\r\n'.join(line for line in client.localDescription.sdp.split('\r\n') if 'candidate' not in line)
    await client.close()
    answer = await context.connections.offer(sdp, 'offer', {})
    return answer.peer.id


async def test_offers_that_never_connect_are_dropped_and_free_their_sessions(server: ServerContext) -> None:
    """Half-open offers hold their sessions only until the connect timeout; then offers are welcome again."""
    ids = [await half_open_offer(server) for _ in range(2)]
    with pytest.raises(LimitReached):
        await half_open_offer(server)
    await server.lifecycle.sweep()
    clock(server).advance(CONNECT - 1)
    await server.lifecycle.sweep()
    assert all(server.peers.get(peer_id) for peer_id in ids), 'still within the connect timeout'
    clock(server).advance(2)
    await server.lifecycle.sweep()
    await wait_for(lambda: not server.sessions.running())
    assert not any(server.peers.get(peer_id) for peer_id in ids)
    assert await half_open_offer(server)


async def test_named_sessions_render_only_while_someone_is_there(server: ServerContext) -> None:
    """A new named session waits without rendering; a member makes it render; idle, it stops; back, it renders."""
    session = server.sessions.create(kind='named', name='jam')
    assert not session.rendering.is_set() and session.worker.frames == 0
    audience = server.sessions.admit(session)
    audience.add_member('page-1', 'page')
    await wait_for(lambda: session.worker.frames > 3)
    audience.remove_member('page-1')
    await server.lifecycle.sweep()
    clock(server).advance(IDLE + 1)
    await server.lifecycle.sweep()
    assert not session.rendering.is_set()
    await wait_for(lambda: session.worker.sleeping)
    frames = session.worker.frames
    audience.add_member('page-2', 'page')
    await wait_for(lambda: session.worker.frames > frames + 3)


async def test_idle_named_sessions_do_not_count_against_the_limit(server: ServerContext) -> None:
    """Eight named sessions nobody watches leave room for offers (the limit here is two)."""
    for index in range(8):
        server.sessions.create(kind='named', name=f'idle-{index}')
    assert len(server.sessions.live()) == 0
    first, second = await half_open_offer(server), await half_open_offer(server)
    assert first and second


async def test_unused_named_sessions_expire_but_the_studio_stays(server: ServerContext) -> None:
    """Nobody watching and no parameter changes for the expiry time: a named session ends; the studio's does not."""
    named = server.sessions.create(kind='named', name='forgotten')
    used = server.sessions.create(kind='named', name='installation')
    studio = server.sessions.studio()
    await server.lifecycle.sweep()
    clock(server).advance(EXPIRY - 10)
    used.update({'noise_scale': 0.2}, source='audio')
    await server.lifecycle.sweep()
    clock(server).advance(20)
    await server.lifecycle.sweep()
    assert named.closed and not used.closed and not studio.closed


async def test_an_ephemeral_session_whose_peer_dropped_out_ends_after_the_grace_period(server: ServerContext) -> None:
    """A connection that breaks (not a clean hang-up) keeps its session for the grace period, then frees it."""
    peer_id = await half_open_offer(server)
    peer = server.peers.get(peer_id)
    assert peer is not None
    session = peer.session
    await peer.close(clean=False)
    await server.lifecycle.sweep()
    assert not session.closed
    clock(server).advance(GRACE + 1)
    await server.lifecycle.sweep()
    assert session.closed


async def test_a_session_made_while_the_pipeline_loads_starts_on_standby(server: ServerContext) -> None:
    """Right after start-up the default pipeline is still loading: the session is made at once and moves on."""
    server.sessions.follow_pipeline_reloads(asyncio.get_running_loop())
    server.manager.load(server.manager.validate([('still', 'still', {'width': 64, 'height': 64})]))
    session = server.sessions.create(kind='named', name='early')
    assert session.pipeline.info is STANDBY
    await wait_for(lambda: session.pipeline_id == 'still')


async def test_one_bad_chunk_does_not_end_a_shared_session(server: ServerContext) -> None:
    """A value the pipeline cannot take makes a chunk fail: the listeners hear why, the value goes back, the
    stream goes on for everyone."""
    session: Session = server.sessions.create(kind='named', name='shared')
    errors: list[str] = []
    session.error_listeners.append(lambda message, kind: errors.append(message))
    server.sessions.admit(session).add_member('page', 'page')
    await wait_for(lambda: session.worker.frames > 2)
    session.update({'noise_scale': 0.95})
    await wait_for(lambda: errors)
    assert 'too much' in errors[0] and 'went back to the previous noise_scale' in errors[0]
    await wait_for(lambda: session.state.snapshot()['noise_scale'] == 0.7)
    frames = session.worker.frames
    await wait_for(lambda: session.worker.frames > frames + 3)
    assert not session.closed
