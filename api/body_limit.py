"""A size limit on every request body, counted while it streams in (declared length or not)."""
from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

from services.uploads import too_large_detail

from .auth import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around an uploaded file


class BodyLimit:
    """ASGI middleware: once a body passes the limit the app sees the client go, then 413; the rest is not read."""

    def __init__(self, app: ASGIApp, max_bytes: int, own_limits: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limits = own_limits  # path prefixes whose routes count against a limit of their own (batch blobs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or scope.get('path', '').startswith(self.own_limits):
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = _header(scope, b'content-length')
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0
        refused = False
        responding = False

        async def counted_receive() -> MutableMapping[str, Any]:
            nonlocal received, refused
            if refused:
                return {'type': 'http.disconnect'}
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > limit:
                    refused = True
                    return {'type': 'http.disconnect'}  # to the app the client went away: it stops and cleans up
            return message

        async def guarded_send(message: MutableMapping[str, Any]) -> None:
            nonlocal responding
            if refused:
                return  # the 413 goes out instead
            responding = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            log.debug('%s %s: the app stopped after its body was refused', scope.get('method'), scope.get('path'))
        if refused and not responding:
            await _refuse(send, limit)  # once the app let go of what it had received (partial files)

    def limit_of(self, scope: Scope) -> int:
        """The most body bytes a request may send: the upload limit, plus room for the parts' headers in multipart."""
        multipart = _header(scope, b'content-type').lower().startswith('multipart/')
        return self.max_bytes + (MULTIPART_OVERHEAD if multipart else 0)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get('headers', []):
        if key.lower() == name:
            return value.decode('latin-1').strip()
    return ''


async def _refuse(send: Send, limit: int) -> None:
    payload = json.dumps({'detail': too_large_detail(limit)}).encode()
    await send({'type': 'http.response.start', 'status': 413,
                'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(payload)).encode()),
                            (b'connection', b'close')]})  # the server stops reading and closes the connection
    await send({'type': 'http.response.body', 'body': payload})
