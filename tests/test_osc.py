"""OSC as TouchDesigner sends it: python-osc over UDP on loopback drives Scope client sessions and a named session,
bad messages are dropped and counted, a flood leaves the server healthy, OSC out follows the analysis."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from .control_helpers import wait_for
from .scope_client import ScopeClient
from .server import RunningServer


@pytest.fixture
def osc(server: RunningServer) -> SimpleUDPClient:
    """An OSC sender aimed at the server's port number (UDP)."""
    return SimpleUDPClient('127.0.0.1', server.port)


@pytest.fixture
def named(api: httpx.Client) -> Iterator[dict[str, Any]]:
    """A shared session named 'OSC Stage' (address segment osc-stage), ended afterwards."""
    assert api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).status_code == 200
    created = api.post('/api/v1/sessions', json={'name': 'OSC Stage'})
    assert created.status_code == 201, created.text
    yield created.json()
    api.delete(f"/api/v1/sessions/{created.json()['id']}")


def parameters(api: httpx.Client, session_id: str) -> dict[str, Any]:
    return api.get(f'/api/v1/sessions/{session_id}').json()['parameters']


def dropped(api: httpx.Client) -> dict[str, int]:
    return api.get('/api/v1/osc/status').json()['dropped']


async def test_osc_drives_prompts_and_parameters_of_a_scope_client_and_a_named_session(
        client: ScopeClient, osc: SimpleUDPClient, api: httpx.Client, named: dict[str, Any]) -> None:
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect({'prompts': [{'text': 'a calm sea', 'weight': 1.0}]})
    await client.wait_frames(3)
    session_id = client.session_id or ''
    osc.send_message('/scope/noise_scale', 0.25)
    osc.send_message('/scope/prompt', 'a red forest at dawn')
    osc.send_message('/scope/seed', 7.0)  # TouchDesigner sends every channel as a float

    def scope_client_followed() -> bool:
        values = parameters(api, session_id)
        return values.get('noise_scale') == 0.25 and values.get('seed') == 7 and \
            values.get('prompts') == [{'text': 'a red forest at dawn', 'weight': 1.0}]

    assert await asyncio.to_thread(wait_for, scope_client_followed), parameters(api, session_id)
    log = api.get(f'/api/v1/sessions/{session_id}').json()['log']
    assert any(entry['who'] == 'osc' for entry in log), log

    stage = named['id']
    osc.send_message('/dreamstage/osc-stage/noise_scale', 0.4)
    osc.send_message('/dreamstage/osc-stage/transition_steps', 6)
    osc.send_message('/dreamstage/osc-stage/prompt', 'a blue city')
    assert await asyncio.to_thread(
        wait_for, lambda: parameters(api, stage).get('prompts') == [{'text': 'a blue city', 'weight': 1.0}]), \
        parameters(api, stage)
    assert parameters(api, stage)['noise_scale'] == 0.4
    assert parameters(api, session_id)['noise_scale'] == 0.25, 'a named address reaches that session only'
    start = len(client.frames)
    assert len(await client.wait_frames(start + 5)) >= start + 5, 'the stream goes on'


def test_bad_osc_is_dropped_counted_and_shown(api: httpx.Client, osc: SimpleUDPClient, server: RunningServer,
                                              named: dict[str, Any]) -> None:
    before = dropped(api)
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sendto(b'this is not OSC', ('127.0.0.1', server.port))
    raw.sendto(b'/scope/seed\x00,i\x00\x00', ('127.0.0.1', server.port))  # an int without its four bytes
    raw.close()
    osc.send_message('/elsewhere/noise_scale', 0.5)
    osc.send_message('/dreamstage/osc-stage/no_such_parameter', 1)
    osc.send_message('/dreamstage/osc-stage/noise_scale', 'loud')
    osc.send_message('/dreamstage/osc-stage/noise_scale', 5.0)
    osc.send_message('/dreamstage/osc-stage/paused', 2)
    osc.send_message('/dreamstage/osc-stage/seed', 1.5)
    osc.send_message('/dreamstage/nobody-here/noise_scale', 0.1)
    expected = {'malformed': 2, 'unknown_address': 2, 'invalid_value': 4, 'no_session': 1}

    def all_counted() -> bool:
        now = dropped(api)
        return all(now[reason] - before[reason] >= count for reason, count in expected.items())

    assert wait_for(all_counted), (before, dropped(api))
    assert {reason: dropped(api)[reason] - before[reason] for reason in expected} == expected
    status = api.get('/api/v1/osc/status').json()
    assert status['listening'] and status['port'] == server.port
    reasons = ' '.join(problem['detail'] for problem in status['recent_problems'])
    assert 'less than or equal to 1' in reasons and "'loud' is not a valid float" in reasons
    assert parameters(api, named['id'])['noise_scale'] == 0.7, 'nothing bad reached the session'
    assert api.get('/health').status_code == 200


def test_paths_docs_and_the_live_stream(api: httpx.Client, osc: SimpleUDPClient, server: RunningServer,
                                        named: dict[str, Any]) -> None:
    paths = api.get('/api/v1/osc/paths').json()
    runtime = {entry['osc_address']: entry for entry in paths['active']['Runtime']}
    assert runtime['/scope/noise_scale']['min'] == 0 and runtime['/scope/noise_scale']['max'] == 1
    assert {'/scope/prompt', '/scope/paused', '/scope/reset_cache', '/scope/transition_steps',
            '/scope/interpolation_method', '/scope/kv_cache_attention_bias'} <= set(runtime)
    assert '/dreamstage/osc-stage/<param>' in [e['osc_address'] for e in paths['dreamstage']['Sessions']]
    page = api.get('/api/v1/osc/docs')
    assert page.headers['content-type'].startswith('text/html')
    assert f'SimpleUDPClient(&#x27;127.0.0.1&#x27;, {server.port}).send_message(&#x27;/scope/noise_scale' in page.text

    events: list[dict[str, Any]] = []

    def listen() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http, http.stream('GET', '/api/v1/osc/stream') as body:
            for line in body.iter_lines():
                if line.startswith('data: '):
                    events.append(json.loads(line[6:]))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert wait_for(lambda: api.get('/api/v1/osc/status').json() is not None)

    def heard() -> bool:
        osc.send_message('/dreamstage/osc-stage/noise_scale', 0.33)
        return bool(events)

    assert wait_for(heard, interval=0.2), 'the SSE stream carries received messages'
    assert events[0] == {'type': 'osc_command', 'key': 'noise_scale', 'value': 0.33, 'session': 'osc-stage'}


def test_a_flood_of_osc_leaves_the_server_healthy(api: httpx.Client, osc: SimpleUDPClient,
                                                  named: dict[str, Any]) -> None:
    before = api.get('/api/v1/osc/status').json()
    for index in range(10_000):
        osc.send_message('/dreamstage/osc-stage/noise_scale', (index % 100) / 100)
    assert api.get('/health', timeout=10).status_code == 200, 'the server answers during and after the flood'

    def settled() -> bool:
        osc.send_message('/dreamstage/osc-stage/noise_scale', 0.123)
        return parameters(api, named['id'])['noise_scale'] == 0.123

    assert wait_for(settled, interval=0.2), 'the last value still gets through'
    after = api.get('/api/v1/osc/status').json()
    received = after['received'] - before['received']
    assert 0 < received <= 10_100, 'UDP may drop some under a flood; none is counted twice'
    assert after['dropped'] == before['dropped'], 'a flood of good messages drops none of them'
    assert after['applied'] - before['applied'] == received
    versions = api.get('/api/v1/session/metrics').json()['sessions'][named['id']]['parameters_version']
    assert versions < received, f'coalesced: {received} messages made {versions} updates'


def test_osc_out_sends_features_and_beats(api: httpx.Client, named: dict[str, Any]) -> None:
    heard: list[tuple[str, list[Any]]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: heard.append((address, list(args))))
    receiver = ThreadingOSCUDPServer(('127.0.0.1', 0), dispatcher)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    stage = named['id']
    try:
        assert api.put('/api/v1/osc/out', json={'target': f'127.0.0.1:{receiver.server_address[1]}'}).status_code == 200
        assert api.post('/api/v1/tempo/enable', json={'source': 'audio', 'session_id': stage}).status_code == 200
        started = api.post(f'/api/v1/audio/sessions/{stage}/start', json={'source': {'kind': 'test', 'bpm': 120},
                                                                          'preset': 'beat-pulse'})
        assert started.status_code == 200, started.text
        addresses = lambda: {address for address, _ in heard}  # noqa: E731
        assert wait_for(lambda: {'/dreamstage/osc-stage/audio/energy', '/dreamstage/osc-stage/beat',
                                 '/dreamstage/osc-stage/bpm'} <= addresses()), sorted(addresses())
        bass = [args[0] for address, args in heard if address == '/dreamstage/osc-stage/audio/bass']
        assert max(bass) > 0.5, 'the features are the live analysis'
        bpm = [args[0] for address, args in heard if address == '/dreamstage/osc-stage/bpm'][-1]
        assert 115 <= bpm <= 125
    finally:
        api.post(f'/api/v1/audio/sessions/{stage}/stop')
        api.post('/api/v1/tempo/disable')
        api.put('/api/v1/osc/out', json={'target': None})
        receiver.shutdown()
        receiver.server_close()
