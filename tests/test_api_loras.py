"""The LoRA API: list `.safetensors` files, upload new ones, delete them."""
from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .server import RunningServer


@pytest.fixture(autouse=True)
def still_healthy(api: httpx.Client) -> Iterator[None]:
    """After every test, whatever it sent, the server still answers."""
    yield
    assert api.get('/health').status_code == 200


@pytest.fixture
def tag() -> str:
    """A fresh name part, so tests don't see each other's files."""
    return uuid.uuid4().hex[:8]


def safetensors(tensor_bytes: int = 16) -> bytes:
    """A small but well-formed safetensors file."""
    tensor = {'dtype': 'F32', 'shape': [tensor_bytes // 4], 'data_offsets': [0, tensor_bytes]}
    header = json.dumps({'__metadata__': {'format': 'pt'}, 'lora.weight': tensor})
    return struct.pack('<Q', len(header)) + header.encode() + bytes(tensor_bytes)


def upload(api: httpx.Client, filename: str, body: bytes) -> httpx.Response:
    return api.post('/api/v1/loras/upload', params={'filename': filename}, content=body)


def listed(api: httpx.Client) -> dict[str, dict]:
    """The listed LoRAs by `folder/name` (or `name` at the top), in listing order."""
    entries = api.get('/api/v1/loras').json()['lora_files']
    return {f"{entry['folder']}/{entry['name']}" if entry['folder'] else entry['name']: entry for entry in entries}


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob('*')) if folder.exists() else []


def test_upload_list_and_delete_a_lora(api: httpx.Client, server: RunningServer, tag: str) -> None:
    """An uploaded LoRA is listed with Scope's fields, and can be deleted by its name."""
    response = upload(api, f'style-{tag}.safetensors', safetensors())
    assert response.status_code == 200
    file = response.json()['file']
    assert file == {'name': f'style-{tag}', 'path': str(server.lora_dir.resolve() / f'style-{tag}.safetensors'),
                    'size_mb': 0.0, 'folder': None, 'sha256': None, 'provenance': None, 'read_only': False}
    assert f'style-{tag}' in response.json()['message']
    assert listed(api)[f'style-{tag}'] == file

    deleted = api.delete(f'/api/v1/loras/style-{tag}')
    assert deleted.status_code == 200
    assert deleted.json()['success'] is True
    assert f'style-{tag}' not in listed(api)
    assert api.delete(f'/api/v1/loras/style-{tag}').status_code == 404


def test_legacy_list_has_the_v0_1_shape(api: httpx.Client, tag: str) -> None:
    """`/api/v1/lora/list` answers with name, path, size_mb and folder only."""
    upload(api, f'legacy-{tag}.safetensors', safetensors())
    entries = api.get('/api/v1/lora/list').json()['lora_files']
    mine = next(entry for entry in entries if entry['name'] == f'legacy-{tag}')
    assert set(mine) == {'name', 'path', 'size_mb', 'folder'}
    api.delete(f'/api/v1/loras/legacy-{tag}')


def test_loras_in_folders_are_listed_by_folder_then_name(api: httpx.Client, server: RunningServer, tag: str) -> None:
    """Files at the top come first, then each folder, names sorted; other files and hidden ones are ignored."""
    upload(api, f'b-{tag}.safetensors', safetensors())
    upload(api, f'a-{tag}.safetensors', safetensors())
    upload(api, f'styles-{tag}/c.safetensors', safetensors())
    (server.lora_dir / f'styles-{tag}' / 'notes.txt').write_text('not a LoRA')
    (server.lora_dir / f'styles-{tag}' / '.hidden.safetensors').write_bytes(safetensors())
    keys = list(listed(api))
    mine = [key for key in keys if tag in key]
    assert mine == [f'a-{tag}', f'b-{tag}', f'styles-{tag}/c']
    assert listed(api)[f'styles-{tag}/c']['folder'] == f'styles-{tag}'
    for name in (f'a-{tag}', f'b-{tag}', f'styles-{tag}/c'):
        assert api.delete(f'/api/v1/loras/{name}').status_code == 200
    assert files_in(server.lora_dir / f'styles-{tag}') == ['.hidden.safetensors', 'notes.txt']


def test_files_copied_into_the_folder_are_listed(api: httpx.Client, server: RunningServer, tag: str) -> None:
    """A LoRA put there by hand (any case of the extension) shows up."""
    server.lora_dir.mkdir(parents=True, exist_ok=True)
    (server.lora_dir / f'manual-{tag}.SAFETENSORS').write_bytes(safetensors(1024 * 1024))
    assert listed(api)[f'manual-{tag}']['size_mb'] == 1.0
    assert api.delete(f'/api/v1/loras/manual-{tag}').status_code == 200


def test_an_existing_lora_is_not_overwritten(api: httpx.Client, tag: str) -> None:
    """A second upload of the same name is a 409."""
    assert upload(api, f'twice-{tag}.safetensors', safetensors()).status_code == 200
    response = upload(api, f'twice-{tag}.safetensors', safetensors(32))
    assert response.status_code == 409
    assert listed(api)[f'twice-{tag}']['path'].endswith(f'twice-{tag}.safetensors')
    api.delete(f'/api/v1/loras/twice-{tag}')


@pytest.mark.parametrize('filename', ['model.bin', 'model.pt', 'model.ckpt', 'model.png', 'model'])
def test_only_safetensors_files_are_accepted(api: httpx.Client, filename: str) -> None:
    """Pickle-based formats and anything else are refused."""
    response = upload(api, filename, safetensors())
    assert response.status_code == 400
    assert response.json()['detail'] == 'Invalid file type. Allowed types: .safetensors'


@pytest.mark.parametrize('body', [
    b'short',
    b'\x00' * 64,
    struct.pack('<Q', 10 ** 12) + b'{}',
    struct.pack('<Q', 8) + b'not json',
    struct.pack('<Q', 2) + b'[]' + bytes(8),
    struct.pack('<Q', 4) + b'\xff\xfe{}',
    b'PK\x03\x04' + bytes(60),
], ids=['too-short', 'zero-length-header', 'huge-header', 'not-json', 'json-list', 'not-utf8', 'zip-pickle'])
def test_implausible_safetensors_are_refused(api: httpx.Client, server: RunningServer, tag: str, body: bytes) -> None:
    """A body without a safetensors header is refused, and nothing is kept."""
    response = upload(api, f'bad-{tag}/model.safetensors', body)
    assert response.status_code == 400
    assert response.json()['detail'].startswith('Not a safetensors file')
    assert not (server.lora_dir / f'bad-{tag}').exists()


@pytest.mark.parametrize('filename', ['../escape.safetensors', 'sub/../../escape.safetensors',
                                      '/tmp/escape.safetensors', '..\\escape.safetensors',
                                      '.hidden.safetensors', 'nul\x00.safetensors'])
def test_unsafe_filenames_are_refused(api: httpx.Client, server: RunningServer, filename: str) -> None:
    """Names that climb out, are absolute or hidden are refused, and nothing is written."""
    response = upload(api, filename, safetensors())
    assert response.status_code == 400
    assert response.json()['detail'] == 'Invalid filename'
    assert not (server.models_dir / 'escape.safetensors').exists()


def test_a_symlinked_folder_cannot_be_written_through(api: httpx.Client, server: RunningServer, tmp_path: Path,
                                                      tag: str) -> None:
    """Uploading into a folder that links outside the LoRA folder is refused."""
    server.lora_dir.mkdir(parents=True, exist_ok=True)
    (server.lora_dir / f'door-{tag}').symlink_to(tmp_path, target_is_directory=True)
    assert upload(api, f'door-{tag}/planted.safetensors', safetensors()).status_code == 400
    assert files_in(tmp_path) == []


def test_empty_upload_is_refused(api: httpx.Client, server: RunningServer, tag: str) -> None:
    """An empty body is a 400 and leaves no file behind."""
    assert upload(api, f'empty-{tag}/x.safetensors', b'').status_code == 400
    assert not (server.lora_dir / f'empty-{tag}').exists()


def test_deleting_unknown_or_escaping_names_finds_nothing(api: httpx.Client, server: RunningServer) -> None:
    """Only listed LoRAs can be deleted; anything else is a 404 and touches nothing."""
    for name in ('no-such-lora', '..', '%2e%2e%2fserver', '%2e%2e/%2e%2e/server', 'None/x'):
        assert api.delete(f'/api/v1/loras/{name}').status_code == 404
    assert (server.home / 'server.log').exists()


def test_upload_over_the_limit_is_refused(limited_server: RunningServer) -> None:
    """A 2 MB LoRA on a server limited to 1 MB gets a 413 and leaves no file."""
    with httpx.Client(base_url=limited_server.url, timeout=30) as http:
        response = http.post('/api/v1/loras/upload', params={'filename': 'big.safetensors'},
                             content=safetensors(2 * 1024 * 1024))
        assert response.status_code == 413
        assert files_in(limited_server.lora_dir) == []
        assert http.get('/health').status_code == 200
