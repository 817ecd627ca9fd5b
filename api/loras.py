"""Scope's LoRA endpoints: list, install from a URL, upload and delete `.safetensors` files in the LoRA folder."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

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


class LoRAInstallRequest(BaseModel):
    """A LoRA to install from a URL: a Hugging Face download link (`/resolve/`) or any direct https link."""

    url: str = Field(min_length=1, max_length=4096)
    filename: str | None = Field(default=None, max_length=1024, description='a .safetensors name, if the URL has none')


class LoRAInstalls(BaseModel):
    """The installs from URLs since the server started, newest first, with their progress."""

    installs: list[dict[str, Any]]


class LoRADownloadRequest(BaseModel):
    """A LoRA a workflow names by its provenance (Scope's workflow import downloads missing ones this way)."""

    source: Literal['huggingface', 'civitai', 'url']
    repo_id: str | None = Field(default=None, max_length=200)
    hf_filename: str | None = Field(default=None, max_length=1024)
    model_id: str | None = Field(default=None, max_length=100)
    version_id: str | None = Field(default=None, max_length=100)
    url: str | None = Field(default=None, max_length=4096)
    subfolder: str | None = Field(default=None, max_length=255)
    expected_sha256: str | None = Field(default=None, max_length=64)


class LoRADownloadResult(BaseModel):
    """The downloaded file."""

    filename: str
    path: str
    sha256: str
    size_bytes: int


class LoRADeleted(BaseModel):
    """The answer to a delete."""

    success: bool
    message: str


@router.get('/loras')
def list_loras(context: Context) -> LoRAList:
    """Every `.safetensors` file in the LoRA folder (recursively)."""
    return LoRAList(lora_files=context.loras.files())


@router.post('/loras')
async def install_lora(body: LoRAInstallRequest, context: Context) -> LoRAUploaded:
    """Download a LoRA into the LoRA folder and answer once it is there (progress: `GET /loras/installs` and the
    log). 400 for a URL or name that cannot be used or a file that is not safetensors, 404 when the URL has no file,
    409 when the file exists, 413 over the upload limit, 502 when the other server refuses or breaks off."""
    info = await context.lora_installer.install(body.url, body.filename)
    return LoRAUploaded(message=f"Successfully installed '{info.name}'", file=info)


@router.get('/loras/installs')
def lora_installs(context: Context) -> LoRAInstalls:
    """Installs from URLs: file name, source, bytes done and total, status (downloading, done, failed)."""
    return LoRAInstalls(installs=context.lora_installer.installs())


@router.post('/lora/download')
async def download_lora(body: LoRADownloadRequest, context: Context) -> LoRADownloadResult:
    """Download a LoRA by provenance, as a workflow import does for missing ones (errors as for an install)."""
    info, digest = await context.lora_installer.download(
        body.source, repo_id=body.repo_id, hf_filename=body.hf_filename, version_id=body.version_id, url=body.url,
        subfolder=body.subfolder, expected_sha256=body.expected_sha256)
    return LoRADownloadResult(filename=Path(info.path).name, path=info.path, sha256=digest,
                              size_bytes=Path(info.path).stat().st_size)


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
