"""Domain errors as HTTP answers: `{"detail": message}` with the error's status; unknown API paths answer JSON."""
from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from services.errors import ServiceError

API_PREFIXES = ('/api/', '/v1/')


async def service_error(request: Request, error: Exception) -> JSONResponse:
    """The answer to a request a service refused."""
    assert isinstance(error, ServiceError)
    headers = {'Retry-After': '10'} if error.status == 429 else None
    return JSONResponse({'detail': error.message}, status_code=error.status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every ServiceError a route raises with its status and message, and every unknown API path with a JSON
    404 (NiceGUI answers other unknown paths with its HTML page)."""
    app.add_exception_handler(ServiceError, service_error)
    page_not_found = app.exception_handlers.get(404)

    async def not_found(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(API_PREFIXES) or page_not_found is None:
            assert isinstance(error, HTTPException)
            return await http_exception_handler(request, error)
        answer = page_not_found(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(404, not_found)
