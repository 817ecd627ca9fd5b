"""Streams from Scope's app, replayed with aiortc: a second and third stream in one page after changing the input
mode or the pipeline, and `parameters_updated` with Scope's semantics (what others changed, never one's own)."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import connect as websocket_connect

from .scope_app import ScopeApp
from .scope_client import ScopeClient
from .server import RunningServer
from .synthetic_video import PatternTrack
from .test_scope_flows import session_metrics
from .test_shared_sessions import create_session, end, join, socket_texts, socket_url

INTERNAL = {'input_mode', 'pipeline_ids', 'graph', 'produces_video', 'produces_audio', 'recording',
            'quantize_mode', 'lookahead_ms', 'beat_cache_reset_rate', 'transition', 'reset_cache'}


def updates(client: ScopeClient) -> list[dict[str, Any]]:
    """The `parameters` of every `parameters_updated` a client received."""
    return [m['parameters'] for m in client.messages if m.get('type') == 'parameters_updated']


async def test_second_and_third_streams_work_after_changing_mode_and_pipeline(server: RunningServer) -> None:
    """Video stream, stop, Input Mode Text, start; then passthrough; then Dreamfield again: every stream runs as
    chosen, nothing of a stream's own parameters comes back to be sent again, and each start's two loads load once."""
    app = ScopeApp(server.url)
    try:
        stream = await app.start('longlive', 'video', PatternTrack('flat', color=(30, 200, 60)))
        assert (await stream.wait_frames(5))[-1].shape == (512, 512, 3)
        assert (await session_metrics(stream))['input_mode'] == 'video'
        await app.stop()

        stream = await app.start('longlive', 'text')
        await stream.wait_frames(5)
        assert (await session_metrics(stream))['input_mode'] == 'text'
        await app.stop()

        stream = await app.start('passthrough', 'video', PatternTrack('flat', color=(30, 200, 60)))
        frames = await stream.wait_frames(8)
        assert np.abs(frames[-1].reshape(-1, 3).mean(0) - (30, 200, 60)).max() < 12, 'the camera comes back'
        await app.stop()

        stream = await app.start('dreamfield', 'text')
        await stream.wait_frames(5)
        metrics = await session_metrics(stream)
        assert (metrics['pipeline_id'], metrics['input_mode']) == ('dreamfield', 'text')
        await app.stop()

        assert app.overrides == {}, 'the app got nothing to send back as its own'
        assert [offer['input_mode'] for offer in app.offers] == ['video', 'text', 'video', 'text']
        assert [offer['pipeline_ids'] for offer in app.offers] == [['longlive'], ['longlive'], ['passthrough'],
                                                                  ['dreamfield']]
        log = (await app.http.get('/api/v1/logs/tail', params={'lines': 1000})).json()['lines']
        assert sum('nothing to do' in line for line in log) >= 4, 'every second load of a start changed nothing'
    finally:
        await app.close()


async def test_a_stream_hears_nothing_of_its_own_start_or_its_own_changes(server: RunningServer) -> None:
    """The app's first stream gets no `parameters_updated` for the parameters it started with, nor for the ones it
    sends: the first message it receives answers its own broken message (the channel is ordered)."""
    app = ScopeApp(server.url)
    try:
        stream = await app.start('dreamfield', 'text')
        stream.send({'noise_scale': 0.4, 'seed': 3})
        stream.channel.send('{broken')
        error = await stream.wait_message('error')
        assert stream.messages[0] is error and updates(stream) == []
        await stream.wait_frames(3)
    finally:
        await app.close()


async def test_each_client_hears_what_the_others_changed(server: RunningServer) -> None:
    """On a shared session: a controller's change reaches the other controller, a viewer and a WebSocket viewer as
    exactly the keys it changed, never the session's own keys; the one who changed it hears nothing back, and a peer
    joining with initial parameters is news to the others but not to itself."""
    session = await create_session(server, 'rehearsal')
    a, b = await join(server, session, 'control', 'alice'), await join(server, session, 'control', 'bob')
    viewer = await join(server, session, 'view', 'eve')
    clients = [a, b, viewer]
    try:
        async with websocket_connect(socket_url(server, session, 'view'), max_size=None) as socket:
            for client in clients:
                await asyncio.wait_for(client.channel_open.wait(), 15)
            a.send({'noise_scale': 0.25, 'seed': 9, 'input_mode': 'text', 'quantize_mode': 'none',
                    'graph': {'nodes': [], 'edges': []}, 'pipeline_ids': ['dreamfield']})
            for client in (b, viewer):
                assert (await client.wait_message('parameters_updated'))['parameters'] == {'noise_scale': 0.25,
                                                                                          'seed': 9}
            texts = await socket_texts(socket, lambda got: any(m['type'] == 'parameters_updated' for m in got))
            assert [m['parameters'] for m in texts if m['type'] == 'parameters_updated'] == [{'noise_scale': 0.25,
                                                                                            'seed': 9}]

            b.send({'prompts': [{'text': 'a paper boat on a rainy street', 'weight': 1.0}]})
            told = await a.wait_message('parameters_updated')
            assert list(told['parameters']) == ['prompts'], 'alice hears bob, and never her own change'
            assert all('noise_scale' not in update for update in updates(a))

            late = ScopeClient(server.url)
            clients.append(late)
            await late.connect({'session_id': session['id'], 'session_token': session['control_token'],
                                'client_label': 'carol', 'noise_scale': 0.5, 'input_mode': 'text',
                                'pipeline_ids': ['dreamfield']})
            await wait_for(lambda: {'noise_scale': 0.5} in updates(a))
            await asyncio.wait_for(late.channel_open.wait(), 15)
            late.channel.send('{broken')
            assert (await late.wait_message('error')) is late.messages[0], 'carol hears nothing of her own start'
        for client in clients:
            for update in updates(client):
                assert not INTERNAL & set(update), update
    finally:
        await end(server, session, clients)


async def test_another_control_source_reaches_every_peer(server: RunningServer) -> None:
    """The audio loop (as later OSC or MIDI) changes the session from outside: every peer hears it, only its
    controls."""
    session = await create_session(server, 'audio-driven')
    peers = [await join(server, session, 'control', f'p{i}') for i in range(2)]
    try:
        for peer in peers:
            await asyncio.wait_for(peer.channel_open.wait(), 15)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            started = await http.post(f"/api/v1/audio/sessions/{session['id']}/start",
                                      json={'source': {'kind': 'test', 'bpm': 120}})
            assert started.status_code == 200, started.text
            try:
                for peer in peers:
                    await wait_for(lambda peer=peer: len(updates(peer)) >= 5)
            finally:
                await http.post(f"/api/v1/audio/sessions/{session['id']}/stop")
        driven = {key for peer in peers for update in updates(peer) for key in update}
        assert driven and not INTERNAL & driven
    finally:
        await end(server, session, peers)


async def wait_for(condition: Any, timeout: float = 15) -> None:
    """Wait until `condition()` holds (polling), or fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, 'condition not reached'
        await asyncio.sleep(0.05)
