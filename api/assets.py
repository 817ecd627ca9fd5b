"""Scope's assets endpoints: reference images, control videos and audio in the assets folder."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from services.assets import AssetFileInfo, media_type

from .context import Context
from .uploads import declared_length

router = APIRouter(prefix='/api/v1', tags=['assets'])
TYPE_HELP = 'image, video or audio; anything else lists every kind'


class AssetList(BaseModel):
    """The assets folder's files, newest first."""

    assets: list[AssetFileInfo]


@router.get('/assets')
def list_assets(context: Context, type: Annotated[str | None, Query(description=TYPE_HELP)] = None) -> AssetList:
    """Every asset (recursively), newest first; `type=image|video|audio` narrows the list."""
    return AssetList(assets=context.assets.files(type))


@router.post('/assets')
async def upload_asset(request: Request, context: Context,
                       filename: Annotated[str, Query(description='name, optionally in sub-folders')]) -> AssetFileInfo:
    """Store the raw request body as an asset (an existing file of that name is replaced)."""
    return await context.assets.store(filename, request.stream(), declared_length(request))


@router.get('/assets/{asset_path:path}', response_class=FileResponse)
def get_asset(asset_path: str, context: Context) -> FileResponse:
    """The asset file itself, with a media type from its extension."""
    path = context.assets.path(asset_path)
    return FileResponse(path, media_type=media_type(path))


@router.delete('/assets/{asset_path:path}', status_code=204)
def delete_asset(asset_path: str, context: Context) -> Response:
    """Delete an asset file."""
    context.assets.delete(asset_path)
    return Response(status_code=204)
