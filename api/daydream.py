"""Daydream's conventions over HTTP: the public base URL behind a proxy, JSON bodies, and the error envelope."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from services.daydream_params import ParamsError
from services.errors import InvalidRequest, ServiceError, TooLarge

PREFIXES = ('/v1/', '/beta/', '/live/', '/playback/')  # paths whose errors use Daydream's envelope
MAX_BODY = 8 * 1024 * 1024  # a style image may come inline as a data URI (Daydream allows 5 MB)
CODES = {400: 'VALIDATION_ERROR', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'STREAMS/NOT_FOUND',
         409: 'STREAMS/CONFLICT', 412: 'PRECONDITION_FAILED', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE',
         422: 'UNPROCESSABLE', 429: 'RATE_LIMITED', 503: 'STREAMS/NOT_READY'}


def base_url(request: Request) -> str:
    """The server's address as the client sees it: `X-Forwarded-Proto`/`X-Forwarded-Host` (RunPod's HTTPS proxy),
    else the request's own scheme and host."""
    headers = request.headers
    proto = headers.get('x-forwarded-proto', '').split(',')[0].strip() or request.url.scheme
    host = headers.get('x-forwarded-host', '').split(',')[0].strip() or headers.get('host') or request.url.netloc
    return f'{proto}://{host}'


async def json_body(request: Request) -> Any:
    """The request's JSON body (400 when it is not JSON; an empty body is an empty object)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise TooLarge(f'The body is larger than {MAX_BODY // 2**20} MB')
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidRequest(f'body: not valid JSON ({error})') from None


def envelope(status: int, message: str, details: Any = None, code: str | None = None) -> dict[str, Any]:
    """Daydream's error body, with the `detail` key FastAPI clients read."""
    body: dict[str, Any] = {'success': False, 'error': message, 'code': code or CODES.get(status, 'ERROR'),
                            'status': status, 'detail': message}
    if details is not None:
        body['details'] = details
    return body


def error_response(error: ServiceError) -> JSONResponse:
    """A refused Daydream request: the envelope, with `Retry-After` when asking again may work."""
    details = {'field': error.field} if isinstance(error, ParamsError) else None
    retry_after = error.retry_after if error.retry_after is not None else 10 if error.status == 429 else None
    headers = {'Retry-After': f'{retry_after:g}'} if retry_after is not None else None
    return JSONResponse(envelope(error.status, error.message, details), status_code=error.status, headers=headers)
