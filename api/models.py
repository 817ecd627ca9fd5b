"""Scope's model-file endpoints: whether a pipeline's files are on disk, and asking for a download."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from pipeline.models import missing_files

from .context import ServerContext, get_context

Context = Annotated[ServerContext, Depends(get_context)]
router = APIRouter(prefix='/api/v1', tags=['models'])


class ModelStatus(BaseModel):
    """Whether every file a pipeline needs is present, and the progress of a running download (none yet)."""

    downloaded: bool
    progress: dict[str, Any] | None = None


class DownloadRequest(BaseModel):
    """Which pipeline's files to download."""

    pipeline_id: str


class Message(BaseModel):
    """A plain answer."""

    message: str


@router.get('/models/status')
def model_status(context: Context, pipeline_id: Annotated[str, Query(description='a pipeline id')]) -> ModelStatus:
    """Whether a pipeline's model files are downloaded (unknown and model-less pipelines: true, as in Scope)."""
    spec = context.registry.resolve(pipeline_id)
    return ModelStatus(downloaded=spec is None or not missing_files(spec.info, context.config.models_dir))


@router.post('/models/download')
def download_models(request: DownloadRequest, context: Context) -> Message:
    """Start downloading a pipeline's model files (nothing to do for pipelines whose files are ready)."""
    pipeline_id = request.pipeline_id.strip()
    if not pipeline_id:
        raise HTTPException(400, 'pipeline_id is required')
    spec = context.registry.resolve(pipeline_id)
    if spec is None:
        raise HTTPException(404, f"Unknown pipeline '{pipeline_id}'")
    missing = missing_files(spec.info, context.config.models_dir)
    if not missing:
        return Message(message=f'Nothing to download for {pipeline_id}: its files are ready')
    raise HTTPException(501, f'Model downloads are not available in this version yet: put the missing files of '
                             f'{pipeline_id} ({", ".join(missing)}) under {context.config.models_dir}')
