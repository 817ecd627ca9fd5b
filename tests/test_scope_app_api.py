"""Every REST call Scope's own web app makes, answered in Scope's shapes (the calls as its source makes them)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .test_api_misc import wait_for_status

# What Scope's app fetches when its page opens and while it idles (frontend/src: lib/api.ts, hooks/, contexts/),
# with the keys it reads from each answer.
STARTUP_CALLS: list[tuple[str, set[str]]] = [
    ('/api/v1/nodes/definitions', {'nodes'}),
    ('/api/v1/pipelines/schemas', {'pipelines'}),
    ('/api/v1/hardware/info', {'vram_gb', 'spout', 'ndi', 'syphon'}),
    ('/api/v1/input-sources', {'input_sources'}),
    ('/api/v1/pipeline/status', {'status', 'pipeline_id', 'load_params', 'produces_video', 'produces_audio'}),
    ('/api/v1/dmx/status', {'enabled', 'listening', 'port', 'preferred_port', 'host', 'log_all_messages',
                            'mapping_count'}),
    ('/api/v1/onboarding/status', {'completed', 'inference_mode', 'onboarding_style', 'referral_source', 'use_case'}),
    ('/health', {'status', 'server_start_time', 'version', 'git_commit'}),
    ('/api/v1/plugins', {'plugins', 'total', 'failed_plugins'}),
    ('/api/v1/loras', {'lora_files'}),
    ('/api/v1/cloud/status', {'connected', 'connecting', 'error', 'app_id', 'connection_id', 'credentials_configured',
                              'last_close_code', 'last_close_reason', 'connect_stage'}),
    ('/api/v1/logs/tail?lines=200&since_offset=0', {'lines', 'offset'}),
    ('/api/v1/keys', {'keys'}),
    ('/api/v1/dmx/config', {'enabled', 'preferred_port', 'log_all_messages', 'mappings'}),
    ('/api/v1/dmx/paths', {'active', 'available', 'active_pipeline_ids'}),
    ('/api/v1/webrtc/ice-servers', {'iceServers'}),
]
CAMERA_PREVIEW = {  # the onboarding's workflow for machines without a GPU, as Scope's app sends it
    'format': 'scope-workflow', 'format_version': '1.0',
    'metadata': {'name': 'Camera Check', 'created_at': '2026-03-26T16:25:35.191Z', 'scope_version': '0.1.9'},
    'pipelines': [{'pipeline_id': 'passthrough', 'pipeline_version': '1.0.0', 'source': {'type': 'builtin'},
                   'loras': [], 'params': {}}],
    'graph': {'nodes': [{'id': 'input', 'type': 'source', 'source_mode': 'camera'},
                        {'id': 'passthrough', 'type': 'pipeline', 'pipeline_id': 'passthrough'},
                        {'id': 'output', 'type': 'sink'}], 'edges': []},
}


@pytest.fixture(autouse=True)
def still_healthy(api: httpx.Client) -> Iterator[None]:
    """After every test the server still answers."""
    yield
    assert api.get('/health').status_code == 200


@pytest.mark.parametrize(('path', 'keys'), STARTUP_CALLS, ids=[path for path, _ in STARTUP_CALLS])
def test_every_call_of_scopes_app_is_answered_in_its_shape(api: httpx.Client, path: str, keys: set[str]) -> None:
    """Each call the app makes on its own answers 200 with the keys the app reads."""
    response = api.get(path)
    assert response.status_code == 200, response.text
    assert keys <= set(response.json()), keys - set(response.json())


def test_unknown_api_paths_answer_json_and_wrong_methods_name_the_allowed_ones(api: httpx.Client) -> None:
    """An unknown API path is a JSON 404, not the studio's page; a known path with the wrong method is a 405 whose
    Allow header lists the methods it takes; an unknown page is still the studio's HTML page."""
    for path in ('/api/v1/nope', '/api/v2/pipeline/status', '/api/v1/pipelines/nope/x'):
        response = api.get(path)
        assert response.status_code == 404
        assert response.headers['content-type'] == 'application/json' and response.json()['detail']
    wrong = api.put('/api/v1/pipeline/status')
    assert (wrong.status_code, wrong.headers['allow']) == (405, 'GET')
    assert set(api.delete('/api/v1/loras').headers['allow'].split(', ')) == {'GET', 'POST'}
    assert set(api.patch('/api/v1/onboarding/status').headers['allow'].split(', ')) == {'GET', 'PUT'}
    assert 'text/html' in api.get('/no-such-page').headers['content-type']


def test_the_log_panel_follows_the_server_log(api: httpx.Client) -> None:
    """`logs/tail` gives the latest lines in Scope's format and, from an offset, only the newer ones; `logs/current`
    is the log as a text file."""
    offset = api.get('/api/v1/logs/tail', params={'lines': 200, 'since_offset': 0}).json()['offset']
    assert api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).status_code == 200
    newer = api.get('/api/v1/logs/tail', params={'lines': 200, 'since_offset': offset}).json()
    assert newer['offset'] > offset
    assert any(' - pipeline.manager - INFO - ' in line and 'nothing to do' in line for line in newer['lines'])
    assert api.get('/api/v1/logs/tail', params={'since_offset': newer['offset']}).json()['lines'] == []
    assert len(api.get('/api/v1/logs/tail', params={'lines': 1}).json()['lines']) == 1
    current = api.get('/api/v1/logs/current')
    assert current.headers['content-type'].startswith('text/plain')
    assert 'attachment' in current.headers['content-disposition'] and 'nothing to do' in current.text
    assert api.get('/api/v1/logs/tail', params={'lines': 0}).status_code == 422


def test_loading_what_is_loaded_is_a_no_op(api: httpx.Client) -> None:
    """Scope's app loads on every start (twice, in fact): the same pipeline with the same parameters does not
    reload, while a real change does."""
    assert wait_for_status(api)['status'] == 'loaded'
    same = {'pipelines': [{'node_id': 'dreamfield', 'pipeline_id': 'dreamfield', 'load_params': {}}]}
    for _ in range(2):
        assert api.post('/api/v1/pipeline/load', json=same).status_code == 200
        assert api.get('/api/v1/pipeline/status').json()['status'] == 'loaded', 'no reload started'
    changed = {'pipeline_ids': ['dreamfield'], 'load_params': {'render_scale': 0.75}}
    try:
        assert api.post('/api/v1/pipeline/load', json=changed).status_code == 200
        offset = api.get('/api/v1/logs/tail', params={'lines': 1}).json()['offset']
        assert api.post('/api/v1/pipeline/load', json=changed).status_code == 200, 'again, loading or loaded'
        lines = api.get('/api/v1/logs/tail', params={'since_offset': offset}).json()['lines']
        assert any("load of ['dreamfield']: already" in line for line in lines), lines
        assert wait_for_status(api)['load_params'] == {'render_scale': 0.75}
    finally:
        assert api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).status_code == 200
        assert wait_for_status(api)['status'] == 'loaded'


def test_hardware_info_reports_real_memory(api: httpx.Client) -> None:
    """No CUDA here: no VRAM (Scope's onboarding then offers its CPU workflow), but the system memory."""
    info = api.get('/api/v1/hardware/info').json()
    assert info['vram_gb'] is None and info['gpu_name'] is None
    assert info['system_memory_gb'] > 0.5


def test_node_definitions_are_the_loadable_pipelines(api: httpx.Client) -> None:
    """The graph editor's catalogue: one pipeline node per id a client may load, aliases included, each carrying
    its schema entry as `pipeline_meta`."""
    nodes = {node['node_type_id']: node for node in api.get('/api/v1/nodes/definitions').json()['nodes']}
    schemas = api.get('/api/v1/pipelines/schemas').json()['pipelines']
    assert set(nodes) == set(schemas) and {'dreamfield', 'passthrough', 'longlive'} <= set(nodes)
    for pipeline_id, node in nodes.items():
        assert node['category'] == 'pipeline' and node['pipeline_meta'] == schemas[pipeline_id]
        assert node['display_name'] == schemas[pipeline_id]['name']
        assert {port['name'] for port in node['outputs']} == {'video'}
    assert schemas['longlive']['name'] == 'LongLive (Dreamfield stand-in)'
    assert {'video', 'prompts'} == {port['name'] for port in nodes['dreamfield']['inputs']}
    assert [port['name'] for port in nodes['passthrough']['inputs']] == ['video']


def test_input_sources_say_video_comes_over_webrtc(api: httpx.Client) -> None:
    """Scope's server-side sources are listed, none available; asking one for its sources is a 400, an unknown kind
    a 404."""
    sources = api.get('/api/v1/input-sources').json()['input_sources']
    assert {s['source_id'] for s in sources} == {'ndi', 'spout', 'syphon', 'video_file'}
    assert not any(s['available'] for s in sources) and all('WebRTC' in s['source_description'] for s in sources)
    assert api.get('/api/v1/input-sources/ndi/sources', params={'timeout_ms': 5000}).status_code == 400
    assert api.get('/api/v1/input-sources/ndi/sources/cam%201/resolution').status_code == 400
    assert api.get('/api/v1/input-sources/webcam/sources').status_code == 404


def test_cloud_is_not_connected_here(api: httpx.Client) -> None:
    """This server is the cloud: not connected, connecting is refused with the reason, disconnecting is harmless."""
    status = api.get('/api/v1/cloud/status').json()
    assert (status['connected'], status['connecting']) == (False, False)
    refused = api.post('/api/v1/cloud/connect', json={'user_id': 'u', 'api_key': 'k'})
    assert refused.status_code == 400 and 'runs the pipelines itself' in refused.json()['detail']
    assert api.post('/api/v1/cloud/disconnect').json()['connected'] is False


def test_dmx_is_disabled_and_keeps_its_mappings(api: httpx.Client) -> None:
    """No Art-Net listener here: enabling, restarting and streaming are 503 with the reason; the mapping
    configuration is stored, and the controls a channel could drive come from the schemas."""
    for response in (api.put('/api/v1/dmx/settings', json={'enabled': True}),
                     api.post('/api/v1/dmx/restart', json={'preferred_port': 6455}),
                     api.get('/api/v1/dmx/stream')):
        assert response.status_code == 503 and 'not available' in response.json()['detail']
    mappings = [{'universe': 0, 'channel': 1, 'key': 'noise_scale'}, {'universe': 0, 'channel': 2, 'key': 'seed'}]
    saved = api.put('/api/v1/dmx/config', json={'preferred_port': 7000, 'log_all_messages': False,
                                                'mappings': mappings})
    assert saved.json()['mappings'] == mappings
    assert api.get('/api/v1/dmx/config').json()['preferred_port'] == 7000
    assert api.put('/api/v1/dmx/settings', json={'log_all_messages': True}).json()['log_all_messages'] is True
    status = api.get('/api/v1/dmx/status').json()
    assert (status['enabled'], status['listening'], status['mapping_count']) == (False, False, 2)
    bad = api.put('/api/v1/dmx/config', json={'mappings': [{'universe': 0, 'channel': 600, 'key': 'x'}]})
    assert bad.status_code == 422
    paths = api.get('/api/v1/dmx/paths').json()
    assert paths['active_pipeline_ids'] == ['dreamfield']
    dreamfield = {path['key']: path for path in paths['active']['dreamfield']}
    assert dreamfield['noise_scale']['min'] == 0 and dreamfield['noise_scale']['max'] == 1
    assert 'render_scale' not in dreamfield, 'load parameters cannot be driven live'
    api.put('/api/v1/dmx/config', json={'mappings': [], 'preferred_port': 6454, 'log_all_messages': False})


def test_the_onboarding_camera_preview_workflow_resolves(api: httpx.Client) -> None:
    """The workflow Scope's onboarding picks on a machine without a GPU has everything it needs here."""
    plan = api.post('/api/v1/workflow/resolve', json=CAMERA_PREVIEW).json()
    assert plan == {'can_apply': True, 'warnings': [], 'items': [
        {'kind': 'pipeline', 'name': 'passthrough', 'status': 'ok', 'detail': None, 'action': None,
         'can_auto_resolve': False}]}


def test_workflow_resolution_names_what_is_missing(api: httpx.Client) -> None:
    """An alias resolves and says what runs; a missing LoRA with a provenance can be downloaded; an unknown pipeline
    or a plugin that is not installed stops the import."""
    lora = {'filename': 'dissolve.safetensors', 'weight': 1.5, 'merge_mode': 'permanent_merge',
            'provenance': {'source': 'huggingface', 'repo_id': 'someone/dissolve',
                           'hf_filename': 'dissolve.safetensors'}}
    workflow: dict[str, Any] = {**CAMERA_PREVIEW, 'pipelines': [
        {'pipeline_id': 'longlive', 'source': {'type': 'builtin'}, 'loras': [lora], 'params': {}}]}
    plan = api.post('/api/v1/workflow/resolve', json=workflow).json()
    pipeline, missing = plan['items']
    assert plan['can_apply'] is True
    assert (pipeline['status'], pipeline['detail']) == ('ok', 'Runs as LongLive (Dreamfield stand-in)')
    assert (missing['kind'], missing['status'], missing['can_auto_resolve']) == ('lora', 'missing', True)
    assert 'huggingface.co/someone/dissolve/resolve/main/dissolve.safetensors' in missing['action']
    workflow['nodes'] = [{'node_type_id': 'krea-video-2', 'source': {'type': 'builtin'}},
                         {'node_type_id': 'fancy', 'source': {'type': 'pypi', 'plugin_name': 'scope-fancy'}}]
    plan = api.post('/api/v1/workflow/resolve', json=workflow).json()
    assert plan['can_apply'] is False
    assert [(i['kind'], i['status']) for i in plan['items'][2:]] == [('pipeline', 'missing'), ('plugin', 'missing')]
    assert api.post('/api/v1/workflow/resolve', json={'pipelines': 'x'}).status_code == 422
