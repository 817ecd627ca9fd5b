"""Files uploaded through the studio, stored with the REST API's own safe-write path (same names, limits, checks)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from fastapi import HTTPException, Request
from nicegui.elements.upload_files import FileUpload

from api.uploads import BodyCheck, receive_file, upload_path


class UploadRejected(ValueError):
    """An upload the server refuses, with the message the REST API would give."""


async def store_upload(file: FileUpload, root: Path, limit: int, check: BodyCheck | None = None, *,
                       replace: bool = True, name: str | None = None) -> Path:
    """Write an uploaded file under `root` (as `name`, else its own name) as `api.uploads.receive_file` does for a
    request body; returns its path."""
    try:
        target = upload_path(root, name or file.name)
        if target.exists() and not replace:
            raise UploadRejected(f'{file.name} already exists; delete it first')
        await receive_file(cast(Request, UploadBody(file)), target, limit, check)
    except HTTPException as error:
        raise UploadRejected(str(error.detail)) from None
    return target


class UploadBody:
    """An uploaded file presented as the request body `receive_file` reads (its length header and its stream)."""

    def __init__(self, file: FileUpload) -> None:
        self.file = file
        self.headers: dict[str, Any] = {'content-length': str(file.size())}

    async def stream(self) -> AsyncIterator[bytes]:
        async for chunk in self.file.iterate():
            yield chunk
