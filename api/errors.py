"""Domain errors as HTTP answers: `{"detail": message}` with the error's status; unknown API paths answer JSON."""
from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from services.errors import ServiceError

API_PREFIXES = ('/api/', '/v1/')
METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE')


async def service_error(request: Request, error: Exception) -> JSONResponse:
    """The answer to a request a service refused."""
    assert isinstance(error, ServiceError)
    headers = {'Retry-After': '10'} if error.status == 429 else None
    return JSONResponse({'detail': error.message}, status_code=error.status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every ServiceError a route raises with its status and message, every unknown API path with a JSON 404
    (NiceGUI answers other unknown paths with its HTML page), and a wrong method with a 405 that allows them all."""
    app.add_exception_handler(ServiceError, service_error)
    page_not_found = app.exception_handlers.get(404)

    async def not_found(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(API_PREFIXES) or page_not_found is None:
            assert isinstance(error, HTTPException)
            return await http_exception_handler(request, error)
        answer = page_not_found(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(404, not_found)

    async def wrong_method(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        allowed = allowed_methods(app, request.url.path)
        return JSONResponse({'detail': error.detail}, status_code=405, headers={'Allow': ', '.join(allowed)})

    app.add_exception_handler(405, wrong_method)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route takes at `path` (Starlette's own 405 names only those of the first route matched)."""
    allowed = []
    for method in METHODS:
        scope = {'type': 'http', 'path': path, 'root_path': '', 'method': method, 'headers': [], 'query_string': b''}
        if any(route.matches(scope)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed
