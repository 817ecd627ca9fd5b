"""Scope's assets endpoints: reference images, control videos and audio in the assets folder."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from .context import ServerContext, get_context
from .uploads import contained, folder_of, receive_file, safe_relative, size_mb, upload_path, walk_files

Context = Annotated[ServerContext, Depends(get_context)]
router = APIRouter(prefix='/api/v1', tags=['assets'])

AssetType = Literal['image', 'video', 'audio']
MEDIA_TYPES: dict[str, tuple[AssetType, str]] = {
    '.png': ('image', 'image/png'),
    '.jpg': ('image', 'image/jpeg'),
    '.jpeg': ('image', 'image/jpeg'),
    '.webp': ('image', 'image/webp'),
    '.bmp': ('image', 'image/bmp'),
    '.mp4': ('video', 'video/mp4'),
    '.avi': ('video', 'video/x-msvideo'),
    '.mov': ('video', 'video/quicktime'),
    '.mkv': ('video', 'video/x-matroska'),
    '.webm': ('video', 'video/webm'),
    '.wav': ('audio', 'audio/wav'),
    '.mp3': ('audio', 'audio/mpeg'),
    '.flac': ('audio', 'audio/flac'),
    '.ogg': ('audio', 'audio/ogg'),
}
TYPE_HELP = 'image, video or audio; anything else lists every kind'
IMAGE_SIGNATURES: dict[str, tuple[str, ...]] = {'.png': ('png',), '.jpg': ('jpeg',), '.jpeg': ('jpeg',),
                                                '.webp': ('webp',), '.bmp': ('bmp',)}


class AssetFileInfo(BaseModel):
    """One file in the assets folder."""

    name: str
    path: str
    size_mb: float
    folder: str | None
    type: AssetType
    created_at: float


class AssetList(BaseModel):
    """The assets folder's files, newest first."""

    assets: list[AssetFileInfo]


@router.get('/assets')
def list_assets(context: Context, type: Annotated[str | None, Query(description=TYPE_HELP)] = None) -> AssetList:
    """Every asset (recursively), newest first; `type=image|video|audio` narrows the list."""
    root = context.config.assets_dir
    infos = [asset_info(root, path) for path in walk_files(root, set(MEDIA_TYPES))] if root.is_dir() else []
    if type in ('image', 'video', 'audio'):
        infos = [info for info in infos if info.type == type]
    infos.sort(key=lambda info: (-info.created_at, info.folder or '', info.name))
    return AssetList(assets=infos)


@router.post('/assets')
async def upload_asset(request: Request, context: Context,
                       filename: Annotated[str, Query(description='name, optionally in sub-folders')]) -> AssetFileInfo:
    """Store the raw request body as an asset (an existing file of that name is replaced)."""
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix not in MEDIA_TYPES:
        raise HTTPException(400, f'Invalid file type. Allowed types: {", ".join(MEDIA_TYPES)}')
    root = context.config.assets_dir
    target = upload_path(root, filename)
    await receive_file(request, target, context.config.max_upload_bytes, check=_content_check(suffix))
    return asset_info(root, target)


@router.get('/assets/{asset_path:path}', response_class=FileResponse)
def get_asset(asset_path: str, context: Context) -> FileResponse:
    """The asset file itself, with a media type from its extension."""
    path = _existing_asset(context.config.assets_dir, asset_path)
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lower()][1])


@router.delete('/assets/{asset_path:path}', status_code=204)
def delete_asset(asset_path: str, context: Context) -> Response:
    """Delete an asset file."""
    _existing_asset(context.config.assets_dir, asset_path).unlink(missing_ok=True)
    return Response(status_code=204)


def asset_info(root: Path, path: Path) -> AssetFileInfo:
    """The listing entry of an asset file."""
    return AssetFileInfo(name=path.stem, path=str(path), size_mb=size_mb(path), folder=folder_of(root, path),
                         type=MEDIA_TYPES[path.suffix.lower()][0], created_at=path.stat().st_ctime)


def image_kind(head: bytes) -> str | None:
    """The image format its first bytes announce (png, jpeg, webp, bmp), or None."""
    if head.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'png'
    if head.startswith(b'\xff\xd8\xff'):
        return 'jpeg'
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'webp'
    if head.startswith(b'BM'):
        return 'bmp'
    return None


def _content_check(suffix: str) -> Callable[[Path], str | None] | None:
    expected = IMAGE_SIGNATURES.get(suffix)
    if expected is None:
        return None

    def check(path: Path) -> str | None:
        with path.open('rb') as file:
            kind = image_kind(file.read(16))
        return None if kind in expected else f'File content does not match its {suffix} extension'

    return check


def _existing_asset(root: Path, asset_path: str) -> Path:
    if asset_path.startswith('/'):  # as in Scope: an absolute-looking path means the file of that name at the top
        asset_path = asset_path.rstrip('/').rsplit('/', 1)[-1]
    path = contained(root, safe_relative(asset_path))
    if path is None:
        raise HTTPException(403, 'Invalid path')
    if not path.is_file() or path.suffix.lower() not in MEDIA_TYPES:
        raise HTTPException(404, 'Asset not found')
    return path
