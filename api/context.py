"""The server's services as a FastAPI dependency."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.context import ServerContext


def get_context(request: Request) -> ServerContext:
    """The server context (set on the app when it is built)."""
    return request.app.state.context


Context = Annotated[ServerContext, Depends(get_context)]
