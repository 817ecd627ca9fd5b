"""Shared sessions: many peers on one stream, control and view links, limits, and the WebSocket video path."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect as websocket_connect

from .scope_client import ScopeClient
from .server import RunningServer
from .waiting import PATIENCE, until


async def create_session(server: RunningServer, name: str = 'jam') -> dict:
    """POST /api/v1/sessions: the new session with its links and tokens."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post('/api/v1/sessions', json={'name': name})
    assert response.status_code == 201, response.text
    return response.json()


async def join(server: RunningServer, session: dict, role: str = 'control', label: str = '',
               keep_images: bool = True) -> ScopeClient:
    """An aiortc client joined to a shared session with its control or view token."""
    client = ScopeClient(server.url, keep_images=keep_images)
    await client.connect({'session_id': session['id'], 'session_token': session[f'{role}_token'],
                          'client_label': label or role})
    return client


def socket_url(server: RunningServer, session: dict, role: str) -> str:
    """The WebSocket video URL of a session for a role."""
    query = f"session={session['id']}&token={session[f'{role}_token']}"
    return server.url.replace('http', 'ws') + f'/api/v1/ws/video?{query}'


async def end(server: RunningServer, session: dict, clients: list[ScopeClient]) -> None:
    for client in clients:
        await client.close()
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.delete(f"/api/v1/sessions/{session['id']}")


@pytest.fixture
def small_pictures(server: RunningServer) -> Iterator[None]:
    """Dreamfield at 256x256 on the shared server (put back at its default size afterwards): five aiortc peers in
    the test process must keep up with their streams on a busy machine (or the server rightly drops those that stop
    answering ICE consent checks)."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield'],
                                                 'load_params': {'width': 256, 'height': 256}}).raise_for_status()
        server.wait_ready()
        yield
        http.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).raise_for_status()
        server.wait_ready()


async def test_five_peers_see_the_same_stream_and_one_steers_for_all(server: RunningServer,
                                                                     small_pictures: None) -> None:
    """Five peers on one link all get frames; a prompt change from one reaches every other."""
    session = await create_session(server)
    assert session['control_url'].endswith(f"/s/{session['id']}?token={session['control_token']}")
    clients = [await join(server, session, 'control' if i < 2 else 'view', f'peer{i}', keep_images=i >= 2)
               for i in range(5)]
    try:
        for client in clients:
            assert len(await client.wait_frames(5)) == 5
        before = [await c.latest_frame() for c in clients[2:]]
        await asyncio.wait_for(clients[0].channel_open.wait(), PATIENCE)
        clients[0].send({'prompts': [{'text': 'molten gold lava flowing in darkness', 'weight': 1.0}]})
        for client, old in zip(clients[1:], [None, *before], strict=True):
            await client.wait_parameters(lambda parameters: str(parameters.get('prompts', [{}])[0].get('text'))
                                         .startswith('molten gold'))
            if old is not None:  # a viewer: its picture changes (frames may come slowly to a starved client)
                assert await client.frame_unlike(old, 10) is not None, 'the new prompt changes the picture'
        detail = httpx.get(f"{server.url}/api/v1/sessions/{session['id']}").json()
        assert (detail['controllers'], detail['viewers']) == (2, 3)
        assert detail['log'][-1]['who'] == 'peer0' and 'prompts' in detail['log'][-1]['keys']
    finally:
        await end(server, session, clients)


async def test_a_view_link_cannot_steer(server: RunningServer) -> None:
    """Messages from a view-only peer are refused with an error and change nothing."""
    session = await create_session(server)
    viewer = await join(server, session, 'view')
    try:
        await viewer.wait_frames(3)
        await asyncio.wait_for(viewer.channel_open.wait(), PATIENCE)
        viewer.send({'noise_scale': 0.01, 'paused': True})
        error = await viewer.wait_message('error')
        assert 'view-only' in error['error_message']
        detail = httpx.get(f"{server.url}/api/v1/sessions/{session['id']}").json()
        assert detail['parameters']['noise_scale'] != 0.01 and detail['parameters']['paused'] is False
    finally:
        await end(server, session, [viewer])


async def test_joining_needs_the_right_token(server: RunningServer) -> None:
    """A wrong token is refused (403), an unknown session too (404), and the server keeps serving."""
    session = await create_session(server)
    try:
        for initial, status in (({'session_id': session['id'], 'session_token': 'guess'}, 403),
                                ({'session_id': session['id']}, 403),
                                ({'session_id': 'nope', 'session_token': 'x'}, 404)):
            client = ScopeClient(server.url)
            with pytest.raises(httpx.HTTPStatusError) as error:
                await client.connect(initial)
            assert error.value.response.status_code == status
            await client.close()
        page = httpx.get(f"{server.url}/s/{session['id']}?token=guess")
        assert 'token is wrong' in page.text
    finally:
        await end(server, session, [])


async def test_a_stalled_viewer_does_not_hold_up_the_others(server: RunningServer) -> None:
    """A WebSocket viewer that stops reading leaves the WebRTC viewers streaming (bench/bench_sharing.py measures
    their frame rate beside it)."""
    session = await create_session(server)
    watcher = await join(server, session, 'view')
    try:
        await watcher.wait_frames(10)
        url = socket_url(server, session, 'view')
        async with websocket_connect(url, max_queue=1, max_size=None) as stalled:
            await stalled.recv()  # one frame, then it stops reading
            made = await frames_made(server, session)
            assert await until(lambda: frames_made_since(server, session, made + 90)), \
                'the session goes on making frames'  # three seconds of video: the stalled socket is full by now
            assert len(await watcher.wait_frames(30)) == 30, 'the WebRTC viewer still gets frames'
    finally:
        await end(server, session, [watcher])


async def frames_made(server: RunningServer, session: dict) -> int:
    """How many frames the session has made so far."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        return int((await http.get('/api/v1/session/metrics')).json()['sessions'][session['id']]['frames_out'])


async def frames_made_since(server: RunningServer, session: dict, count: int) -> bool:
    return await frames_made(server, session) >= count


async def test_websocket_video_delivers_jpeg_frames_and_takes_parameters(server: RunningServer) -> None:
    """The WebSocket path sends JPEG frames; a controller's JSON messages change the session, a broken one gets an
    error; the socket hears of changes made by others, never its own back."""
    session = await create_session(server)
    url = socket_url(server, session, 'control')
    peer = await join(server, session, 'control', 'peer')
    try:
        async with websocket_connect(url, max_size=None) as socket:
            frames = [await socket.recv() for _ in range(5)]
            assert all(isinstance(f, bytes) and f[:2] == b'\xff\xd8' for f in frames)
            await socket.send(json.dumps({'noise_scale': 0.11}))
            await socket.send('{broken')
            texts = await socket_texts(socket, lambda received: any(r['type'] == 'error' for r in received))
            assert [r['type'] for r in texts] == ['error']
            detail = httpx.get(f"{server.url}/api/v1/sessions/{session['id']}").json()
            assert detail['parameters']['noise_scale'] == 0.11
            assert (await peer.wait_message('parameters_updated'))['parameters'] == {'noise_scale': 0.11}

            await asyncio.wait_for(peer.channel_open.wait(), 5)
            peer.send({'noise_scale': 0.33})
            texts = await socket_texts(socket, lambda received: any(r['type'] == 'parameters_updated'
                                                                    for r in received))
            assert [r['parameters'] for r in texts if r['type'] == 'parameters_updated'] == [{'noise_scale': 0.33}]
    finally:
        await end(server, session, [peer])


async def socket_texts(socket: Any, done: Callable[[list[dict]], bool]) -> list[dict]:
    """The JSON text messages of a socket (frames skipped) until `done` says enough arrived."""
    received: list[dict] = []
    while not done(received):
        message = await asyncio.wait_for(socket.recv(), 10)
        if isinstance(message, str):
            received.append(json.loads(message))
    return received


async def test_ending_a_session_stops_every_peer(server: RunningServer) -> None:
    """DELETE /api/v1/sessions/{id}: every peer gets stream_stopped; the session is gone."""
    session = await create_session(server)
    clients = [await join(server, session) for _ in range(2)]
    for client in clients:
        await client.wait_frames(2)
    await end(server, session, [])
    for client in clients:
        await client.wait_message('stream_stopped')
        await client.close()
    sessions = httpx.get(f'{server.url}/api/v1/sessions').json()['sessions']
    assert session['id'] not in [s['id'] for s in sessions]


def test_limits_answer_429() -> None:
    """Over the session or viewer limit, offers get 429 with a clear message."""
    limited = RunningServer(env={'DREAMSTAGE_MAX_SESSIONS': '2', 'DREAMSTAGE_MAX_PEERS_PER_SESSION': '1'})

    async def scenario() -> None:
        session = await create_session(limited)
        first = await join(limited, session)
        second = ScopeClient(limited.url)
        with pytest.raises(httpx.HTTPStatusError) as error:
            await second.connect({'session_id': session['id'], 'session_token': session['view_token']})
        assert error.value.response.status_code == 429 and 'Too many viewers' in error.value.response.text
        other = ScopeClient(limited.url)
        await other.connect({})
        third = ScopeClient(limited.url)
        with pytest.raises(httpx.HTTPStatusError) as error:
            await third.connect({})
        assert error.value.response.status_code == 429 and 'Too many sessions' in error.value.response.text
        for client in (first, second, other, third):
            await client.close()

    try:
        limited.wait_ready()
        asyncio.run(scenario())
    finally:
        limited.stop()


def test_offers_and_uploads_are_rate_limited() -> None:
    """Bursts of offers or uploads from one address get 429 after the limit; other endpoints keep answering."""
    limited = RunningServer(pipeline='none', env={'DREAMSTAGE_OFFERS_PER_MINUTE': '5',
                                                  'DREAMSTAGE_UPLOADS_PER_MINUTE': '3'})
    try:
        limited.wait_ready(loaded=False)
        offers = [httpx.post(f'{limited.url}/api/v1/webrtc/offer', json={'sdp': 'x', 'type': 'offer'}).status_code
                  for _ in range(7)]
        assert offers == [400] * 5 + [429] * 2
        uploads = [httpx.post(f'{limited.url}/api/v1/assets?filename=a.wav', content=b'RIFF').status_code
                   for _ in range(4)]
        assert uploads[-1] == 429 and 429 not in uploads[:3]
        assert httpx.get(f'{limited.url}/health').status_code == 200
    finally:
        limited.stop()


