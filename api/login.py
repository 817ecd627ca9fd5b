"""The login page of a server protected by an API key (plain HTML: the studio's own socket needs the key first)."""
from __future__ import annotations

from html import escape
from urllib.parse import urlparse

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.access import same_secret

from .auth import COOKIE
from .context import Context

router = APIRouter(include_in_schema=False)

PAGE = '''<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dreamstage: sign in</title><style>body{{background:#121212;color:#eee;font-family:system-ui;display:grid;
place-items:center;height:100vh;margin:0}}form{{display:flex;flex-direction:column;gap:12px;width:320px}}
input,button{{padding:10px;border-radius:6px;border:1px solid #444;background:#1e1e1e;color:#eee;font-size:16px}}
button{{background:#6d28d9;border:0;cursor:pointer}}.error{{color:#f87171}}</style></head><body>
<form method="post" action="/login"><h2>Dreamstage</h2><p>This server needs its API key.</p>{error}
<input type="password" name="key" placeholder="API key" autofocus required>
<input type="hidden" name="next" value="{next}"><button type="submit">Sign in</button></form></body></html>'''


@router.get('/login')
def login_page(next: str = '/', error: str = '') -> HTMLResponse:
    """A form that asks for the API key."""
    message = '<p class="error">That key is not right.</p>' if error else ''
    return HTMLResponse(PAGE.format(error=message, next=escape(_local(next))))


@router.post('/login')
def login(context: Context, key: str = Form(...), next: str = Form('/')) -> Response:
    """Check the key; on success remember it in a cookie and go on."""
    expected = context.config.api_key or ''
    if not expected or not same_secret(expected, key):
        return RedirectResponse(f'/login?error=1&next={_local(next)}', status_code=303)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(COOKIE, expected, httponly=True, samesite='lax', max_age=30 * 24 * 3600)
    return response


def _local(target: str) -> str:
    """Only paths on this server (no open redirects)."""
    parsed = urlparse(target)
    return target if not parsed.scheme and not parsed.netloc and target.startswith('/') else '/'
