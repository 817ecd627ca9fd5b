"""Model downloads against a local HTTP server that answers like the Hugging Face hub (never the network)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api import models as models_api
from config import Config
from pipeline import model_store
from pipeline.model_store import DownloadError, DownloadManager, DownloadProgress, missing
from pipeline.protocol import ModelFiles, PipelineInfo
from pipeline.registry import PipelineRegistry
from services.downloads import DownloadService

from .test_streamdiffusion_models import tiny_models_home
from .waiting import PATIENCE

ROOT = Path(__file__).resolve().parent.parent
COMMIT = 'a' * 40
TOKEN = 'hf_secret'


class FakeHub:
    """Serves repositories from memory: file resolve (HEAD/GET with Range), tree listing, gated repos."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.gated: set[str] = set()
        self.hold: dict[str, threading.Event] = {}  # path -> released when set (half the file is sent before)
        self.drop_once: set[str] = set()  # paths whose first GET breaks off halfway
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                hub.answer(self, body=False)

            def do_GET(self) -> None:
                hub.answer(self, body=True)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def add(self, repo_id: str, files: dict[str, bytes]) -> None:
        self.repos[repo_id] = dict(files)

    def close(self) -> None:
        for event in self.hold.values():
            event.set()
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlparse(request.path).path)
        self.requests.append((request.command, path, request.headers.get('Range')))
        if path.startswith('/api/models/'):
            return self._tree(request, path[len('/api/models/'):])
        org, name, kind, _revision, *rest = path.strip('/').split('/')
        repo_id, filename = f'{org}/{name}', '/'.join(rest)
        if repo_id not in self.repos:
            return self._error(request, 401, 'RepoNotFound')
        if repo_id in self.gated and request.headers.get('Authorization') != f'Bearer {TOKEN}':
            return self._error(request, 401 if 'Authorization' not in request.headers else 403, 'GatedRepo')
        data = self.repos[repo_id].get(filename)
        if kind != 'resolve' or data is None:
            return self._error(request, 404, 'EntryNotFound')
        start = int(request.headers['Range'].split('=')[1].split('-')[0]) if request.headers.get('Range') else 0
        request.send_response(206 if start else 200)
        request.send_header('X-Repo-Commit', COMMIT)
        request.send_header('ETag', f'"{hashlib.sha256(data).hexdigest()}"')
        request.send_header('Content-Length', str(len(data) - start))
        if start:
            request.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        request.end_headers()
        if not body:
            return None
        rest_of_file, half = data[start:], (len(data) - start) // 2
        if filename in self.drop_once:
            self.drop_once.discard(filename)
            request.wfile.write(rest_of_file[:half])
            request.wfile.flush()
            request.close_connection = True
            return None
        if filename in self.hold:
            request.wfile.write(rest_of_file[:half])
            request.wfile.flush()
            self.hold[filename].wait(2 * PATIENCE)  # the test (or the hub's closing) releases it
            rest_of_file = rest_of_file[half:]
        request.wfile.write(rest_of_file)
        return None

    def _tree(self, request: BaseHTTPRequestHandler, rest: str) -> None:
        org, name, _tree, _revision, *folder = rest.split('/')
        prefix = '/'.join(folder).rstrip('/') + '/'
        entries = [{'type': 'file', 'path': path, 'size': len(data), 'oid': hashlib.sha1(data).hexdigest()}
                   for path, data in self.repos.get(f'{org}/{name}', {}).items() if path.startswith(prefix)]
        body = json.dumps(entries).encode()
        request.send_response(200)
        request.send_header('Content-Type', 'application/json')
        request.send_header('Content-Length', str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _error(request: BaseHTTPRequestHandler, status: int, code: str) -> None:
        body = json.dumps({'error': code}).encode()
        request.send_response(status)
        request.send_header('X-Error-Code', code)
        request.send_header('Content-Length', str(len(body)))
        request.end_headers()
        if request.command == 'GET':
            request.wfile.write(body)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fake hub that HF_ENDPOINT points to (downloads are allowed even when HF_HUB_OFFLINE is set outside)."""
    from huggingface_hub import constants

    fake = FakeHub()
    monkeypatch.setenv('HF_ENDPOINT', fake.url)
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setattr(constants, 'DOWNLOAD_CHUNK_SIZE', 64 * 1024)  # the hub's 10 MB chunks, scaled to 1 MB files
    yield fake
    fake.close()


BIG = bytes(range(256)) * 4096  # 1 MiB


def repo_files() -> dict[str, bytes]:
    return {'config.json': b'{"tiny": true}', 'weights/model.safetensors': BIG, 'tokenizer/vocab.json': b'{}',
            'tokenizer/merges.txt': b'#version: 0.2\n'}


def test_download_fetches_missing_files_with_progress_then_skips_them(hub: FakeHub, tmp_path: Path) -> None:
    """Files (and a declared folder) land in `<models>/<repo name>/`, progress climbs to 100 %, a rerun fetches none."""
    hub.add('org/tiny-model', repo_files())
    model = ModelFiles('org/tiny-model', ['config.json', 'weights/model.safetensors', 'tokenizer'])
    seen: list[DownloadProgress] = []
    DownloadManager(tmp_path, hub.url).download('tiny', [model], listener=lambda p: seen.append(DownloadProgress(**{
        k: getattr(p, k) for k in p.__slots__})))
    folder = tmp_path / 'tiny-model'
    assert (folder / 'weights' / 'model.safetensors').read_bytes() == BIG
    assert (folder / 'tokenizer' / 'merges.txt').read_bytes() == b'#version: 0.2\n'
    assert missing([model], tmp_path) == []
    assert seen[-1].percentage == 100.0 and seen[-1].current_artifact == 'org/tiny-model'
    assert seen[-1].downloaded_bytes == seen[-1].total_bytes == sum(map(len, repo_files().values()))
    assert [p.percentage for p in seen] == sorted(p.percentage for p in seen)
    hub.requests.clear()
    DownloadManager(tmp_path, hub.url).download('tiny', [model])
    assert hub.requests == [], 'files already present are not fetched again'


def test_an_interrupted_download_resumes_with_a_range_request(hub: FakeHub, tmp_path: Path) -> None:
    """A connection that breaks off mid-file is resumed where it stopped, not restarted."""
    hub.add('org/tiny-model', repo_files())
    hub.drop_once.add('weights/model.safetensors')
    DownloadManager(tmp_path, hub.url).download('tiny', [ModelFiles('org/tiny-model', ['weights/model.safetensors'])])
    assert (tmp_path / 'tiny-model' / 'weights' / 'model.safetensors').read_bytes() == BIG
    assert [ranges for method, _, ranges in hub.requests if method == 'GET'] == [None, f'bytes={len(BIG) // 2}-']


@pytest.mark.parametrize(('case', 'message'), [
    ('gated', 'restricted.*set HF_TOKEN'),
    ('unknown', 'refused access to org/nowhere.*Set HF_TOKEN'),
    ('missing-file', 'has no file or folder nope.bin'),
    ('network', 'Cannot reach Hugging Face'),
    ('disk', 'Not enough disk space for org/tiny-model'),
])
def test_failures_become_clear_messages(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
                                        message: str) -> None:
    """Authentication, missing repositories or files, the network and a full disk each say what to do."""
    hub.add('org/tiny-model', repo_files())
    hub.gated.add('org/tiny-model')
    endpoint = hub.url
    model = ModelFiles('org/tiny-model', ['weights/model.safetensors'])
    token: str | None = TOKEN
    if case == 'gated':
        token = None
    elif case == 'unknown':
        model = ModelFiles('org/nowhere', ['model.bin'])
    elif case == 'missing-file':
        model = ModelFiles('org/tiny-model', ['nope.bin'])
    elif case == 'network':
        endpoint = 'http://127.0.0.1:9'
    else:
        monkeypatch.setattr(model_store.shutil, 'disk_usage', lambda path: SimpleNamespace(free=1000))
    with pytest.raises(DownloadError, match=message):
        DownloadManager(tmp_path, endpoint).download('tiny', [model], token=token)
    assert not (tmp_path / 'tiny-model' / 'weights' / 'model.safetensors').exists()


def test_status_progress_409_and_completion_through_the_api(hub: FakeHub, tmp_path: Path) -> None:
    """Scope's endpoints: download starts, progress shows, a second request is 409, the token is used, done clears."""
    hub.add('org/heavy-weights', repo_files())
    hub.gated.add('org/heavy-weights')
    hold = hub.hold['weights/model.safetensors'] = threading.Event()
    info = PipelineInfo(id='heavy', name='Heavy', description='needs weights', supported_modes=['text'],
                        default_mode='text', model_files=[ModelFiles('org/heavy-weights', ['config.json',
                                                                                          'weights/model.safetensors'])])
    registry = PipelineRegistry()
    registry.register(info, 'nowhere:Heavy')
    app = FastAPI()
    errors.install(app)
    app.include_router(models_api.router)
    app.state.context = downloads_context(registry, Config(models_dir=tmp_path, hf_token=TOKEN, hf_endpoint=hub.url))
    with TestClient(app) as http:
        def status() -> dict[str, Any]:
            return http.get('/api/v1/models/status', params={'pipeline_id': 'heavy'}).json()

        assert status() == {'downloaded': False, 'progress': None}
        started = http.post('/api/v1/models/download', json={'pipeline_id': 'heavy'})
        assert started.json() == {'message': 'Model download started for heavy'}
        progress = wait_for(lambda: (status()['progress'] or {}).get('percentage', 0) > 0 and status()['progress'])
        assert progress['is_downloading'] is True and progress['current_artifact'] == 'org/heavy-weights'
        assert 0 < progress['percentage'] < 100 and progress['current_file'] == 'weights/model.safetensors'
        second = http.post('/api/v1/models/download', json={'pipeline_id': 'heavy'})
        assert (second.status_code, second.json()['detail']) == (409, 'Download already in progress for heavy')
        hold.set()
        assert wait_for(lambda: status() == {'downloaded': True, 'progress': None})
        assert http.post('/api/v1/models/download', json={'pipeline_id': 'heavy'}).json() == \
            {'message': 'Nothing to download for heavy: its files are ready'}


def test_a_failed_download_reports_its_error_in_the_status(hub: FakeHub, tmp_path: Path) -> None:
    """An authentication failure stays in the status (with the HF_TOKEN hint) until the next attempt."""
    hub.add('org/heavy-weights', repo_files())
    hub.gated.add('org/heavy-weights')
    info = PipelineInfo(id='heavy', name='Heavy', description='needs weights', supported_modes=['text'],
                        default_mode='text', model_files=[ModelFiles('org/heavy-weights', ['config.json'])])
    registry = PipelineRegistry()
    registry.register(info, 'nowhere:Heavy')
    app = FastAPI()
    errors.install(app)
    app.include_router(models_api.router)
    app.state.context = context = downloads_context(registry, Config(models_dir=tmp_path, hf_endpoint=hub.url))
    with TestClient(app) as http:
        assert http.post('/api/v1/models/download', json={'pipeline_id': 'heavy'}).status_code == 200
        body = wait_for(lambda: (http.get('/api/v1/models/status', params={'pipeline_id': 'heavy'}).json()
                                 if not context.downloads.is_downloading('heavy') else None))
        assert body['downloaded'] is False and body['progress']['is_downloading'] is False
        assert 'HF_TOKEN' in body['progress']['error']


def test_download_command_fetches_the_streamdiffusion_models(hub: FakeHub, tmp_path: Path) -> None:
    """`python -m pipeline.download --pipeline streamdiffusion` fetches sd-turbo and TAESD, printing progress."""
    models = tiny_models_home() / 'models'
    for repo_id, folder in (('stabilityai/sd-turbo', 'sd-turbo'), ('madebyollin/taesd', 'taesd')):
        hub.add(repo_id, {str(p.relative_to(models / folder)): p.read_bytes()
                          for p in (models / folder).rglob('*') if p.is_file()})
    env = {**os.environ, 'HF_ENDPOINT': hub.url, 'HF_HUB_OFFLINE': '0', 'DREAMSTAGE_MODELS_DIR': str(tmp_path)}
    command = [sys.executable, '-m', 'pipeline.download', '--pipeline', 'streamdiffusion']
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'stabilityai/sd-turbo: 100.0%' in result.stdout and 'downloaded into' in result.stdout
    assert (tmp_path / 'sd-turbo' / 'unet' / 'diffusion_pytorch_model.safetensors').read_bytes() == \
        (models / 'sd-turbo' / 'unet' / 'diffusion_pytorch_model.safetensors').read_bytes()
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and 'every model file is in' in again.stdout


def downloads_context(registry: PipelineRegistry, config: Config) -> SimpleNamespace:
    """Just what the models router reaches: the download service of a registry."""
    return SimpleNamespace(downloads=DownloadService(config, registry))


def wait_for(check: Any, timeout: float = PATIENCE) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)
    raise TimeoutError('condition not met')
