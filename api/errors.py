"""Domain errors as HTTP answers: `{"detail": message}` with the error's status (Daydream's envelope on its paths);
unknown API paths answer JSON."""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from services.errors import ServiceError

from . import daydream

API_PREFIXES = ('/api/', *daydream.PREFIXES)
METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


async def service_error(request: Request, error: Exception) -> JSONResponse:
    """The answer to a request a service refused."""
    assert isinstance(error, ServiceError)
    if request.url.path.startswith(daydream.PREFIXES):
        return daydream.error_response(error)
    retry_after = error.retry_after if error.retry_after is not None else 10 if error.status == 429 else None
    headers = {'Retry-After': f'{retry_after:g}'} if retry_after is not None else None
    return JSONResponse({'detail': error.message}, status_code=error.status, headers=headers)


async def invalid_request(request: Request, error: Exception) -> Response:
    """FastAPI's refusal of a bad body or query, in Daydream's envelope on its paths."""
    assert isinstance(error, RequestValidationError)
    if request.url.path.startswith(daydream.PREFIXES):
        first = error.errors()[0] if error.errors() else {}
        field = '.'.join(str(part) for part in first.get('loc', ()))
        return JSONResponse(daydream.envelope(400, f'{field}: {first.get("msg", "invalid")}'), status_code=400)
    return await request_validation_exception_handler(request, error)


def install(app: FastAPI) -> None:
    """Answer every ServiceError a route raises with its status and message, every unknown API path with a JSON 404
    (NiceGUI answers other unknown paths with its HTML page), and a wrong method with a 405 that allows them all."""
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    page_not_found: Handler | None = app.exception_handlers.get(404)

    async def http_error(request: Request, error: Exception) -> Response:
        """FastAPI's own refusals (unknown route, wrong method, ...): JSON on API paths, Daydream's envelope on its."""
        assert isinstance(error, HTTPException)
        path = request.url.path
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers['Allow'] = ', '.join(allowed_methods(app, path))
        if path.startswith(daydream.PREFIXES):
            return JSONResponse(daydream.envelope(error.status_code, str(error.detail)), status_code=error.status_code,
                                headers=headers or None)
        if error.status_code == 404 and not path.startswith(API_PREFIXES) and page_not_found is not None:
            answer = page_not_found(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        if error.status_code == 405:
            return JSONResponse({'detail': error.detail}, status_code=405, headers=headers)
        return await http_exception_handler(request, error)

    app.add_exception_handler(404, http_error)  # status handlers come before class handlers (NiceGUI has a 404 one)
    app.add_exception_handler(405, http_error)
    app.add_exception_handler(HTTPException, http_error)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route takes at `path` (Starlette's own 405 names only those of the first route matched)."""
    allowed = []
    for method in METHODS:
        scope = {'type': 'http', 'path': path, 'root_path': '', 'method': method, 'headers': [], 'query_string': b''}
        if any(route.matches(scope)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed
