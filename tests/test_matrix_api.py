"""The modulation matrix over REST: routes and LFOs with live meters, quantized changes, the XY pad, presets."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .control_helpers import wait_for


@pytest.fixture
def stage(api: httpx.Client) -> Iterator[str]:
    assert api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).status_code == 200
    created = api.post('/api/v1/sessions', json={'name': 'matrix-stage', 'initialParameters': {
        'prompts': [{'text': 'forest', 'weight': 1.0}, {'text': 'city', 'weight': 0.0}]}})
    assert created.status_code == 201, created.text
    yield created.json()['id']
    api.delete(f"/api/v1/sessions/{created.json()['id']}")


def status(api: httpx.Client, session_id: str) -> dict[str, Any]:
    response = api.get(f'/api/v1/modulation/sessions/{session_id}')
    assert response.status_code == 200, response.text
    return response.json()


def test_lfo_and_xy_routes_drive_the_session_with_live_meters(api: httpx.Client, stage: str) -> None:
    base = f'/api/v1/modulation/sessions/{stage}'
    assert api.put(f'{base}/lfos', json={'lfos': [{'name': 'wave', 'shape': 'square', 'sync': False,
                                                   'hz': 0.01}]}).status_code == 200
    routes = [{'id': 'lfo', 'source': 'lfo.wave', 'target': 'noise_scale', 'out_min': 0.2, 'out_max': 0.6},
              {'id': 'pad', 'source': 'xy.x', 'target': 'prompt_weight.1'},
              {'id': 'gone', 'source': 'xy.y', 'target': 'guidance_scale'}]
    assert api.put(f'{base}/routes', json={'routes': routes}).status_code == 200
    assert api.put(f'{base}/xy', json={'x': 1.0, 'y': 0.5}).status_code == 200
    blended = [{'text': 'forest', 'weight': 0.5}, {'text': 'city', 'weight': 0.5}]

    def driven() -> dict[str, Any] | None:
        """The session's parameters once the matrix has sent what the pad and the LFO set (the meters show a
        tick's values a moment before its message reaches the session)."""
        parameters: dict[str, Any] = api.get(f'/api/v1/sessions/{stage}').json()['parameters']
        return parameters if parameters['prompts'] == blended and parameters['noise_scale'] in (0.2, 0.6) else None

    parameters = wait_for(driven)
    assert parameters, api.get(f'/api/v1/sessions/{stage}').json()['parameters']
    assert status(api, stage)['values'].get('xy.x') == 1.0
    meters = {route['id']: route['meter'] for route in status(api, stage)['routes']}
    assert meters['lfo']['status'] == 'ok' and meters['lfo']['output'] in (0.2, 0.6)
    assert meters['gone'] == {'status': 'missing target', 'source': None, 'output': None}, \
        'a route to a parameter this pipeline lacks is shown, not an error'
    assert status(api, stage)['refused'] == 0
    assert {'audio.energy', 'tempo.beat', 'lfo.wave', 'xy.x'} <= set(api.get(f'{base}/sources').json())
    assert api.delete(f'{base}/routes/lfo').status_code == 204
    assert wait_for(lambda: api.get(f'/api/v1/sessions/{stage}').json()['parameters']['noise_scale'] == 0.7), \
        'a parameter nothing drives any more goes back'


def test_bad_routes_are_refused_clearly(api: httpx.Client, stage: str) -> None:
    base = f'/api/v1/modulation/sessions/{stage}'
    for route in ({'source': 'x', 'target': 'noise_scale', 'in_min': 1, 'in_max': 1},
                  {'source': 'bad name!', 'target': 'noise_scale'},
                  {'source': 'x', 'target': 'noise_scale', 'curve': 'wobbly'},
                  {'source': 'x', 'target': 'noise_scale', 'out_max': 1e300}):
        assert api.post(f'{base}/routes', json=route).status_code == 422, route
    twice = [{'id': 'a', 'source': 'x', 'target': 'noise_scale'}] * 2
    assert api.put(f'{base}/routes', json={'routes': twice}).status_code == 400
    assert api.get('/api/v1/modulation/sessions/nope').status_code == 404


def test_a_quantized_change_waits_for_the_bar(api: httpx.Client, stage: str) -> None:
    base = f'/api/v1/modulation/sessions/{stage}'
    try:
        # the slowest tempo: the first bar lasts 12 s, time enough to look at the pending change on a busy machine
        api.post('/api/v1/tempo/enable', json={'source': 'internal', 'bpm': 20})
        scheduled = api.post(f'{base}/schedule', json={'parameters': {'seed': 4242}, 'quantize': 'bar'})
        assert scheduled.json() == {'result': 'scheduled'}
        pending = status(api, stage)['pending']
        assert len(pending) == 1 and pending[0]['keys'] == ['seed'] and 0 < pending[0]['in_ms'] <= 12_000
        assert wait_for(lambda: api.get(f'/api/v1/sessions/{stage}').json()['parameters']['seed'] == 4242)
        assert status(api, stage)['pending'] == []
        bad = api.post(f'{base}/schedule', json={'parameters': {'noise_scale': 3}, 'quantize': 'beat'})
        assert bad.status_code == 422 and 'noise_scale' in bad.json()['detail']
    finally:
        api.post('/api/v1/tempo/disable')
    assert api.post(f'{base}/schedule', json={'parameters': {'seed': 5}, 'quantize': 'bar'}).json() == \
        {'result': 'applied'}, 'without a tempo a quantized change applies at once'


def test_latency_settings_and_matrix_presets(api: httpx.Client, stage: str) -> None:
    base = f'/api/v1/modulation/sessions/{stage}'
    settings = api.put(f'{base}/settings', json={'compensate': False, 'trim_ms': 40, 'quantize': 'beat'}).json()
    assert settings == {**settings, 'compensate': False, 'trim_ms': 40, 'lead_ms': 40, 'quantize': 'beat'}
    api.put(f'{base}/routes', json={'routes': [{'id': 'r', 'source': 'xy.y', 'target': 'noise_scale'}]})
    saved = api.post(f'{base}/presets/Night Set/save')
    assert saved.status_code == 200 and saved.json()['name'] == 'night-set'
    api.put(f'{base}/routes', json={'routes': []})
    loaded = api.post(f'{base}/presets/night-set/load').json()
    assert [route['id'] for route in loaded['routes']] == ['r'] and loaded['quantize'] == 'beat'
    assert 'night-set' in [preset['name'] for preset in api.get('/api/v1/modulation/presets').json()]
    assert api.delete('/api/v1/modulation/presets/night-set').status_code == 204
    assert api.delete('/api/v1/modulation/presets/night-set').status_code == 404
