"""What Scope's app asks the server to remember (onboarding, keys, DMX mappings) survives a restart; keys are kept
in a file only the server's user can read and are never sent back."""
from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from services.errors import Conflict, InvalidRequest, NotFound
from services.keys import KeyStore

from .server import RunningServer

TOKEN = 'hf_secretSECRETsecret0123456789'


def restarted(home: Path, **env: str) -> RunningServer:
    """A server without a pipeline on the folders of `home` (started again on each call)."""
    running = RunningServer(pipeline='none', home=home, env=env)
    running.wait_ready(loaded=False)
    return running


def test_onboarding_keys_and_dmx_mappings_survive_a_restart(tmp_path: Path) -> None:
    """Scope's app finishes onboarding, stores a Hugging Face key and DMX mappings; after a restart all is there,
    the key's value never appears in an answer, and its file is private."""
    running = restarted(tmp_path)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            assert http.get('/api/v1/onboarding/status').json()['completed'] is False
            http.put('/api/v1/onboarding/status', json={'inference_mode': 'local'})
            done = http.put('/api/v1/onboarding/status', json={'completed': True}).json()
            assert (done['completed'], done['inference_mode']) == (True, 'local')
            answer = http.put('/api/v1/keys/huggingface', json={'value': TOKEN})
            assert answer.json() == {'success': True, 'message': 'HuggingFace token saved'}
            http.put('/api/v1/dmx/config', json={'mappings': [{'universe': 1, 'channel': 7, 'key': 'noise_scale'}]})
    finally:
        running.stop()
    keys_file = tmp_path / 'settings' / 'keys.json'
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_file.parent.stat().st_mode) == 0o700

    running = restarted(tmp_path)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            status = http.get('/api/v1/onboarding/status').json()
            assert (status['completed'], status['inference_mode']) == (True, 'local')
            keys = {key['id']: key for key in http.get('/api/v1/keys').json()['keys']}
            assert (keys['huggingface']['is_set'], keys['huggingface']['source']) == (True, 'stored')
            assert (keys['civitai']['is_set'], keys['civitai']['source']) == (False, None)
            assert http.get('/api/v1/dmx/status').json()['mapping_count'] == 1
            assert http.put('/api/v1/onboarding/status', json={'completed': False}).json()['completed'] is False
            for path in ('/api/v1/keys', '/api/v1/logs/current', '/api/v1/onboarding/status', '/api/v1/dmx/config'):
                assert TOKEN not in http.get(path).text
            assert http.delete('/api/v1/keys/huggingface').json()['success'] is True
            assert http.delete('/api/v1/keys/huggingface').status_code == 404
            assert http.put('/api/v1/keys/openai', json={'value': 'x'}).status_code == 404
            assert http.put('/api/v1/keys/civitai', json={'value': 'two words'}).status_code == 400
    finally:
        running.stop()
    assert TOKEN not in running.log_path.read_text()


def test_a_key_from_the_environment_is_not_managed_from_the_app(tmp_path: Path) -> None:
    """With HF_TOKEN set, the key shows as set from the environment; setting or removing it is a 409."""
    running = restarted(tmp_path, HF_TOKEN=TOKEN)
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            key = next(k for k in http.get('/api/v1/keys').json()['keys'] if k['id'] == 'huggingface')
            assert (key['is_set'], key['source'], key['env_var']) == (True, 'env_var', 'HF_TOKEN')
            assert http.put('/api/v1/keys/huggingface', json={'value': 'hf_other'}).status_code == 409
            assert http.delete('/api/v1/keys/huggingface').status_code == 409
    finally:
        running.stop()


def test_the_key_store_prefers_the_environment(tmp_path: Path) -> None:
    """The key to use: the environment's, else the stored one; a stored key comes back after the environment's goes."""
    stored = KeyStore(tmp_path, {})
    stored.set('civitai', '  abc123  ')
    assert stored.token('civitai') == 'abc123' and stored.source('civitai') == 'stored'
    with_env = KeyStore(tmp_path, {'CIVITAI_API_TOKEN': 'from-env', 'HF_TOKEN': None})
    assert with_env.token('civitai') == 'from-env' and with_env.source('civitai') == 'env_var'
    assert with_env.token('huggingface') is None
    with pytest.raises(Conflict):
        with_env.set('civitai', 'x')
    with pytest.raises(InvalidRequest):
        stored.set('huggingface', '')
    with pytest.raises(NotFound):
        stored.token('nope')
    (tmp_path / 'keys.json').write_text('{broken')
    assert KeyStore(tmp_path, {}).token('civitai') is None, 'a broken file reads as no keys'
