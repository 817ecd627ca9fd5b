"""Daydream's streams API against a real server: the official `daydream-sdk`, the self-hosted replacement's flat
shapes (seed 002), the status document (seed 003), and bad input answered in Daydream's error envelope."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from daydream import Daydream
from daydream.errors import GetStreamByIDNotFoundError

from .server import RunningServer
from .waiting import LOADING

SDXL: dict[str, Any] = {
    'model_id': 'stabilityai/sdxl-turbo', 'prompt': 'a lighthouse at dusk', 'width': 512, 'height': 512,
    't_index_list': [36], 'seed': 42, 'guidance_scale': 1.0, 'delta': 0.7,
    'controlnets': [{'model_id': 'xinsir/controlnet-depth-sdxl-1.0', 'conditioning_scale': 0.45,
                     'preprocessor': 'depth_tensorrt', 'enabled': True}],
    'ip_adapter': {'enabled': True, 'scale': 0.5, 'type': 'regular'}, 'acceleration': 'tensorrt'}


@pytest.fixture
def streams(api: httpx.Client) -> Iterator[list[str]]:
    """Ids of streams a test creates; they are deleted afterwards."""
    created: list[str] = []
    yield created
    for stream_id in created:
        api.delete(f'/v1/streams/{stream_id}')


def create(api: httpx.Client, streams: list[str], body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = api.post('/v1/streams', json=body, headers=headers)
    assert response.status_code == 201, response.text
    streams.append(response.json()['id'])
    return response.json()


def status(api: httpx.Client, stream_id: str, form: str = 'both') -> dict[str, Any]:
    response = api.get(f'/v1/streams/{stream_id}/status', params={'format': form})
    assert response.status_code == 200, response.text
    return response.json()


def wait_status(api: httpx.Client, stream_id: str, wanted: str, timeout: float = LOADING) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        document = status(api, stream_id)
        if document['status'] == wanted:
            return document
        assert time.monotonic() < deadline, f'stream stayed {document["status"]}: {document["error_message"]}'
        time.sleep(0.2)


def test_official_sdk_creates_reads_lists_updates_and_deletes(server: RunningServer, api: httpx.Client,
                                                              streams: list[str]) -> None:
    sdk = Daydream(bearer='any key: this server has none', server_url=server.url)
    request: Any = {'pipeline': 'streamdiffusion', 'params': SDXL, 'name': 'sdk'}
    created = sdk.streams.create_stream(request=request)
    streams.append(created.id)
    assert created.pipeline == 'streamdiffusion' and created.params.model_id == 'stabilityai/sdxl-turbo'
    assert created.whip_url.startswith(f'{server.url}/live/video-to-video/{created.stream_key}/')
    assert created.output_stream_url == f'{server.url}/playback/{created.output_playback_id}/whep'
    fetched = sdk.streams.get_stream_by_id(id=created.id)
    assert (fetched.id, fetched.output_playback_id, fetched.stream_key) == (created.id, created.output_playback_id,
                                                                            created.stream_key)
    listed = sdk.streams.get_all_streams()
    assert listed.success and created.id in [item['id'] for item in listed.data]
    updated = sdk.streams.update_stream(id=created.id, body={'pipeline': 'streamdiffusion', 'params': {
        'model_id': 'stabilityai/sdxl-turbo', 'prompt': 'a lighthouse in a storm', 'guidance_scale': 1.3}})
    assert updated.params.prompt == 'a lighthouse in a storm' and updated.params.t_index_list == [36]
    deleted = sdk.streams.delete_stream(id=created.id)
    assert deleted.success
    with pytest.raises(GetStreamByIDNotFoundError) as missing:
        sdk.streams.get_stream_by_id(id=created.id)
    assert missing.value.data.code == 'STREAMS/NOT_FOUND' and missing.value.data.status == 404


def test_a_stream_is_a_session_that_reports_what_really_runs(api: httpx.Client, streams: list[str]) -> None:
    stream = create(api, streams, {'pipeline': 'streamdiffusion', 'params': SDXL, 'name': 'lighthouse'})
    document = wait_status(api, stream['id'], 'running')
    assert document['running_pipeline'] == 'dreamfield', 'no SDXL weights here: the configured alias runs'
    assert 'not downloaded' in document['pipeline_note'] and document['requested_pipeline'] == 'streamdiffusion'
    assert {'controlnets', 'ip_adapter', 'acceleration', 'model_id'} <= set(document['params_not_applied'])
    data = document['data']
    assert data['stream_id'] == stream['id'] and data['type'] == 'status' and data['state'] in ('ONLINE', 'OFFLINE')
    assert data['inference_status']['pipeline'] == 'dreamfield' and data['gateway_status']['whep_url'] == \
        stream['output_stream_url']
    session = api.get(f'/api/v1/sessions/{stream["session_id"]}').json()
    assert session['name'] == 'lighthouse' and session['kind'] == 'named'
    assert session['parameters']['prompts'] == [{'text': 'a lighthouse at dusk', 'weight': 1.0}]
    assert api.get(stream['control_url'], headers={'Accept': 'text/html'}).status_code == 200
    flat = status(api, stream['id'], 'flat')
    assert 'success' not in flat and flat['status'] == 'running' and flat['started_at']
    envelope = status(api, stream['id'], 'envelope')
    assert set(envelope) == {'success', 'error', 'data'}


def test_hot_params_change_at_once_and_the_others_restart(api: httpx.Client, streams: list[str]) -> None:
    stream = create(api, streams, {'pipeline': 'streamdiffusion-sdxl', 'params': {'prompt': 'embers',
                                                                                  'width': 512, 'height': 512}})
    assert stream['params']['model_id'] == 'stabilityai/sdxl-turbo' and stream['pipeline_variant'] == \
        'streamdiffusion-sdxl'
    wait_status(api, stream['id'], 'running')
    hot = api.patch(f'/v1/streams/{stream["id"]}', json={'params': {'prompt': 'glaciers', 'seed': 7}})
    assert hot.status_code == 200 and hot.json()['status'] == 'running'
    parameters = api.get(f'/api/v1/sessions/{stream["session_id"]}').json()['parameters']
    assert parameters['prompts'] == [{'text': 'glaciers', 'weight': 1.0}] and parameters['seed'] == 7
    cold = api.patch(f'/v1/streams/{stream["id"]}', json={'pipeline': 'streamdiffusion',
                                                          'params': {'model_id': 'stabilityai/sdxl-turbo',
                                                                     'width': 768}})
    assert cold.json()['status'] == 'starting' and cold.json()['params']['prompt'] == 'glaciers'
    document = wait_status(api, stream['id'], 'running')
    assert document['data']['inference_status']['restart_count'] == 1
    assert document['data']['inference_status']['last_params']['width'] == 768


def test_every_body_shape_and_legacy_route(api: httpx.Client, streams: list[str]) -> None:
    legacy = create(api, streams, {'pipeline_id': 'pip_SD15'})
    assert legacy['params'] == {'model_id': 'Lykon/dreamshaper-8'} and legacy['pipeline_id'] == 'pip_SD15'
    seed_002 = create(api, streams, {'name': 'My Stream', 'pipeline': 'streamdiffusion-sdxl', 'params': {
        'model_id': 'stabilityai/sdxl-turbo', 'prompt': 'your prompt here', 'negative_prompt': '', 'width': 1024,
        'height': 576, 'guidance_scale': 1.0, 'num_inference_steps': 50, 'seed': 42},
        'output_rtmp_url': 'rtmp://127.0.0.1:1/live/key'})
    assert seed_002['output_rtmp_url'] == 'rtmp://127.0.0.1:1/live/key' and seed_002['output_hls_url'].endswith(
        '/index.m3u8')
    assert isinstance(api.get('/v1/streams', params={'format': 'list'}).json(), list)
    prompt = api.post(f'/beta/streams/{legacy["id"]}/prompts', json={'params': {'prompt': 'neon koi'}})
    assert prompt.json()['success'] and api.get(f'/v1/streams/{legacy["id"]}').json()['params']['prompt'] == \
        'neon koi'
    flat = api.patch(f'/v1/streams/{legacy["id"]}/params', json={'prompt': 'ink', 'delta': 0.5})
    assert flat.status_code == 200 and flat.json()['params']['delta'] == 0.5
    removed = api.delete('/v1/streams', params={'id': legacy['id']})
    assert removed.json() == {'success': True, 'data': {}}
    assert api.delete(f'/v1/streams/{seed_002["id"]}').status_code == 200


def test_urls_are_built_for_the_client_behind_a_proxy(api: httpx.Client, streams: list[str]) -> None:
    stream = create(api, streams, {'pipeline': 'streamdiffusion', 'params': {}},
                    **{'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'abc123-8000.proxy.runpod.net'})
    base = 'https://abc123-8000.proxy.runpod.net'
    assert stream['whip_url'] == f'{base}/live/video-to-video/{stream["stream_key"]}/whip'
    assert stream['output_hls_url'] == f'{base}/playback/{stream["output_playback_id"]}/hls/index.m3u8'
    assert stream['gateway_host'] == 'abc123-8000.proxy.runpod.net'


@pytest.mark.parametrize(('body', 'field'), [
    ({'pipeline': 'stable-video-diffusion', 'params': {}}, 'pipeline'),
    ({'pipeline': 'streamdiffusion', 'params': {'model_id': 'runwayml/stable-diffusion-v1-5'}}, 'params.model_id'),
    ({'pipeline': 'streamdiffusion', 'params': {'width': 1000}}, 'params.width'),
    ({'pipeline': 'streamdiffusion', 'params': {'guidance_scale': 50}}, 'params.guidance_scale'),
    ({'pipeline': 'streamdiffusion', 'params': {'t_index_list': [60]}}, 'params'),
    ({'pipeline': 'streamdiffusion', 'params': {}, 'output_rtmp_url': 'https://example.com/live'},
     'output_rtmp_url'),
])
def test_bad_create_bodies_get_the_envelope_naming_the_field(api: httpx.Client, body: dict[str, Any],
                                                             field: str) -> None:
    response = api.post('/v1/streams', json=body)
    assert response.status_code == 400
    error = response.json()
    assert error['success'] is False and error['status'] == 400 and error['code'] == 'VALIDATION_ERROR'
    assert error['details']['field'] == field and error['detail'].startswith(field)


def test_unknown_and_deleted_streams_answer_404(api: httpx.Client, streams: list[str]) -> None:
    assert api.post('/v1/streams', content=b'{"pipeline": ', headers={'Content-Type': 'application/json'}
                    ).status_code == 400
    for response in (api.patch('/v1/streams/str_nope', json={'params': {'prompt': 'x'}}),
                     api.get('/v1/streams/str_nope/status'), api.delete('/v1/streams/str_nope')):
        assert response.status_code == 404 and response.json()['code'] == 'STREAMS/NOT_FOUND'
    stream = create(api, streams, {'pipeline': 'streamdiffusion', 'params': {}})
    assert api.delete(f'/v1/streams/{stream["id"]}').status_code == 200
    assert api.get(f'/v1/streams/{stream["id"]}/status').status_code == 404
    assert api.get(f'/api/v1/sessions/{stream["session_id"]}').status_code == 404, 'its session ended with it'
    assert api.delete('/v1/streams').status_code == 400
    hot_only = create(api, streams, {'pipeline': 'streamdiffusion', 'params': {}})
    response = api.patch(f'/v1/streams/{hot_only["id"]}/params', json={'width': 768})
    assert response.status_code == 400 and response.json()['details']['field'] == 'width'
    response = api.patch(f'/v1/streams/{hot_only["id"]}', json={'params': {'height': 100}})
    assert response.status_code == 400 and response.json()['details']['field'] == 'params.height'
