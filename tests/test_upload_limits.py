"""Upload limits hold while a body streams in: 413 as soon as the limit is passed, on every path that takes a body."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .server import RunningServer
from .upload_elements import upload_routes
from .waiting import wait_until

LIMIT = 1024 * 1024  # the limited server's DREAMSTAGE_MAX_UPLOAD_MB=1
SAFETENSORS = (2).to_bytes(8, 'little') + b'{}'
PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def song_route(limited_server: RunningServer) -> str:
    """The /audio page's song drop zone: NiceGUI's upload route."""
    return upload_routes(limited_server, '/audio')['Drop a song']


@pytest.fixture(autouse=True)
def nothing_left_behind(limited_server: RunningServer) -> Iterator[None]:
    """After every test the server answers and its folders hold no new file, whole or partial."""
    before = files_in(limited_server.assets_dir) + files_in(limited_server.lora_dir)
    yield
    assert httpx.get(f'{limited_server.url}/health').status_code == 200
    assert files_in(limited_server.assets_dir) + files_in(limited_server.lora_dir) == before


@pytest.mark.parametrize('path, content_type, head', [
    ('/api/v1/assets?filename=big.png', 'application/octet-stream', PNG),
    ('/api/v1/loras/upload?filename=big.safetensors', 'application/octet-stream', SAFETENSORS),
    ('/api/v1/pipeline/load', 'application/json', b'{"pipeline_ids": ["'),
])
def test_a_body_that_never_ends_is_refused_once_past_the_limit(limited_server: RunningServer, path: str,
                                                               content_type: str, head: bytes) -> None:
    """A chunked body without a length gets its 413 while the client is still sending."""
    assert status_of_endless_post(limited_server, path, content_type, head) == 413


def test_the_nicegui_upload_route_refuses_a_body_that_never_ends(limited_server: RunningServer,
                                                                 song_route: str) -> None:
    """The studio's drop zones count the bytes as they come, not after the whole body arrived."""
    boundary = 'dreamstage-test-boundary'
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="song.wav"\r\n'
            'Content-Type: audio/wav\r\n\r\nRIFF').encode()
    status = status_of_endless_post(limited_server, song_route, f'multipart/form-data; boundary={boundary}', head)
    assert status == 413


def test_a_declared_length_over_the_limit_is_refused_before_the_body(limited_server: RunningServer,
                                                                     song_route: str) -> None:
    """A Content-Length over the limit gets 413 without a byte of the body being sent."""
    for path in (song_route, '/api/v1/assets?filename=huge.png', '/api/v1/sessions'):
        with socket.create_connection(('127.0.0.1', limited_server.port), timeout=30) as sock:
            sock.sendall(request_head(path, 'multipart/form-data; boundary=x', f'Content-Length: {10 * LIMIT}'))
            assert read_status(sock) == 413


def test_an_upload_within_the_limit_still_arrives(limited_server: RunningServer, song_route: str) -> None:
    """Just under the limit, the song drop zone stores the file."""
    song = b'RIFF' + bytes(LIMIT - 4)
    response = httpx.post(limited_server.url + song_route, files={'file': ('fits.wav', song, 'audio/wav')}, timeout=30)
    assert response.status_code == 200
    stored = limited_server.assets_dir / 'audio' / 'fits.wav'
    assert wait_until(lambda: stored.is_file() and stored.read_bytes() == song), 'the song was not stored'
    stored.unlink()
    stored.parent.rmdir()  # the shared server's assets folder is left as it was


def status_of_endless_post(server: RunningServer, path: str, content_type: str, head: bytes) -> int:
    """POST `head` then 3 MB of zeros in chunks, never sending the final chunk; the status the server answers."""
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
        sock.sendall(request_head(path, content_type, 'Transfer-Encoding: chunked'))
        try:
            for block in (head, *[bytes(64 * 1024)] * 48):
                sock.sendall(b'%x\r\n%s\r\n' % (len(block), block))
        except OSError:  # the server answered and closed the connection while we were still sending
            pass
        return read_status(sock)


def request_head(path: str, content_type: str, length: str) -> bytes:
    return (f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{length}\r\n\r\n').encode()


def read_status(sock: socket.socket) -> int:
    """The status code of the response (the socket's timeout bounds the wait)."""
    received = b''
    while b'\r\n' not in received:
        data = sock.recv(4096)
        if not data:
            break
        received += data
    return int(received.split(b' ', 2)[1])


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob('*') if path.is_file()) if folder.exists() else []
