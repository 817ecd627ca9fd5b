"""Domain errors as HTTP answers: `{"detail": message}` with the error's status."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.errors import ServiceError


async def service_error(request: Request, error: Exception) -> JSONResponse:
    """The answer to a request a service refused."""
    assert isinstance(error, ServiceError)
    headers = {'Retry-After': '10'} if error.status == 429 else None
    return JSONResponse({'detail': error.message}, status_code=error.status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every ServiceError a route raises with its status and message."""
    app.add_exception_handler(ServiceError, service_error)
