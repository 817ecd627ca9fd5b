"""Access control: an optional API key for REST, offers, WebSockets and pages, and rate limits."""
from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from nicegui import __version__ as NICEGUI_VERSION

from services.access import same_secret

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = 'dreamstage_key'
# Open to every method: health, login, and Daydream's WHIP/WHEP/HLS URLs (their stream key or playback id is the
# credential)
OPEN_PATHS = ('/health', '/login', '/live/', '/playback/')
# Open to GET and HEAD only: the files a page loads (NiceGUI's versioned scripts and styles, ours, the icon).
# NiceGUI's routes that take data (`/_nicegui/client/<id>/upload/<element>`, the `/_nicegui_ws/` socket) need the key.
OPEN_READS = (f'/_nicegui/{NICEGUI_VERSION}/', '/static/', '/favicon')
READ_METHODS = ('GET', 'HEAD')
DAYDREAM_PATHS = ('/v1/', '/beta/')  # refusals in Daydream's error envelope


def rate_limits(offers_per_minute: int, uploads_per_minute: int) -> dict[tuple[str, str], tuple[int, float]]:
    """(method, path prefix) -> (requests, per seconds), counted for each client address."""
    return {
        ('POST', '/api/v1/webrtc/offer'): (offers_per_minute, 60.0),
        ('POST', '/api/v1/sessions'): (offers_per_minute, 60.0),
        ('POST', '/whip'): (offers_per_minute, 60.0),
        ('POST', '/v1/streams'): (offers_per_minute, 60.0),
        ('POST', '/live/'): (offers_per_minute, 60.0),
        ('POST', '/playback/'): (offers_per_minute, 60.0),
        ('POST', '/api/v1/assets'): (uploads_per_minute, 60.0),
        ('POST', '/api/v1/loras'): (uploads_per_minute, 60.0),
        ('POST', '/_nicegui/client/'): (uploads_per_minute, 60.0),  # the studio's upload elements
        ('POST', '/api/v1/generate/upload'): (uploads_per_minute, 60.0),
        ('POST', '/api/v1/batch/upload'): (uploads_per_minute, 60.0),
    }


class AccessControl:
    """ASGI middleware: checks the API key (header, `?key=`, or cookie) and applies per-client rate limits."""

    def __init__(self, app: ASGIApp, api_key: str | None, offers_per_minute: int = 30,
                 uploads_per_minute: int = 60) -> None:
        self.app = app
        self.api_key = api_key or None
        self.limits = rate_limits(offers_per_minute, uploads_per_minute)
        self.hits: dict[tuple[str, str, str], deque[float]] = defaultdict(deque)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        path: str = scope.get('path', '')
        if scope['type'] == 'http' and (limited := self._rate_limited(scope, path)):
            await _json(send, 429, _body(path, 429, limited), [(b'retry-after', b'10')])
            return
        if self.api_key is None or _is_open(scope, path):
            await self.app(scope, receive, send)
            return
        key, from_query = _presented_key(scope)
        if key is not None and same_secret(self.api_key, key):
            if from_query and scope['type'] == 'http' and _wants_html(scope):
                await _redirect(send, _without_key(scope), set_cookie=self.api_key)  # the key leaves the URL
                return
            await self.app(scope, receive, send)
            return
        if scope['type'] == 'websocket':
            await send({'type': 'websocket.close', 'code': 4401})
        elif _wants_html(scope):
            await _redirect(send, f'/login?next={quote(path)}')
        else:
            unread_body = [(b'connection', b'close')] if _has_body(scope) else []  # a stranger's upload is not read
            await _json(send, 401, _body(path, 401, 'An API key is required: send `Authorization: Bearer <key>`.'),
                        [(b'www-authenticate', b'Bearer'), *unread_body])

    def _rate_limited(self, scope: Scope, path: str) -> str | None:
        method = scope.get('method', '')
        client = (scope.get('client') or ('?', 0))[0]
        for (limit_method, prefix), (count, window) in self.limits.items():
            if method == limit_method and path.startswith(prefix):
                hits = self.hits[(client, method, prefix)]
                now = time.monotonic()
                while hits and hits[0] < now - window:
                    hits.popleft()
                if len(hits) >= count:
                    return f'Too many requests to {prefix}: at most {count} per {window:.0f} s. Try again shortly.'
                hits.append(now)
        return None


def _is_open(scope: Scope, path: str) -> bool:
    """Whether a request needs no key: /health, /login, CORS preflights and reading the static files of a page."""
    method = scope.get('method')
    if scope['type'] != 'http':
        return False
    if method in READ_METHODS and path.startswith(OPEN_READS):
        return True
    return path.startswith(OPEN_PATHS) or method == 'OPTIONS'


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get('headers', []))
    return headers.get(b'content-length', b'0').strip() not in (b'', b'0') or b'transfer-encoding' in headers


def _body(path: str, status: int, message: str) -> dict[str, Any]:
    """`{"detail"}`, or Daydream's error envelope on its paths."""
    if path.startswith(DAYDREAM_PATHS):
        code = 'UNAUTHORIZED' if status == 401 else 'RATE_LIMITED'
        return {'success': False, 'error': message, 'code': code, 'status': status, 'detail': message}
    return {'detail': message}


def _presented_key(scope: Scope) -> tuple[str | None, bool]:
    headers = {k.decode('latin-1').lower(): v.decode('latin-1') for k, v in scope.get('headers', [])}
    authorization = headers.get('authorization', '')
    if authorization.lower().startswith('bearer '):
        return authorization[7:].strip(), False
    if 'x-api-key' in headers:
        return headers['x-api-key'].strip(), False
    query = parse_qs(scope.get('query_string', b'').decode('latin-1'))
    if query.get('key'):
        return query['key'][0], True
    cookie = SimpleCookie(headers.get('cookie', ''))
    if COOKIE in cookie:
        return cookie[COOKIE].value, False
    return None, False


def _wants_html(scope: Scope) -> bool:
    headers = dict(scope.get('headers', []))
    return scope.get('method') == 'GET' and b'text/html' in headers.get(b'accept', b'')


def _without_key(scope: Scope) -> str:
    query = parse_qs(scope.get('query_string', b'').decode('latin-1'))
    query.pop('key', None)
    rest = '&'.join(f'{k}={quote(v)}' for k, values in query.items() for v in values)
    return scope.get('path', '/') + (f'?{rest}' if rest else '')


async def _json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({'type': 'http.response.start', 'status': status,
                'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(payload)).encode()),
                            *(headers or [])]})
    await send({'type': 'http.response.body', 'body': payload})


async def _redirect(send: Send, location: str, set_cookie: str | None = None) -> None:
    headers = [(b'location', location.encode('latin-1')), (b'content-length', b'0')]
    if set_cookie:
        cookie = f'{COOKIE}={set_cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000'
        headers.append((b'set-cookie', cookie.encode('latin-1')))
    await send({'type': 'http.response.start', 'status': 303, 'headers': headers})
    await send({'type': 'http.response.body', 'body': b''})
