"""The assets API: upload reference images, videos and audio, list them, fetch them, delete them."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .server import RunningServer
from .waiting import wait_until

PNG = b'\x89PNG\r\n\x1a\n' + bytes(100)
JPEG = b'\xff\xd8\xff\xe0' + bytes(100)
WEBP = b'RIFF\x64\x00\x00\x00WEBPVP8 ' + bytes(100)
BMP = b'BM' + bytes(100)


@pytest.fixture(autouse=True)
def still_healthy(api: httpx.Client) -> Iterator[None]:
    """After every test, whatever it sent, the server still answers."""
    yield
    assert api.get('/health').status_code == 200


@pytest.fixture
def folder() -> str:
    """A fresh sub-folder name, so tests don't see each other's files."""
    return f'test-{uuid.uuid4().hex[:8]}'


def file_clock(folder: Path) -> float:
    """The time the file system gives a file changed now (it moves in steps of a few milliseconds)."""
    probe = folder / f'clock-{uuid.uuid4().hex[:8]}'
    probe.touch()
    try:
        return probe.stat().st_ctime
    finally:
        probe.unlink()


def upload(api: httpx.Client, filename: str, body: bytes) -> httpx.Response:
    return api.post('/api/v1/assets', params={'filename': filename}, content=body,
                    headers={'Content-Type': 'application/octet-stream'})


def names(api: httpx.Client, **params: str) -> list[str]:
    return [asset['name'] for asset in api.get('/api/v1/assets', params=params).json()['assets']]


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob('*')) if folder.exists() else []


def test_upload_list_fetch_and_delete_an_image(api: httpx.Client, server: RunningServer, folder: str) -> None:
    """An uploaded image shows up in the list, can be fetched back byte for byte, and deleted."""
    response = upload(api, f'{folder}/cat.png', PNG)
    assert response.status_code == 200
    info = response.json()
    assert info['name'] == 'cat'
    assert info['folder'] == folder
    assert info['type'] == 'image'
    assert info['size_mb'] == 0.0
    assert info['path'] == str(server.assets_dir.resolve() / folder / 'cat.png')
    assert isinstance(info['created_at'], float)
    assert Path(info['path']).read_bytes() == PNG

    assert info in api.get('/api/v1/assets').json()['assets']
    fetched = api.get(f'/api/v1/assets/{folder}/cat.png')
    assert fetched.status_code == 200
    assert fetched.headers['content-type'] == 'image/png'
    assert fetched.content == PNG

    assert api.delete(f'/api/v1/assets/{folder}/cat.png').status_code == 204
    assert api.get(f'/api/v1/assets/{folder}/cat.png').status_code == 404
    assert api.delete(f'/api/v1/assets/{folder}/cat.png').status_code == 404
    assert 'cat' not in names(api)


def test_top_level_asset_has_no_folder(api: httpx.Client, server: RunningServer) -> None:
    """A file uploaded without a folder is listed with folder null."""
    name = f'top-{uuid.uuid4().hex[:8]}'
    info = upload(api, f'{name}.webp', WEBP).json()
    assert info['folder'] is None
    assert info['path'] == str(server.assets_dir.resolve() / f'{name}.webp')
    assert api.delete(f'/api/v1/assets/{name}.webp').status_code == 204


def test_every_kind_of_file_is_typed_and_served_with_its_media_type(api: httpx.Client, folder: str) -> None:
    """Images, videos and audio get their type and a matching Content-Type."""
    cases = {'a.jpg': ('image', 'image/jpeg', JPEG), 'b.bmp': ('image', 'image/bmp', BMP),
             'c.mp4': ('video', 'video/mp4', b'video'), 'd.webm': ('video', 'video/webm', b'video'),
             'e.wav': ('audio', 'audio/wav', b'audio'), 'f.mp3': ('audio', 'audio/mpeg', b'audio')}
    for filename, (kind, media_type, body) in cases.items():
        assert upload(api, f'{folder}/{filename}', body).json()['type'] == kind
        assert api.get(f'/api/v1/assets/{folder}/{filename}').headers['content-type'] == media_type


def test_list_filters_by_type(api: httpx.Client, folder: str) -> None:
    """`?type=` narrows the list to one kind; an unknown type lists every kind."""
    upload(api, f'{folder}/still.png', PNG)
    upload(api, f'{folder}/clip.mov', b'video')
    upload(api, f'{folder}/beat.flac', b'audio')
    assert 'still' in names(api, type='image') and 'clip' not in names(api, type='image')
    assert 'clip' in names(api, type='video') and 'beat' not in names(api, type='video')
    assert 'beat' in names(api, type='audio') and 'still' not in names(api, type='audio')
    assert {'still', 'clip', 'beat'} <= set(names(api, type='everything'))


def test_list_is_newest_first(api: httpx.Client, server: RunningServer, folder: str) -> None:
    """The most recently uploaded file comes first."""
    upload(api, f'{folder}/older.png', PNG)
    uploaded = (server.assets_dir / folder / 'older.png').stat().st_ctime
    assert wait_until(lambda: file_clock(server.home) > uploaded), 'the file system clock moves on'
    upload(api, f'{folder}/newer.png', PNG)
    mine = [name for name in names(api) if name in ('older', 'newer')]
    assert mine == ['newer', 'older']


def test_extensions_are_case_insensitive(api: httpx.Client, folder: str) -> None:
    """`PHOTO.JPG` is a JPEG image like `photo.jpg`."""
    assert upload(api, f'{folder}/PHOTO.JPG', JPEG).json()['type'] == 'image'
    assert api.get(f'/api/v1/assets/{folder}/PHOTO.JPG').headers['content-type'] == 'image/jpeg'


def test_upload_replaces_a_file_of_the_same_name(api: httpx.Client, server: RunningServer, folder: str) -> None:
    """Uploading the same name twice keeps the second file."""
    upload(api, f'{folder}/same.png', PNG)
    upload(api, f'{folder}/same.png', PNG + b'more')
    assert api.get(f'/api/v1/assets/{folder}/same.png').content == PNG + b'more'
    assert files_in(server.assets_dir / folder) == ['same.png']


@pytest.mark.parametrize('filename', ['notes.txt', 'run.exe', 'noextension', 'image.png.sh', 'vector.svg', 'x.PNG '])
def test_other_file_types_are_refused(api: httpx.Client, filename: str) -> None:
    """Only image, video and audio extensions are accepted."""
    response = upload(api, filename, PNG)
    assert response.status_code == 400
    assert response.json()['detail'].startswith('Invalid file type. Allowed types: .png')


@pytest.mark.parametrize('filename', ['../escape.png', '../../escape.png', 'sub/../../escape.png', '/tmp/escape.png',
                                      '..\\escape.png', 'sub\\escape.png', 'nul\x00.png', '.hidden.png',
                                      '.cache/escape.png', 'sub/./escape.png', 'sub/../escape.png', '//escape.png'])
def test_unsafe_filenames_are_refused(api: httpx.Client, server: RunningServer, filename: str) -> None:
    """Names that climb out, are absolute, hidden, or use backslashes or NUL are refused, and nothing is written."""
    response = upload(api, filename, PNG)
    assert response.status_code == 400
    assert response.json()['detail'] == 'Invalid filename'
    assert not (server.home / 'escape.png').exists()
    assert not (server.assets_dir / 'sub' / 'escape.png').exists()


def test_a_symlink_cannot_lead_out_of_the_assets_folder(api: httpx.Client, server: RunningServer,
                                                        tmp_path: Path) -> None:
    """A symlinked folder or file pointing elsewhere can be neither written to, read, nor listed."""
    (tmp_path / 'secret.png').write_bytes(PNG)
    tag = uuid.uuid4().hex[:8]
    server.assets_dir.mkdir(parents=True, exist_ok=True)
    (server.assets_dir / f'door-{tag}').symlink_to(tmp_path, target_is_directory=True)
    (server.assets_dir / f'link-{tag}.png').symlink_to(tmp_path / 'secret.png')

    assert upload(api, f'door-{tag}/planted.png', PNG).status_code == 400
    assert files_in(tmp_path) == ['secret.png']
    assert api.get(f'/api/v1/assets/door-{tag}/secret.png').status_code == 403
    assert api.get(f'/api/v1/assets/link-{tag}.png').status_code == 403
    assert api.delete(f'/api/v1/assets/link-{tag}.png').status_code == 403
    assert 'secret' not in names(api) and f'link-{tag}' not in names(api)
    assert (tmp_path / 'secret.png').read_bytes() == PNG


def test_empty_upload_is_refused(api: httpx.Client, server: RunningServer, folder: str) -> None:
    """An empty body is a 400 and leaves neither a file nor its new folder behind."""
    response = upload(api, f'{folder}/empty.png', b'')
    assert response.status_code == 400
    assert 'Empty' in response.json()['detail']
    assert not (server.assets_dir / folder).exists()


@pytest.mark.parametrize(('filename', 'body'), [('fake.png', b'<?php system($_GET["c"]); ?>'), ('fake.png', JPEG),
                                                ('fake.jpg', PNG), ('fake.webp', b'RIFF\x00\x00\x00\x00WAVEfmt '),
                                                ('fake.bmp', b'GIF89a' + bytes(10))])
def test_image_content_must_match_its_extension(api: httpx.Client, server: RunningServer, folder: str,
                                                filename: str, body: bytes) -> None:
    """An image whose first bytes say otherwise is refused, and nothing is kept."""
    response = upload(api, f'{folder}/{filename}', body)
    assert response.status_code == 400
    assert 'does not match' in response.json()['detail']
    assert not (server.assets_dir / folder).exists()


@pytest.mark.parametrize('path', ['%2e%2e/server.log', '%2e%2e%2fserver.log', '..%2F..%2Fetc%2Fpasswd',
                                  'sub/%2e%2e/%2e%2e/server.log', '.hidden.png', 'nul%00.png', 'a%5C..%5Cb.png'])
def test_fetching_outside_the_assets_folder_is_forbidden(api: httpx.Client, server: RunningServer, path: str) -> None:
    """Encoded `..`, hidden names, NUL and backslashes are refused with 403."""
    response = api.get(f'/api/v1/assets/{path}')
    assert response.status_code == 403
    assert response.json()['detail'] == 'Invalid path'
    assert api.delete(f'/api/v1/assets/{path}').status_code == 403
    assert (server.home / 'server.log').exists()


def test_absolute_looking_paths_mean_the_file_at_the_top(api: httpx.Client) -> None:
    """As in Scope, `/any/where/x.png` is looked up as `x.png` at the top of the assets folder."""
    name = f'abs-{uuid.uuid4().hex[:8]}.png'
    upload(api, name, PNG)
    assert api.get(f'/api/v1/assets//somewhere/else/{name}').content == PNG
    assert api.get('/api/v1/assets//etc/passwd').status_code == 404
    assert api.delete(f'/api/v1/assets/{name}').status_code == 204


def test_missing_and_non_asset_files_are_not_found(api: httpx.Client, server: RunningServer, folder: str) -> None:
    """Unknown names are 404, and so are files in the folder that are not assets."""
    assert api.get(f'/api/v1/assets/{folder}/nothing.png').json()['detail'] == 'Asset not found'
    (server.assets_dir / folder).mkdir(parents=True)
    (server.assets_dir / folder / 'notes.txt').write_text('private')
    assert api.get(f'/api/v1/assets/{folder}/notes.txt').status_code == 404
    assert api.delete(f'/api/v1/assets/{folder}/notes.txt').status_code == 404
    assert api.get(f'/api/v1/assets/{folder}').status_code == 404


def test_upload_without_filename_is_a_validation_error(api: httpx.Client) -> None:
    """The `filename` query parameter is required."""
    assert api.post('/api/v1/assets', content=PNG).status_code == 422


def test_upload_over_the_limit_is_refused(limited_server: RunningServer) -> None:
    """A 2 MB upload to a server limited to 1 MB gets a 413 and leaves no file, declared size or not."""
    with httpx.Client(base_url=limited_server.url, timeout=30) as http:
        big = PNG + bytes(2 * 1024 * 1024)
        response = http.post('/api/v1/assets', params={'filename': 'big.png'}, content=big)
        assert response.status_code == 413
        assert '1 MB' in response.json()['detail']

        def chunks() -> Iterator[bytes]:
            yield PNG
            for _ in range(32):
                yield bytes(64 * 1024)

        streamed = http.post('/api/v1/assets', params={'filename': 'streamed.png'}, content=chunks())
        assert streamed.status_code == 413
        assert files_in(limited_server.assets_dir) == []
        assert http.post('/api/v1/assets', params={'filename': 'fits.png'}, content=PNG + bytes(1000 * 1024)
                         ).status_code == 200
        assert files_in(limited_server.assets_dir) == ['fits.png']
        assert http.get('/health').status_code == 200
