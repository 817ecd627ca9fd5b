"""Scope's LoRA endpoints: list, upload and delete `.safetensors` files in the LoRA folder."""
from __future__ import annotations

import json
import struct
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from .context import ServerContext, get_context
from .uploads import folder_of, receive_file, size_mb, upload_path, walk_files

Context = Annotated[ServerContext, Depends(get_context)]
router = APIRouter(prefix='/api/v1', tags=['loras'])

SUFFIX = '.safetensors'
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own limit


class LegacyLoRAFileInfo(BaseModel):
    """One LoRA file, as Scope v0.1.x listed it."""

    name: str
    path: str
    size_mb: float
    folder: str | None


class LoRAFileInfo(LegacyLoRAFileInfo):
    """One LoRA file, with Scope's provenance fields (no manifest here: always empty)."""

    sha256: str | None = None
    provenance: dict | None = None
    read_only: bool = False


class LoRAList(BaseModel):
    """The LoRA folder's files, sorted by folder then name."""

    lora_files: list[LoRAFileInfo]


class LegacyLoRAList(BaseModel):
    """The LoRA folder's files in Scope v0.1.x's shape."""

    lora_files: list[LegacyLoRAFileInfo]


class LoRAUploaded(BaseModel):
    """The answer to an upload."""

    message: str
    file: LoRAFileInfo


class LoRADeleted(BaseModel):
    """The answer to a delete."""

    success: bool
    message: str


@router.get('/loras')
def list_loras(context: Context) -> LoRAList:
    """Every `.safetensors` file in the LoRA folder (recursively)."""
    return LoRAList(lora_files=lora_files(context.config.lora_dir))


@router.get('/lora/list')
def list_loras_legacy(context: Context) -> LegacyLoRAList:
    """Scope v0.1.x's LoRA listing."""
    files = lora_files(context.config.lora_dir)
    return LegacyLoRAList(lora_files=[LegacyLoRAFileInfo(**info.model_dump(include={'name', 'path', 'size_mb',
                                                                                    'folder'})) for info in files])


@router.post('/loras/upload')
async def upload_lora(request: Request, context: Context,
                      filename: Annotated[str, Query(description='a .safetensors name, optionally in a folder')],
                      ) -> LoRAUploaded:
    """Store the raw request body as a LoRA; 409 when a file of that name exists."""
    if PurePosixPath(filename).suffix.lower() != SUFFIX:
        raise HTTPException(400, f'Invalid file type. Allowed types: {SUFFIX}')
    root = context.config.lora_dir
    target = upload_path(root, filename)
    if target.exists():
        raise HTTPException(409, f'LoRA {filename} already exists; delete it first')
    await receive_file(request, target, context.config.max_upload_bytes, check=safetensors_problem)
    info = lora_info(root, target)
    return LoRAUploaded(message=f'LoRA {info.name} uploaded', file=info)


@router.delete('/loras/{name:path}')
def delete_lora(name: str, context: Context) -> LoRADeleted:
    """Delete a LoRA by name (its stem, or `folder/stem`)."""
    for info in lora_files(context.config.lora_dir):
        if name == (f'{info.folder}/{info.name}' if info.folder else info.name) or name == info.name:
            Path(info.path).unlink(missing_ok=True)
            return LoRADeleted(success=True, message=f'LoRA {name} deleted')
    raise HTTPException(404, f'LoRA {name} not found')


def lora_files(root: Path) -> list[LoRAFileInfo]:
    """The LoRA files under `root`, sorted by folder (top first) then name; symlinked files are listed too."""
    if not root.is_dir():
        return []
    infos = [lora_info(root, path) for path in walk_files(root, {SUFFIX}, strict=False)]
    return sorted(infos, key=lambda info: (info.folder is not None, info.folder or '', info.name))


def lora_info(root: Path, path: Path) -> LoRAFileInfo:
    """The listing entry of a LoRA file."""
    return LoRAFileInfo(name=path.stem, path=str(path), size_mb=size_mb(path), folder=folder_of(root, path))


def safetensors_problem(path: Path) -> str | None:
    """Why `path` is not a plausible safetensors file (u64 little-endian header length, then a JSON object), or None."""
    size = path.stat().st_size
    with path.open('rb') as file:
        head = file.read(8)
        if len(head) < 8:
            return 'Not a safetensors file: too short'
        (length,) = struct.unpack('<Q', head)
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            return 'Not a safetensors file: bad header length'
        try:
            header = json.loads(file.read(length).decode('utf-8'))
        except ValueError:
            return 'Not a safetensors file: the header is not JSON'
    return None if isinstance(header, dict) else 'Not a safetensors file: the header is not a JSON object'
