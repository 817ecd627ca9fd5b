"""An API key protects REST, offers, WebSockets and pages; without the key nothing is served but /health and /login."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .scope_client import ScopeClient
from .server import RunningServer

KEY = 'correct-horse-battery-staple'


@pytest.fixture(scope='module')
def keyed_server() -> Iterator[RunningServer]:
    """A server that needs an API key."""
    running = RunningServer(env={'DREAMSTAGE_API_KEY': KEY, 'DREAMSTAGE_CORS_ORIGINS': 'http://studio.example'})
    try:
        running.wait_ready(loaded=False)
        yield running
    finally:
        running.stop()


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
