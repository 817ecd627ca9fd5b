"""Bad input on the streaming path gets a clear answer, and the server keeps serving."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from .scope_client import ScopeClient
from .server import RunningServer, serving
from .test_scope_flows import QUICKSTART, has_noise_scale, session_metrics
from .waiting import PATIENCE, until


@pytest.fixture(scope='module')
def bare_server() -> Iterator[RunningServer]:
    """A server with no pipeline loaded that also knows a pipeline which fails on purpose."""
    faulty = {'DREAMSTAGE_PIPELINES': 'tests.faulty_pipeline:FaultyPipeline'}
    with serving(pipeline='none', env=faulty, loaded=False) as running:
        yield running


def errors(client: ScopeClient) -> list[dict]:
    return [m for m in client.messages if m.get('type') == 'error']


def healthy(server: RunningServer) -> bool:
    return httpx.get(f'{server.url}/health').status_code == 200


@pytest.mark.parametrize('body, status', [
    ({'sdp': 'this is not sdp', 'type': 'offer'}, 400),
    ({'sdp': 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n', 'type': 'offer'}, 400),
    ({'sdp': 'v=0\r\n', 'type': 'answer'}, 400),
    ({'type': 'offer'}, 422),
    ({'sdp': 'v=0', 'type': 'offer', 'initialParameters': {'noise_scale': 5}}, 422),
    ({'sdp': 'v=0', 'type': 'offer', 'initialParameters': {'prompts': 'not a list'}}, 422),
    ({'sdp': 'x' * 300_000, 'type': 'offer'}, 422),
])
def test_bad_offers_get_a_clear_error(server: RunningServer, body: dict, status: int) -> None:
    """Malformed SDP, wrong types and invalid parameters are refused with a 4xx and a message."""
    response = httpx.post(f'{server.url}/api/v1/webrtc/offer', json=body)
    assert response.status_code == status, response.text
    assert response.json()['detail']
    assert healthy(server)


def test_not_json_offer_body_is_refused(server: RunningServer) -> None:
    """An offer body that is not JSON gets 422."""
    response = httpx.post(f'{server.url}/api/v1/webrtc/offer', content=b'{nope',
                          headers={'Content-Type': 'application/json'})
    assert response.status_code == 422
    assert healthy(server)


def test_trickle_to_unknown_session_is_not_found(server: RunningServer) -> None:
    """Candidates for a session that does not exist: 404; teardown of it: 204."""
    body = {'candidates': [{'candidate': 'candidate:1 1 udp 1 127.0.0.1 9 typ host', 'sdpMLineIndex': 0}]}
    assert httpx.patch(f'{server.url}/api/v1/webrtc/offer/nope', json=body).status_code == 404
    assert httpx.delete(f'{server.url}/api/v1/webrtc/offer/nope').status_code == 204
    assert healthy(server)


async def test_bad_candidate_and_bad_messages_leave_the_stream_running(client: ScopeClient) -> None:
    """A broken candidate is refused; bad data-channel messages get an error reply and the video goes on."""
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect(QUICKSTART)
    await client.wait_frames(3)
    response = await client.http.patch(f'/api/v1/webrtc/offer/{client.session_id}',
                                       json={'candidates': [{'candidate': 'candidate:garbage', 'sdpMid': '0'}]})
    assert response.status_code == 400 and 'Invalid ICE candidate' in response.json()['detail']
    await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
    for bad in ('{not json', '[1, 2]', json.dumps({'noise_scale': 'loud'}), json.dumps({'prompts': 7})):
        client.channel.send(bad)
    client.send({'unknown_key': 1, 'noise_scale': 0.2})
    assert await until(lambda: has_noise_scale(client, 0.2)), 'a good message after the bad ones is applied'
    assert await until(lambda: len(errors(client)) >= 4), f'an error reply for each bad message: {client.messages}'
    assert len(errors(client)) == 4 and all(m['error_message'] for m in errors(client))
    assert len(await client.wait_frames(10)) == 10


async def test_offer_before_loading_is_refused(bare_server: RunningServer) -> None:
    """Without a loaded pipeline an offer gets 400 with a clear message."""
    client = ScopeClient(bare_server.url)
    try:
        with pytest.raises(httpx.HTTPStatusError) as error:
            await client.connect(QUICKSTART)
        assert error.value.response.status_code == 400
        assert 'Pipeline not loaded' in error.value.response.json()['detail']
    finally:
        await client.close()


async def test_a_failing_pipeline_tells_its_client(bare_server: RunningServer) -> None:
    """When the pipeline fails for good, the client gets `stream_stopped` with the error, and the server goes on."""
    client = ScopeClient(bare_server.url)
    try:
        await client.load({'pipeline_ids': ['faulty']})
        await client.connect({})
        stopped = await client.wait_message('stream_stopped')
        assert 'simulated out of memory' in stopped['error_message']

        async def no_sessions() -> bool:
            return (await client.http.get('/api/v1/session/metrics')).json()['sessions'] == {}

        assert await until(no_sessions), 'the failed session is freed'
        assert healthy(bare_server)
    finally:
        await client.close()


async def test_values_that_used_to_kill_a_stream_are_refused_on_the_data_channel(client: ScopeClient) -> None:
    """String booleans, NaN, Infinity and integers beyond 64 bits get an error reply; the stream and every endpoint
    go on, and `parameters_updated` stays valid JSON."""
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect(QUICKSTART)
    await client.wait_frames(3)
    await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
    bad = ['{"paused": "false"}', '{"noise_scale": NaN}', '{"noise_scale": "high"}', '{"seed": 1' + '0' * 41 + '}',
           '{"prompts": [{"text": "x", "weight": Infinity}]}']
    for message in bad:
        client.channel.send(message)
    errors = await wait_messages(client, 'error', len(bad))
    assert all(error['error_message'] for error in errors)
    metrics = await session_metrics(client)
    assert metrics['paused'] is False and metrics['parameters']['noise_scale'] == 0.7
    assert (await client.http.get(f'/api/v1/sessions/{client.session_id}')).status_code == 200
    assert len(await client.wait_frames(5)) == 5
    for received in client.messages:
        json.dumps(received, allow_nan=False)


async def test_shared_session_initial_parameters_and_load_seeds_are_checked(server: RunningServer) -> None:
    """A named session with invalid initial parameters and a load with a 41-digit seed get 422; status keeps 200."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        for initial in ({'noise_scale': 'high'}, {'paused': 'false'}, {'seed': 10**41}):
            response = await http.post('/api/v1/sessions', json={'name': 'x', 'initialParameters': initial})
            assert response.status_code == 422 and 'initialParameters' in response.json()['detail']
        response = await http.post('/api/v1/pipeline/load',
                                   json={'pipeline_ids': ['dreamfield'], 'load_params': {'base_seed': 10**40}})
        assert response.status_code == 422 and 'base_seed' in response.json()['detail']
        assert (await http.get('/api/v1/pipeline/status')).status_code == 200
        assert (await http.get('/api/v1/session/metrics')).status_code == 200


async def wait_messages(client: ScopeClient, message_type: str, count: int, timeout: float = PATIENCE) -> list[dict]:
    """Wait until `count` messages of a type arrived (a generous deadline, never a fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found := [m for m in client.messages if m.get('type') == message_type]) < count:
        assert asyncio.get_running_loop().time() < deadline, f'{len(found)} of {count} {message_type} messages'
        await asyncio.sleep(0.02)
    return found


def test_offers_that_never_connect_do_not_lock_the_server_out() -> None:
    """Eight offers whose clients vanish before ICE (no candidates ever) are dropped after the connect timeout:
    their sessions are freed and new offers are answered again. (The timeout itself, on a clock the test drives:
    tests/test_session_lifecycle.py; here the real server's sweeper frees them. The nine offers must all arrive
    within the timeout, so it is long enough for a busy machine.)"""
    limited = RunningServer(env={'DREAMSTAGE_MAX_SESSIONS': '8', 'DREAMSTAGE_CONNECT_TIMEOUT': '20'})

    async def scenario() -> None:
        offers = [await offer_without_candidates() for _ in range(9)]
        async with httpx.AsyncClient(base_url=limited.url, timeout=30) as http:
            for sdp in offers[:8]:
                answer = await http.post('/api/v1/webrtc/offer', json={'sdp': sdp, 'type': 'offer'})
                assert answer.status_code == 200, answer.text
            refused = await http.post('/api/v1/webrtc/offer', json={'sdp': offers[8], 'type': 'offer'})
            assert refused.status_code == 429

            async def all_freed() -> bool:
                return not (await http.get('/api/v1/session/metrics')).json()['sessions']

            assert await until(all_freed, PATIENCE + 20), 'half-open sessions were never freed'
        client = ScopeClient(limited.url)
        try:
            await client.connect(QUICKSTART)
            await client.wait_frames(3)
        finally:
            await client.close()

    try:
        limited.wait_ready()
        asyncio.run(scenario())
    finally:
        limited.stop()


async def offer_without_candidates() -> str:
    """The SDP of a client that crashed between its offer and ICE: no candidate lines, and none will follow."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver('video', direction='recvonly')
    pc.createDataChannel('parameters')
    await pc.setLocalDescription(await pc.createOffer())
    sdp = '\r\n'.join(line for line in pc.localDescription.sdp.split('\r\n') if 'candidate' not in line)
    await pc.close()
    return sdp
