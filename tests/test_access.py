"""An API key protects REST, offers, WebSockets and pages; without the key nothing is served but /health and /login."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import nicegui
import pytest
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .scope_client import ScopeClient
from .server import RunningServer, serving
from .upload_elements import upload_routes
from .waiting import wait_until

KEY = 'correct-horse-battery-staple'
PNG = b'\x89PNG\r\n\x1a\n' + bytes(100)


@pytest.fixture(scope='module')
def keyed_server() -> Iterator[RunningServer]:
    """A server that needs an API key."""
    environment = {'DREAMSTAGE_API_KEY': KEY, 'DREAMSTAGE_CORS_ORIGINS': 'http://studio.example'}
    with serving(env=environment, loaded=False) as running:
        yield running


@pytest.mark.parametrize('method, path', [
    ('GET', '/api/v1/pipeline/status'), ('POST', '/api/v1/pipeline/load'), ('GET', '/api/v1/assets'),
    ('POST', '/api/v1/webrtc/offer'), ('GET', '/api/v1/sessions'), ('POST', '/api/v1/sessions'),
    ('GET', '/api/v1/session/metrics'), ('GET', '/docs'), ('GET', '/openapi.json'),
])
def test_without_the_key_the_api_answers_401(keyed_server: RunningServer, method: str, path: str) -> None:
    """Missing or wrong keys get 401 everywhere that matters."""
    assert httpx.request(method, keyed_server.url + path).status_code == 401
    wrong = httpx.request(method, keyed_server.url + path, headers={'Authorization': 'Bearer nope'})
    assert wrong.status_code == 401


def test_with_the_key_the_api_works(keyed_server: RunningServer) -> None:
    """A bearer key or an X-API-Key header opens the API; /health is always open."""
    assert httpx.get(f'{keyed_server.url}/health').status_code == 200
    bearer = httpx.get(f'{keyed_server.url}/api/v1/pipeline/status', headers={'Authorization': f'Bearer {KEY}'})
    assert bearer.status_code == 200
    header = httpx.get(f'{keyed_server.url}/api/v1/assets', headers={'X-API-Key': KEY})
    assert header.status_code == 200


def test_the_studio_asks_for_the_key_then_remembers_it(keyed_server: RunningServer) -> None:
    """A browser without the key lands on the login page; the key in the URL once sets a cookie."""
    html = {'Accept': 'text/html'}
    first = httpx.get(f'{keyed_server.url}/', headers=html)
    assert first.status_code == 303 and first.headers['location'].startswith('/login')
    assert 'API key' in httpx.get(f'{keyed_server.url}/login').text
    with httpx.Client(base_url=keyed_server.url) as browser:
        redirected = browser.get('/?key=' + KEY, headers=html)
        assert redirected.status_code == 303 and redirected.headers['location'] == '/'
        assert browser.get('/api/v1/pipeline/status').status_code == 200, 'the cookie now carries the key'
    with httpx.Client(base_url=keyed_server.url) as browser:
        wrong = browser.post('/login', data={'key': 'nope', 'next': '/'})
        assert wrong.status_code == 303 and 'error=1' in wrong.headers['location']
        right = browser.post('/login', data={'key': KEY, 'next': 'https://evil.example/'})
        assert right.status_code == 303 and right.headers['location'] == '/', 'no open redirects'
        assert browser.get('/api/v1/assets').status_code == 200


async def test_offers_and_websockets_need_the_key(keyed_server: RunningServer) -> None:
    """A Scope client with the key streams; the studio's socket and the video socket refuse strangers."""
    client = ScopeClient(keyed_server.url)
    client.http.headers['Authorization'] = f'Bearer {KEY}'
    try:
        await client.load({'pipeline_ids': ['dreamfield']})
        await client.connect({})
        assert len(await client.wait_frames(3)) == 3
    finally:
        await client.close()
    base = keyed_server.url.replace('http', 'ws')
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with websocket_connect(f'{base}/api/v1/ws/video?session=x&token=y') as socket:
            await socket.recv()


def test_cors_is_restricted_when_a_key_is_set(keyed_server: RunningServer) -> None:
    """Only the configured origin may call the API from a browser."""
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(f'{keyed_server.url}/api/v1/pipeline/status', headers={
            'Origin': origin, 'Access-Control-Request-Method': 'GET',
            'Access-Control-Request-Headers': 'authorization'})
    assert preflight('http://studio.example').headers.get('access-control-allow-origin') == 'http://studio.example'
    assert 'access-control-allow-origin' not in preflight('http://evil.example').headers


def test_the_studio_uploads_need_the_key(keyed_server: RunningServer) -> None:
    """The studio's drop zones post to NiceGUI's upload route: a stranger stores nothing, the key holder can."""
    routes = upload_routes(keyed_server, headers={'Authorization': f'Bearer {KEY}'})
    assert {'Drop images, videos or audio here', 'Drop a .safetensors LoRA here', 'Drop a song'} <= set(routes)
    files = {'file': ('cat.png', PNG, 'image/png')}
    for route in routes.values():
        assert httpx.post(keyed_server.url + route, files=files).status_code == 401
        assert httpx.post(keyed_server.url + route, files=files, headers={'Authorization': 'Bearer nope'}
                          ).status_code == 401
    assert stored(keyed_server) == []
    asset_route = routes['Drop images, videos or audio here']
    with_key = httpx.post(keyed_server.url + asset_route, files=files, headers={'Authorization': f'Bearer {KEY}'})
    assert with_key.status_code == 200
    assert wait_until(lambda: stored(keyed_server) == ['cat.png']), stored(keyed_server)


def test_nicegui_serves_page_files_but_takes_no_data_without_the_key(keyed_server: RunningServer) -> None:
    """Scripts and styles a page loads stay open; posting to NiceGUI's paths or its socket needs the key."""
    static = f'/_nicegui/{nicegui.__version__}/static/nicegui.css'
    assert httpx.get(keyed_server.url + static).status_code == 200
    assert httpx.get(keyed_server.url + '/static/studio.css').status_code == 200
    assert httpx.post(keyed_server.url + static, content=b'x').status_code == 401
    assert httpx.get(f'{keyed_server.url}/_nicegui/client/some-client/upload/1').status_code == 401
    polling = httpx.post(f'{keyed_server.url}/_nicegui_ws/socket.io/?EIO=4&transport=polling', content=b'40')
    assert polling.status_code == 401


def test_a_strangers_endless_upload_is_refused_and_not_read(keyed_server: RunningServer) -> None:
    """An upload without the key gets 401 while its body is still coming; the server hangs up instead of reading on."""
    with socket.create_connection(('127.0.0.1', keyed_server.port), timeout=30) as sock:
        sock.sendall(b'POST /api/v1/assets?filename=big.png HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                     b'Transfer-Encoding: chunked\r\n\r\n' + b'%x\r\n%s\r\n' % (65536, bytes(65536)))
        status = b''
        while b'\r\n' not in status and (data := sock.recv(1)):
            status += data
        assert status.startswith(b'HTTP/1.1 401')
        with pytest.raises(OSError):  # the server closed the connection: 64 MB more cannot all go through
            for _ in range(1024):
                sock.sendall(b'%x\r\n%s\r\n' % (65536, bytes(65536)))


def stored(server: RunningServer) -> list[str]:
    """The files in the server's assets and LoRA folders."""
    return sorted(path.name for folder in (server.assets_dir, server.lora_dir) if folder.exists()
                  for path in folder.rglob('*') if path.is_file())


def test_daydream_clients_send_the_key_as_bearer_and_media_urls_carry_their_own(keyed_server: RunningServer) -> None:
    """`/v1/streams` needs the key (refused in Daydream's envelope); WHIP, WHEP and HLS URLs are open: the stream key
    and the playback id in them are the credentials, as on Daydream."""
    url = keyed_server.url
    refused = httpx.post(f'{url}/v1/streams', json={'pipeline': 'streamdiffusion', 'params': {}})
    assert refused.status_code == 401
    assert refused.json()['success'] is False and refused.json()['code'] == 'UNAUTHORIZED'
    bearer = {'Authorization': f'Bearer {KEY}'}
    created = httpx.post(f'{url}/v1/streams', json={'pipeline': 'streamdiffusion', 'params': {}}, headers=bearer)
    assert created.status_code == 201, created.text
    stream = created.json()
    try:
        assert httpx.options(stream['whip_url']).status_code == 204
        assert httpx.options(stream['output_stream_url']).status_code == 204
        assert httpx.get(f'{url}/v1/streams/{stream["id"]}').status_code == 401
    finally:
        httpx.delete(f'{url}/v1/streams/{stream["id"]}', headers=bearer)
