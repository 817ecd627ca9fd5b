"""Bad input on the streaming path gets a clear answer, and the server keeps serving."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from .scope_client import ScopeClient
from .server import RunningServer
from .test_scope_flows import QUICKSTART, has_noise_scale
from .waiting import PATIENCE, until


@pytest.fixture(scope='module')
def bare_server() -> Iterator[RunningServer]:
    """A server with no pipeline loaded that also knows a pipeline which fails on purpose."""
    running = RunningServer(pipeline='none', env={'DREAMSTAGE_PIPELINES': 'tests.faulty_pipeline:FaultyPipeline'})
    try:
        running.wait_ready(loaded=False)
        yield running
    finally:
        running.stop()


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
