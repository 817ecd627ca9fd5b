"""Domain errors as HTTP answers: `{"detail": message}` with the error's status (Daydream's envelope on its paths)."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import ServiceError

from . import daydream


async def service_error(request: Request, error: Exception) -> JSONResponse:
    """The answer to a request a service refused."""
    assert isinstance(error, ServiceError)
    if request.url.path.startswith(daydream.PREFIXES):
        return daydream.error_response(error)
    retry_after = error.retry_after if error.retry_after is not None else 10 if error.status == 429 else None
    headers = {'Retry-After': f'{retry_after:g}'} if retry_after is not None else None
    return JSONResponse({'detail': error.message}, status_code=error.status, headers=headers)


async def http_error(request: Request, error: Exception) -> Response:
    """FastAPI's own refusals (unknown route, wrong method, bad query), in Daydream's envelope on its paths."""
    if isinstance(error, RequestValidationError):
        if request.url.path.startswith(daydream.PREFIXES):
            first = error.errors()[0] if error.errors() else {}
            field = '.'.join(str(part) for part in first.get('loc', ()))
            return JSONResponse(daydream.envelope(400, f'{field}: {first.get("msg", "invalid")}'), status_code=400)
        return await request_validation_exception_handler(request, error)
    assert isinstance(error, StarletteHTTPException)
    if request.url.path.startswith(daydream.PREFIXES):
        return JSONResponse(daydream.envelope(error.status_code, str(error.detail)), status_code=error.status_code,
                            headers=getattr(error, 'headers', None))
    return await http_exception_handler(request, error)


def install(app: FastAPI) -> None:
    """Answer every ServiceError a route raises with its status and message."""
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, http_error)
