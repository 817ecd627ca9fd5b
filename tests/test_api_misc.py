"""The rest of Scope's HTTP API: health, hardware, plugins, models, schemas, pipeline load/status, docs and CORS."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import models
from config import Config
from pipeline.protocol import ModelFiles, PipelineInfo
from pipeline.registry import PipelineRegistry
from services.downloads import DownloadService

from .server import ROOT, RunningServer
from .waiting import LOADING, PATIENCE

SCOPE_SCHEMAS = ROOT.parent / 'shared' / 'spec' / 'scope-pipeline-schemas.json'
DREAMFIELD = {'pipeline_ids': ['dreamfield']}


@pytest.fixture(autouse=True)
def still_healthy(api: httpx.Client) -> Iterator[None]:
    """After every test, whatever it sent, the server still answers."""
    yield
    assert api.get('/health').status_code == 200


@pytest.fixture
def restore_dreamfield(api: httpx.Client) -> Iterator[None]:
    """Put the shared server back on Dreamfield after a test that loads something else."""
    yield
    assert api.post('/api/v1/pipeline/load', json=DREAMFIELD).status_code == 200
    assert wait_for_status(api)['pipeline_id'] == 'dreamfield'


def wait_for_status(api: httpx.Client, timeout: float = LOADING) -> dict[str, Any]:
    """Poll `/pipeline/status` like a client does, until it is no longer loading."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.get('/api/v1/pipeline/status').json()
        if status['status'] != 'loading':
            return status
        time.sleep(0.1)
    raise TimeoutError('pipeline still loading')


def test_health(api: httpx.Client) -> None:
    """`/health` says healthy, with start time and version."""
    body = api.get('/health').json()
    assert body['status'] == 'healthy'
    assert isinstance(body['server_start_time'], float)
    assert {'timestamp', 'version', 'git_commit'} <= set(body)


def test_hardware_info(api: httpx.Client) -> None:
    """Hardware info has Scope's keys; no video sharing output is available."""
    body = api.get('/api/v1/hardware/info').json()
    assert body['vram_gb'] is None or body['vram_gb'] > 0
    for output in ('spout', 'ndi', 'syphon'):
        assert body[output]['available'] is False
        assert body[output]['reason']
        assert body[output]['install_hint'] is None
    assert body['cpu_count'] >= 1
    assert body['platform']


def test_plugins_are_empty_without_installed_packages(api: httpx.Client) -> None:
    """Without installed plugin packages the list is empty."""
    assert api.get('/api/v1/plugins').json() == {'plugins': [], 'total': 0, 'failed_plugins': []}


def test_model_status(api: httpx.Client) -> None:
    """Pipelines without model files, and unknown ids, report downloaded; the id is required. Without CUDA (as
    here) `longlive` without its weights is ready too: its stand-in runs, and Scope's app offers no download."""
    for pipeline_id in ('dreamfield', 'passthrough', 'krea-realtime-video', 'no-such-pipeline'):
        assert api.get('/api/v1/models/status', params={'pipeline_id': pipeline_id}).json() == \
            {'downloaded': True, 'progress': None}
    assert api.get('/api/v1/models/status', params={'pipeline_id': 'longlive'}).json() == \
        {'downloaded': True, 'progress': None, 'stand_in': 'dreamfield'}
    assert api.get('/api/v1/models/status').status_code == 422


def test_longlive_without_its_weights_runs_dreamfield_and_says_so(api: httpx.Client, restore_dreamfield: None) -> None:
    """Without LongLive's weights a load of `longlive` runs the CPU stand-in; schemas and status name it."""
    schemas = api.get('/api/v1/pipelines/schemas').json()['pipelines']
    assert schemas['longlive']['runs_as'] == 'dreamfield' and schemas['dreamfield']['runs_as'] == 'dreamfield'
    assert schemas['longlive']['chunk_size'] == 12 and schemas['longlive']['requires_models'] is True
    assert api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['longlive']}).status_code == 200
    status = wait_for_status(api)
    assert (status['status'], status['pipeline_id'], status['running_pipeline_ids']) == \
        ('loaded', 'longlive', ['dreamfield'])
    assert 'are not downloaded' in status['substitutions']['longlive']


def test_model_download_requests(api: httpx.Client) -> None:
    """Downloads need a known pipeline id; a pipeline whose files are ready needs nothing."""
    assert api.post('/api/v1/models/download', json={}).status_code == 422
    assert api.post('/api/v1/models/download', json={'pipeline_id': 7}).status_code == 422
    empty = api.post('/api/v1/models/download', json={'pipeline_id': ''})
    assert (empty.status_code, empty.json()['detail']) == (400, 'pipeline_id is required')
    assert api.post('/api/v1/models/download', json={'pipeline_id': 'no-such-pipeline'}).status_code == 404
    ready = api.post('/api/v1/models/download', json={'pipeline_id': 'dreamfield'})
    assert ready.status_code == 200
    assert ready.json() == {'message': 'Nothing to download for dreamfield: its files are ready'}


def test_models_of_a_pipeline_that_needs_files(tmp_path: Path) -> None:
    """A pipeline with missing files is not downloaded; an unreachable hub is a clear error; once the files exist,
    it is downloaded."""
    info = PipelineInfo(id='heavy', name='Heavy', description='needs weights', supported_modes=['text'],
                        default_mode='text', model_files=[ModelFiles('org/heavy-weights', ['model.safetensors'])])
    registry = PipelineRegistry()
    registry.register(info, 'nowhere:Heavy')
    app = FastAPI()
    app.include_router(models.router)
    # nothing listens on the hub's address: nothing leaves the machine
    config = Config(models_dir=tmp_path, hf_endpoint='http://127.0.0.1:9')
    app.state.context = SimpleNamespace(downloads=DownloadService(config, registry))
    with TestClient(app) as http:
        assert http.get('/api/v1/models/status', params={'pipeline_id': 'heavy'}).json()['downloaded'] is False
        started = http.post('/api/v1/models/download', json={'pipeline_id': 'heavy'})
        assert started.json() == {'message': 'Model download started for heavy'}
        deadline = time.monotonic() + PATIENCE
        while 'error' not in (http.get('/api/v1/models/status', params={'pipeline_id': 'heavy'}).json()['progress']
                              or {}):
            assert time.monotonic() < deadline, 'the failed download must report an error'
            time.sleep(0.05)

        (tmp_path / 'heavy-weights').mkdir()
        (tmp_path / 'heavy-weights' / 'model.safetensors').write_bytes(b'weights')
        assert http.get('/api/v1/models/status', params={'pipeline_id': 'heavy'}).json()['downloaded'] is True
        assert http.post('/api/v1/models/download', json={'pipeline_id': 'heavy'}).status_code == 200


def test_schemas_have_every_key_scope_clients_read(api: httpx.Client) -> None:
    """Each pipeline's schema entry carries at least the keys every Scope built-in has."""
    scope = json.loads(SCOPE_SCHEMAS.read_text())['pipelines']
    required = set.intersection(*(set(meta) for meta in scope.values()))
    pipelines = api.get('/api/v1/pipelines/schemas').json()['pipelines']
    assert {'dreamfield', 'passthrough'} <= set(pipelines)
    for pipeline_id, meta in pipelines.items():
        assert required <= set(meta), f'{pipeline_id} lacks {required - set(meta)}'
        assert meta['id'] == pipeline_id
        assert meta['config_schema']['additionalProperties'] is False
        assert {'height', 'width', 'base_seed'} <= set(meta['config_schema']['properties'])


@pytest.mark.parametrize('request_body', [
    {'pipelines': [{'node_id': 'main', 'pipeline_id': 'passthrough', 'load_params': {'width': 320, 'height': 240}}]},
    {'pipeline_ids': ['passthrough'], 'load_params': {'width': 320}},
    {'pipeline_id': 'passthrough'},
], ids=['pipelines', 'pipeline_ids', 'legacy-pipeline_id'])
def test_every_load_form_loads(api: httpx.Client, restore_dreamfield: None, request_body: dict[str, Any]) -> None:
    """Scope's three spellings of a load request each load the pipeline, and status ends at loaded."""
    response = api.post('/api/v1/pipeline/load', json=request_body)
    assert response.json() == {'message': 'Pipeline loading initiated successfully'}
    status = wait_for_status(api)
    assert status['status'] == 'loaded'
    assert status['pipeline_id'] == 'passthrough'


@pytest.mark.parametrize('request_body', [{}, {'pipeline_ids': []}, {'pipelines': []}, {'load_params': {'width': 512}}])
def test_load_without_pipelines_is_a_400(api: httpx.Client, request_body: dict[str, Any]) -> None:
    """A load request that names no pipeline is refused with Scope's message."""
    response = api.post('/api/v1/pipeline/load', json=request_body)
    assert response.status_code == 400
    assert response.json()['detail'] == "Either 'pipelines' or 'pipeline_ids' must be provided"


@pytest.mark.parametrize('request_body', [
    {'pipeline_ids': ['no-such-pipeline']},
    {'pipeline_ids': ['dreamfield'], 'load_params': {'width': 500}},
    {'pipeline_ids': ['dreamfield'], 'load_params': {'height': 250}},
    {'pipeline_ids': ['dreamfield'], 'load_params': {'width': 5000}},
    {'pipeline_ids': ['dreamfield'], 'load_params': {'base_seed': -1}},
    {'pipeline_ids': ['dreamfield'], 'load_params': {'width': 'wide'}},
    {'pipeline_ids': 'dreamfield'},
    {'pipeline_ids': [1, 2]},
    {'pipelines': [{'node_id': 'main'}]},
    {'pipelines': 'dreamfield'},
    {'pipeline_ids': ['dreamfield'], 'load_params': 'fast'},
], ids=['unknown', 'width-not-16', 'height-not-16', 'width-5000', 'negative-seed', 'width-str', 'ids-str',
        'ids-ints', 'node-without-pipeline', 'pipelines-str', 'params-str'])
def test_bad_load_requests_are_422_and_keep_the_loaded_pipeline(api: httpx.Client,
                                                                 request_body: dict[str, Any]) -> None:
    """Unknown pipelines, bad sizes and wrong types are refused up front; what was loaded stays loaded."""
    response = api.post('/api/v1/pipeline/load', json=request_body)
    assert response.status_code == 422
    assert response.json()['detail']
    status = api.get('/api/v1/pipeline/status').json()
    assert (status['status'], status['pipeline_id']) == ('loaded', 'dreamfield')


def test_load_with_a_body_that_is_not_json_is_a_422(api: httpx.Client) -> None:
    """A broken body is a validation error, not a crash."""
    response = api.post('/api/v1/pipeline/load', content=b'{"pipeline_ids": [',
                        headers={'Content-Type': 'application/json'})
    assert response.status_code == 422


def test_status_has_scope_fields(api: httpx.Client) -> None:
    """`/pipeline/status` carries every field Scope clients read."""
    status = api.get('/api/v1/pipeline/status').json()
    assert {'status', 'pipeline_id', 'load_params', 'loaded_lora_adapters', 'error', 'loading_stage',
            'produces_video', 'produces_audio'} <= set(status)
    assert status['status'] == 'loaded'


def test_not_loaded_server_reports_not_loaded() -> None:
    """A server started without a pipeline says not_loaded, then loaded after a load request."""
    running = RunningServer(pipeline='none')
    try:
        running.wait_ready(loaded=False)
        with httpx.Client(base_url=running.url, timeout=30) as http:
            assert http.get('/api/v1/pipeline/status').json()['status'] == 'not_loaded'
            assert http.post('/api/v1/pipeline/load', json={'pipeline_ids': ['passthrough']}).status_code == 200
            assert wait_for_status(http)['status'] == 'loaded'
    finally:
        running.stop()


def test_docs_and_openapi(api: httpx.Client) -> None:
    """Swagger UI and the OpenAPI document are served and list the endpoints."""
    assert api.get('/docs').status_code == 200
    paths = api.get('/openapi.json').json()['paths']
    for path in ('/api/v1/assets', '/api/v1/loras', '/api/v1/models/status', '/api/v1/hardware/info',
                 '/api/v1/plugins', '/api/v1/pipeline/load'):
        assert path in paths


def test_cors_preflight_from_another_origin_is_allowed(api: httpx.Client) -> None:
    """A browser app on another origin may call the API."""
    origin = 'http://studio.example:5173'
    preflight = api.options('/api/v1/pipeline/load', headers={
        'Origin': origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type'})
    assert preflight.status_code == 200
    assert preflight.headers['access-control-allow-origin'] in ('*', origin)
    assert 'POST' in preflight.headers['access-control-allow-methods']
    assert 'content-type' in preflight.headers['access-control-allow-headers'].lower()
    response = api.get('/api/v1/pipeline/status', headers={'Origin': origin})
    assert response.headers['access-control-allow-origin'] in ('*', origin)
