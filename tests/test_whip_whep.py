"""WHIP ingest and WHEP playback of Daydream streams with real aiortc peers, as OBS and Daydream's players use them."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from .server import RunningServer
from .waiting import PATIENCE
from .whip_client import CountingCamera, WhepPlayer, WhipPublisher, fragment, strip_candidates

PASSTHROUGH_STREAM: dict[str, Any] = {'pipeline': 'streamdiffusion', 'params': {'model_id': 'Lykon/dreamshaper-8',
                                                                'prompt': 'not used by a passthrough'}}


@pytest.fixture
async def http(media_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=media_server.url, timeout=30) as client:
        yield client


@pytest.fixture
async def stream(http: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    """A new stream on the media server, deleted afterwards."""
    response = await http.post('/v1/streams', json=PASSTHROUGH_STREAM)
    assert response.status_code == 201, response.text
    yield response.json()
    await http.delete(f'/v1/streams/{response.json()["id"]}')


async def status(http: httpx.AsyncClient, stream: dict[str, Any]) -> dict[str, Any]:
    return (await http.get(f'/v1/streams/{stream["id"]}/status')).json()


async def wait_for(check: Any, timeout: float = PATIENCE) -> Any:
    """The first truthy result of the async `check`."""
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, 'the condition did not come true in time'
        await asyncio.sleep(0.2)
    return result


async def test_a_publisher_drives_the_stream_and_players_get_frames_made_from_its_video(
        http: httpx.AsyncClient, stream: dict[str, Any]) -> None:
    camera = CountingCamera()
    publisher = WhipPublisher(stream['whip_url'], camera)
    answer = await publisher.publish(http, headers={'Authorization': 'Bearer tolerated'})
    assert answer.status_code == 201, answer.text
    assert answer.headers['content-type'] == 'application/sdp'
    assert answer.headers['location'].startswith(f'{stream["whip_url"]}/')
    assert answer.headers['etag'] and answer.headers['accept-patch'] == 'application/trickle-ice-sdpfrag'
    assert answer.headers['livepeer-playback-url'] == stream['output_stream_url']
    assert 'Location' in answer.headers['access-control-expose-headers']
    players = [WhepPlayer(stream['output_stream_url']) for _ in range(2)]
    try:
        for player in players:
            response = await player.play(http)
            assert response.status_code == 201, response.text
            assert player.codec == 'h264', 'players share the H.264 encode with HLS, RTMP and recordings'
        await wait_for(lambda: _ready(players), 90)
        for player in players:
            stamps = player.stamps()[-10:]
            assert stamps == sorted(stamps) and 0 < stamps[-1] <= camera.count, \
                'each frame shows the number of the publisher frame it was made from'
        document = await wait_for(lambda: _with_figures(http, stream))
        assert document['publisher_connected'] and document['whep_viewers'] == 2
        ingest = document['data']['gateway_status']['ingest_metrics']['stats']
        assert ingest['peer_conn_stats']['BytesReceived'] > 0
        video = next(track for track in ingest['track_stats'] if track['type'] == 'video')
        assert video['packets_received'] > 0 and video['packets_lost'] >= 0
        # the quality follows from jitter and loss, which depend on how busy the machine is (bench/bench_daydream.py
        # reports them): here, only that it says what its figures say
        warned = any(track['warnings'] for track in ingest['track_stats'])
        assert ingest['conn_quality'] == ('bad' if warned else 'good'), ingest
        second = await WhipPublisher(stream['whip_url']).publish(http)
        assert second.status_code == 409 and second.json()['code'] == 'STREAMS/CONFLICT'
    finally:
        for player in players:
            await player.stop(http)
        await publisher.stop(http)
    assert not (await status(http, stream))['publisher_connected']


async def _ready(players: list[WhepPlayer]) -> bool:
    return all(len(player.frames) >= 30 for player in players)


async def _with_figures(http: httpx.AsyncClient, stream: dict[str, Any]) -> dict[str, Any] | None:
    document = await status(http, stream)
    ready = document['fps_in'] > 0 and document['fps'] > 0 and document['latency_ms'] is not None
    return document if ready else None


async def test_whip_answers_while_the_pipeline_loads(media_server: RunningServer, http: httpx.AsyncClient) -> None:
    hold = media_server.home / 'hold-loads'
    hold.touch()
    response = await http.post('/v1/streams', json={**PASSTHROUGH_STREAM, 'params': {
        **PASSTHROUGH_STREAM['params'], 'width': 448, 'height': 384}})  # a size no other stream loaded
    stream = response.json()
    publisher, player = WhipPublisher(stream['whip_url']), WhepPlayer(stream['output_stream_url'])
    try:
        assert (await publisher.publish(http)).status_code == 201
        assert (await player.play(http)).status_code == 201
        loading = await status(http, stream)
        assert loading['status'] == 'starting' and loading['running_pipeline'] == 'standby'
        assert loading['data']['state'] == 'LOADING'
        standby = (await player.wait_frames(5))[-1]
        assert standby.shape == (384, 448, 3), 'standby shows the input, dimmed, at the stream size'
        hold.unlink()
        running = await wait_for(lambda: _running(http, stream))
        assert running['running_pipeline'] == 'held-passthrough' and 'dreamshaper-8' in running['pipeline_note']
        await wait_for(lambda: _passing_through(player))
    finally:
        hold.unlink(missing_ok=True)
        await player.stop(http)
        await publisher.stop(http)
        await http.delete(f'/v1/streams/{stream["id"]}')


async def _running(http: httpx.AsyncClient, stream: dict[str, Any]) -> dict[str, Any] | None:
    document = await status(http, stream)
    return document if document['status'] == 'running' else None


async def _passing_through(player: WhepPlayer) -> bool:
    return bool(player.frames) and player.frames[-1][1].shape == (240, 320, 3) and player.stamps()[-1] > 0


async def test_candidates_trickle_after_a_candidate_less_offer(http: httpx.AsyncClient,
                                                               stream: dict[str, Any]) -> None:
    publisher = WhipPublisher(stream['whip_url'])
    offer, candidates = strip_candidates(await publisher.offer())
    response = await http.post(stream['whip_url'], content=offer, headers={'Content-Type': 'application/sdp'})
    assert response.status_code == 201, response.text
    resource = response.headers['location']
    publisher.location = resource
    try:
        await publisher.pc.setRemoteDescription(_answer(response.text))
        ufrag = next(line.split(':', 1)[1] for line in offer.split('\r\n') if line.startswith('a=ice-ufrag:'))
        patch = await http.patch(resource, content=fragment(candidates, ufrag=ufrag),
                                 headers={'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*'})
        assert patch.status_code == 204, patch.text
        connected = await wait_for(lambda: _ingesting(http, stream))
        assert connected['data']['gateway_status']['ingest_metrics']['stats']['peer_conn_stats']['BytesReceived']
        restart = await http.patch(resource, content=fragment([], ufrag='newufrag', pwd='newpasswordnewpassword'),
                                   headers={'Content-Type': 'application/trickle-ice-sdpfrag'})
        assert restart.status_code == 422
        wrong_type = await http.patch(resource, content='a=end-of-candidates', headers={'Content-Type': 'text/plain'})
        assert wrong_type.status_code == 415
        stale = await http.patch(resource, content=fragment([]), headers={
            'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '"another-session"'})
        assert stale.status_code == 412
        unknown = await http.patch(f'{stream["whip_url"]}/no-such-session', content=fragment([]),
                                   headers={'Content-Type': 'application/trickle-ice-sdpfrag'})
        assert unknown.status_code == 404
    finally:
        await publisher.stop(http)


def _answer(sdp: str) -> Any:
    from aiortc import RTCSessionDescription
    return RTCSessionDescription(sdp=sdp, type='answer')


async def _ingesting(http: httpx.AsyncClient, stream: dict[str, Any]) -> dict[str, Any] | None:
    document = await status(http, stream)
    metrics = document['data']['gateway_status']['ingest_metrics']
    return document if metrics and metrics['stats']['peer_conn_stats']['BytesReceived'] > 0 else None


async def test_offers_the_server_cannot_take_are_refused_clearly(http: httpx.AsyncClient,
                                                                 stream: dict[str, Any]) -> None:
    whip = stream['whip_url']
    offer = await WhipPublisher(whip, audio=False).offer()
    wrong_type = await http.post(whip, content=offer, headers={'Content-Type': 'text/plain'})
    assert wrong_type.status_code == 415 and wrong_type.json()['code'] == 'UNSUPPORTED_MEDIA_TYPE'
    garbage = await http.post(whip, content='hello', headers={'Content-Type': 'application/sdp'})
    assert garbage.status_code == 400
    av1_only = offer.replace('VP8/90000', 'AV1/90000').replace('H264/90000', 'H265/90000')
    response = await http.post(whip, content=av1_only, headers={'Content-Type': 'application/sdp'})
    assert response.status_code == 422 and 'AV1' in response.json()['detail']
    unknown = await http.post(whip.replace(stream['stream_key'], 'sk_unknown'), content=offer,
                              headers={'Content-Type': 'application/sdp'})
    assert unknown.status_code == 404
    options = await http.options(whip)
    assert options.status_code == 204 and options.headers['accept-post'] == 'application/sdp'
    assert (await http.get(whip)).status_code == 405
    player = WhepPlayer(stream['output_stream_url'])
    not_yet = await http.post(stream['output_stream_url'], content=await player.offer_sdp(),
                              headers={'Content-Type': 'application/sdp'})
    await player.pc.close()
    assert not_yet.status_code == 404 and not_yet.headers['retry-after'] == '1', 'no frame yet: ask again'


async def test_players_over_the_cap_get_429(http: httpx.AsyncClient, stream: dict[str, Any]) -> None:
    publisher = WhipPublisher(stream['whip_url'])
    players: list[WhepPlayer] = []
    try:
        assert (await publisher.publish(http)).status_code == 201
        statuses: list[int] = []
        while 429 not in statuses:
            assert len(statuses) < 8, f'no cap: {statuses}'
            player = WhepPlayer(stream['output_stream_url'])
            players.append(player)
            statuses.append((await player.play(http)).status_code)
        assert statuses[0] == 201 and statuses[-1] == 429
    finally:
        for player in players:
            await player.stop(http)
        await publisher.stop(http)


async def test_a_vp8_publisher_works_too(http: httpx.AsyncClient, stream: dict[str, Any]) -> None:
    publisher = WhipPublisher(stream['whip_url'], codec='vp8', audio=False)
    player = WhepPlayer(stream['output_stream_url'])
    try:
        response = await publisher.publish(http)
        assert response.status_code == 201 and 'VP8/90000' in response.text
        assert (await player.play(http)).status_code == 201
        await player.wait_frames(10)
        assert player.stamps()[-1] > 0, 'the frames are the VP8 publisher frames, passed through'
        document = await wait_for(lambda: _ingesting(http, stream))
        rtt = document['data']['gateway_status']['ingest_metrics']['stats']['rtt_ms']
        assert rtt is None or rtt >= 0
    finally:
        await player.stop(http)
        await publisher.stop(http)
