"""Request bodies as uploads."""
from __future__ import annotations

from fastapi import Request


def declared_length(request: Request) -> int | None:
    """The body size the client announced (Content-Length), if it did."""
    declared = request.headers.get('content-length', '')
    return int(declared) if declared.isdigit() else None
