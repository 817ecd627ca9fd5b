"""Installing a LoRA from a URL, as Scope's LoRA settings and workflow import do, against a local HTTPS site."""
from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .https_site import HttpsSite, Reply
from .server import RunningServer

TOKEN = 'hf_testTOKENforTHEsite'


def safetensors(size: int = 4096) -> bytes:
    """A small valid safetensors file: one float32 tensor."""
    count = size // 4
    header = json.dumps({'lora.weight': {'dtype': 'F32', 'shape': [count], 'data_offsets': [0, count * 4]}}).encode()
    return struct.pack('<Q', len(header)) + header + bytes(count * 4)


LORA = safetensors()
BIG = safetensors(2 * 1024 * 1024)
REPLIES = {
    '/someone/style/resolve/main/style.safetensors': Reply(LORA),
    '/files/direct.safetensors': Reply(LORA),
    '/download/123': Reply(LORA, headers={'Content-Type': 'application/octet-stream',
                                          'Content-Disposition': 'attachment; filename="named.safetensors"'}),
    '/download/456': Reply(LORA, headers={'Content-Type': 'application/octet-stream',
                                          'Content-Disposition': 'attachment; filename="other.safetensors"'}),
    '/files/page.safetensors': Reply(b'<html>a web page</html>', headers={'Content-Type': 'text/html'}),
    '/files/fake.safetensors': Reply(b'\x00' * 64),
    '/files/big.safetensors': Reply(BIG),
    '/files/streamed.safetensors': Reply(lambda: [BIG[i:i + 65536] for i in range(0, len(BIG), 65536)]),
    '/files/private.safetensors': Reply(b'no', 403, {'Content-Type': 'text/plain'}),
    '/files/model.ckpt': Reply(LORA),
}


@pytest.fixture(scope='module')
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsSite]:
    with HttpsSite(tmp_path_factory.mktemp('site'), REPLIES) as running:
        yield running


@pytest.fixture(scope='module')
def server(site: HttpsSite) -> Iterator[RunningServer]:
    """A server whose uploads are limited to 1 MB, that trusts the site and sees it as its Hugging Face hub."""
    running = RunningServer(pipeline='none', env={'DREAMSTAGE_MAX_UPLOAD_MB': '1', 'SSL_CERT_FILE': str(site.cert_file),
                                                  'HF_ENDPOINT': site.url('')})
    try:
        running.wait_ready(loaded=False)
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def test_a_hugging_face_lora_installs_with_the_stored_key(api: httpx.Client, site: HttpsSite,
                                                          server: RunningServer) -> None:
    """Scope's LoRA tab posts a Hugging Face download link: the file lands in the LoRA folder, checked, and the
    stored Hugging Face key went along (to the hub only)."""
    assert api.put('/api/v1/keys/huggingface', json={'value': TOKEN}).status_code == 200
    answer = api.post('/api/v1/loras', json={'url': site.url('/someone/style/resolve/main/style.safetensors')})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body['message'] == "Successfully installed 'style'"
    assert (body['file']['name'], body['file']['provenance']['source']) == ('style', 'huggingface')
    assert (server.lora_dir / 'style.safetensors').read_bytes() == LORA
    assert ('/someone/style/resolve/main/style.safetensors', f'Bearer {TOKEN}') in site.requests
    assert 'style' in [f['name'] for f in api.get('/api/v1/loras').json()['lora_files']]
    installs = api.get('/api/v1/loras/installs').json()['installs']
    install = next(i for i in installs if i['filename'] == 'style.safetensors')
    assert (install['status'], install['bytes_done'], install['fraction']) == ('done', len(LORA), 1.0)

    direct = api.post('/api/v1/loras', json={'url': site.url('/files/direct.safetensors', host='localhost')})
    assert direct.status_code == 200 and direct.json()['file']['provenance']['source'] == 'url'
    assert ('/files/direct.safetensors', None) in site.requests, 'no key goes to another host'
    named = api.post('/api/v1/loras', json={'url': site.url('/download/123', host='localhost')})
    assert named.json()['file']['name'] == 'named', 'the name comes from Content-Disposition'
    renamed = api.post('/api/v1/loras', json={'url': site.url('/files/direct.safetensors', host='localhost'),
                                              'filename': 'styles/mine.safetensors'})
    assert renamed.json()['file']['folder'] == 'styles'
    again = api.post('/api/v1/loras', json={'url': site.url('/files/direct.safetensors', host='localhost')})
    assert again.status_code == 409


@pytest.mark.parametrize(('path', 'status', 'words'), [
    ('/someone/style/blob/main/style.safetensors', 400, 'preview page'),
    ('/files/page.safetensors', 400, 'web page'),
    ('/files/fake.safetensors', 400, 'Not a safetensors file'),
    ('/files/big.safetensors', 413, 'limited to 1 MB'),
    ('/files/streamed.safetensors', 413, 'limited to 1 MB'),
    ('/files/private.safetensors', 502, 'Access denied'),
    ('/files/gone.safetensors', 404, 'not found'),
    ('/files/model.ckpt', 400, '.safetensors'),
])
def test_what_cannot_be_installed_is_refused_with_a_reason(api: httpx.Client, site: HttpsSite, server: RunningServer,
                                                          path: str, status: int, words: str) -> None:
    """Preview pages, web pages, non-safetensors files, files over the limit and refusals by the other server are
    clear errors; no file and no partial file is left."""
    before = files(server.lora_dir)
    host = '127.0.0.1' if '/blob/' in path else 'localhost'  # the site is the Hugging Face hub on 127.0.0.1
    answer = api.post('/api/v1/loras', json={'url': site.url(path, host=host)})
    assert answer.status_code == status and words.lower() in answer.json()['detail'].lower(), answer.text
    assert files(server.lora_dir) == before


def files(folder: Path) -> set[str]:
    """Every file in a folder, hidden partial files included."""
    return {str(path.relative_to(folder)) for path in folder.rglob('*') if path.is_file()} if folder.exists() else set()


def test_urls_that_are_not_https_file_links_are_refused(api: httpx.Client) -> None:
    """Only https links: plain http, other schemes and nonsense are a 400 before anything is fetched."""
    for url in ('http://127.0.0.1:9/x.safetensors', 'file:///etc/passwd', 'ftp://host/x.safetensors', 'nonsense'):
        answer = api.post('/api/v1/loras', json={'url': url})
        assert answer.status_code == 400 and 'https' in answer.json()['detail']
    assert api.post('/api/v1/loras', json={}).status_code == 422


def test_a_workflow_import_downloads_its_missing_lora(api: httpx.Client, site: HttpsSite,
                                                      server: RunningServer) -> None:
    """Scope's workflow import asks for a LoRA by its provenance, with the checksum it expects."""
    digest = hashlib.sha256(LORA).hexdigest()
    answer = api.post('/api/v1/lora/download', json={
        'source': 'huggingface', 'repo_id': 'someone/style', 'hf_filename': 'style.safetensors',
        'subfolder': 'imported', 'expected_sha256': digest})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {'filename': 'style.safetensors', 'sha256': digest, 'size_bytes': len(LORA),
                             'path': str((server.lora_dir / 'imported' / 'style.safetensors').resolve())}
    wrong = api.post('/api/v1/lora/download', json={'source': 'url', 'expected_sha256': '0' * 64,
                                                    'url': site.url('/download/456', host='localhost')})
    assert wrong.status_code == 400 and 'checksum' in wrong.json()['detail']
    assert not (server.lora_dir / 'other.safetensors').exists()
    assert api.post('/api/v1/lora/download', json={'source': 'civitai'}).status_code == 400
