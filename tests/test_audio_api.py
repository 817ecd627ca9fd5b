"""The audio REST API: clear errors, presets saved and deleted, documented in /docs."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from .server import RunningServer
from .waiting import wait_until

PNG = b'\x89PNG\r\n\x1a\n' + bytes(100)


@pytest.fixture(scope='module')
def session_id(server: RunningServer) -> Iterator[str]:
    """A shared session (no WebRTC peer needed) for the API tests, ended afterwards."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).status_code == 200
        created = http.post('/api/v1/sessions', json={'name': 'audio-api-test'})
        assert created.status_code == 201, created.text
        yield created.json()['id']
        http.delete(f"/api/v1/sessions/{created.json()['id']}")


def start(api: httpx.Client, session_id: str, source: dict, **body: object) -> httpx.Response:
    return api.post(f'/api/v1/audio/sessions/{session_id}/start', json={'source': source, **body})


def test_unknown_sessions_are_404(api: httpx.Client) -> None:
    for response in (api.get('/api/v1/audio/sessions/nope'), api.post('/api/v1/audio/sessions/nope/stop'),
                     start(api, 'nope', {'kind': 'test'})):
        assert response.status_code == 404 and 'nope' in response.json()['detail']


def test_a_session_without_audio_reports_it_is_not_running(api: httpx.Client, session_id: str) -> None:
    status = api.get(f'/api/v1/audio/sessions/{session_id}').json()
    assert status == {**status, 'session_id': session_id, 'running': False, 'features': None}
    assert api.put(f'/api/v1/audio/sessions/{session_id}/preset', json={'name': 'beat-pulse'}).status_code == 409


@pytest.mark.parametrize('source, status, words', [
    ({'kind': 'radio'}, 422, 'kind'),
    ({'kind': 'test', 'bpm': 1000}, 422, 'bpm'),
    ({'kind': 'file'}, 400, 'path'),
    ({'kind': 'file', 'path': '../../etc/passwd'}, 400, 'not inside the assets folder'),
    ({'kind': 'file', 'path': '/etc/passwd'}, 400, 'not inside the assets folder'),
    ({'kind': 'file', 'path': 'missing/song.mp3'}, 404, 'no audio asset'),
])
def test_bad_sources_are_refused_clearly(api: httpx.Client, session_id: str, source: dict, status: int,
                                         words: str) -> None:
    response = start(api, session_id, source)
    assert response.status_code == status, response.text
    assert words in response.text


def test_a_file_that_is_not_audio_is_refused(api: httpx.Client, session_id: str) -> None:
    upload = api.post('/api/v1/assets', params={'filename': 'audio-api/picture.png'}, content=PNG)
    assert upload.status_code == 200, upload.text
    response = start(api, session_id, {'kind': 'file', 'path': 'audio-api/picture.png'})
    assert response.status_code == 400 and 'picture.png' in response.json()['detail']


def test_a_device_source_names_the_optional_package(api: httpx.Client, session_id: str) -> None:
    device = api.get('/api/v1/audio/sources').json()['device']
    if device['available']:
        pytest.skip('sounddevice is installed here')
    assert 'sounddevice' in device['reason']
    response = start(api, session_id, {'kind': 'device'})
    assert response.status_code == 400 and 'pip install sounddevice' in response.json()['detail']


def test_unknown_presets_are_404(api: httpx.Client, session_id: str) -> None:
    assert start(api, session_id, {'kind': 'test'}, preset='nope').status_code == 404
    assert api.get('/api/v1/audio/presets/nope').status_code == 404
    assert api.delete('/api/v1/audio/presets/nope').status_code == 404


def test_start_switch_preset_and_stop(api: httpx.Client, session_id: str) -> None:
    started = start(api, session_id, {'kind': 'test', 'bpm': 100}, preset='beat-pulse').json()
    assert started['running'] and started['preset'] == 'beat-pulse'
    assert [e['session_id'] for e in api.get('/api/v1/audio/sessions').json()] == [session_id]
    switched = api.put(f'/api/v1/audio/sessions/{session_id}/preset', json={'name': 'soundscape'})
    assert switched.status_code == 200 and switched.json()['preset'] == 'soundscape'
    restarted = start(api, session_id, {'kind': 'test', 'bpm': 130}, preset='soundscape').json()
    assert restarted['running'] and restarted['source']['description'] == 'test beat at 130 BPM'
    assert wait_until(lambda: api.get(f'/api/v1/audio/sessions/{session_id}').json()['clock']['ticks'] > 0)
    stopped = api.post(f'/api/v1/audio/sessions/{session_id}/stop').json()
    assert not stopped['running'] and stopped['clock']['ticks'] > 0
    assert api.post(f'/api/v1/audio/sessions/{session_id}/stop').json()['running'] is False


def test_presets_are_listed_saved_and_deleted(api: httpx.Client, session_id: str) -> None:
    listing = api.get('/api/v1/audio/presets').json()
    assert listing['builtin'] == ['soundscape', 'beat-pulse']
    mine = {**api.get('/api/v1/audio/presets/beat-pulse').json(), 'description': 'mine'}
    mine['mappings'][0]['out_max'] = 0.9
    saved = api.put('/api/v1/audio/presets/Club Night', json=mine)
    assert saved.status_code == 200 and saved.json()['name'] == 'club-night'
    assert api.get('/api/v1/audio/presets/club-night').json()['mappings'][0]['out_max'] == 0.9
    assert 'club-night' in [p['name'] for p in api.get('/api/v1/audio/presets').json()['presets']]
    assert start(api, session_id, {'kind': 'test'}, preset='club-night').json()['preset'] == 'club-night'
    api.post(f'/api/v1/audio/sessions/{session_id}/stop')
    assert api.put('/api/v1/audio/presets/soundscape', json=mine).status_code == 400
    assert api.put('/api/v1/audio/presets/...', json=mine).status_code == 400
    assert api.delete('/api/v1/audio/presets/soundscape').status_code == 400
    assert api.delete('/api/v1/audio/presets/club-night').status_code == 204
    assert api.get('/api/v1/audio/presets/club-night').status_code == 404
    bad = {**mine, 'mappings': [{'feature': 'energy', 'parameter': 'paused'}]}
    assert api.put('/api/v1/audio/presets/bad', json=bad).status_code == 422


async def test_sixty_saves_of_one_preset_at_once_all_succeed(server: RunningServer) -> None:
    """Many clients saving the same preset at the same moment each get 200, and the folder keeps one whole file."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        preset = (await http.get('/api/v1/audio/presets/beat-pulse')).json()
        saves = [http.put('/api/v1/audio/presets/crowd', json={**preset, 'description': f'save {i}'})
                 for i in range(60)]
        statuses = [response.status_code for response in await asyncio.gather(*saves)]
        assert statuses == [200] * 60
        saved = (await http.get('/api/v1/audio/presets/crowd')).json()
        assert saved['description'].startswith('save ')
        folder = server.home / 'audio_presets'
        assert sorted(path.name for path in folder.iterdir()) == ['crowd.json'], 'no temporary files are left'
        assert (await http.delete('/api/v1/audio/presets/crowd')).status_code == 204


def test_an_unsaved_preset_can_be_used_directly(api: httpx.Client, session_id: str) -> None:
    preset = {'name': 'adhoc', 'mappings': [{'feature': 'bass', 'parameter': 'noise_scale', 'out_min': 0.2,
                                              'out_max': 0.9}]}
    started = start(api, session_id, {'kind': 'test'}, preset_config=preset).json()
    assert started['preset'] == 'adhoc'
    api.post(f'/api/v1/audio/sessions/{session_id}/stop')


def test_the_api_is_documented(api: httpx.Client) -> None:
    spec = api.get('/openapi.json').json()
    paths = spec['paths']
    for path in ('/api/v1/audio/sessions/{session_id}/start', '/api/v1/audio/sessions/{session_id}/stop',
                 '/api/v1/audio/sessions/{session_id}', '/api/v1/audio/presets', '/api/v1/audio/presets/{name}',
                 '/api/v1/audio/sources'):
        assert path in paths
    schemas = spec['components']['schemas']
    assert {'AudioStatus', 'StartRequest', 'SourceSpec', 'Preset', 'Mapping', 'FeatureValues'} <= set(schemas)
    assert 'centroid_hz' in schemas['FeatureValues']['properties']
