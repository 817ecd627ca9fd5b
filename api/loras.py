"""Scope's LoRA endpoints: list, upload and delete `.safetensors` files in the LoRA folder."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.loras import LegacyLoRAFileInfo, LoRAFileInfo

from .context import Context
from .uploads import declared_length

router = APIRouter(prefix='/api/v1', tags=['loras'])


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
    return LoRAList(lora_files=context.loras.files())


@router.get('/lora/list')
def list_loras_legacy(context: Context) -> LegacyLoRAList:
    """Scope v0.1.x's LoRA listing."""
    fields = {'name', 'path', 'size_mb', 'folder'}
    return LegacyLoRAList(lora_files=[LegacyLoRAFileInfo(**info.model_dump(include=fields))
                                      for info in context.loras.files()])


@router.post('/loras/upload')
async def upload_lora(request: Request, context: Context,
                      filename: Annotated[str, Query(description='a .safetensors name, optionally in a folder')],
                      ) -> LoRAUploaded:
    """Store the raw request body as a LoRA; 409 when a file of that name exists."""
    info = await context.loras.store(filename, request.stream(), declared_length(request))
    return LoRAUploaded(message=f'LoRA {info.name} uploaded', file=info)


@router.delete('/loras/{name:path}')
def delete_lora(name: str, context: Context) -> LoRADeleted:
    """Delete a LoRA by name (its stem, or `folder/stem`)."""
    context.loras.delete(name)
    return LoRADeleted(success=True, message=f'LoRA {name} deleted')
