"""Scope's model-file endpoints: whether a pipeline's files are on disk, and downloading them with progress."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from pipeline.model_store import DownloadInProgress, download_manager, missing, required_models
from pipeline.protocol import ModelFiles
from pipeline.registry import PipelineSpec

from .context import ServerContext, get_context

Context = Annotated[ServerContext, Depends(get_context)]
router = APIRouter(prefix='/api/v1', tags=['models'])


class ModelStatus(BaseModel):
    """Whether every file a pipeline needs is present, and the progress of a running (or failed) download."""

    downloaded: bool
    progress: dict[str, Any] | None = None


class DownloadRequest(BaseModel):
    """Which pipeline's files to download; `model_id` or `load_params` pick other models than its defaults."""

    pipeline_id: str
    model_id: str | None = None
    load_params: dict[str, Any] | None = None


class Message(BaseModel):
    """A plain answer."""

    message: str


@router.get('/models/status')
def model_status(context: Context, pipeline_id: Annotated[str, Query(description='a pipeline id')],
                 model_id: Annotated[str | None, Query(description='a model other than the default')] = None,
                 ) -> ModelStatus:
    """Whether a pipeline's model files are downloaded (unknown and model-less pipelines: true, as in Scope)."""
    spec = context.registry.resolve(pipeline_id)
    if spec is None:
        return ModelStatus(downloaded=True)
    models_dir = context.config.models_dir
    downloads = download_manager(models_dir)
    downloaded = not missing(_models(spec, model_id, None), models_dir)
    if downloaded and not downloads.is_downloading(spec.info.id):
        downloads.clear(spec.info.id)
    progress = downloads.progress(spec.info.id)
    return ModelStatus(downloaded=downloaded, progress=progress.to_dict() if progress else None)


@router.post('/models/download')
def download_models(request: DownloadRequest, context: Context) -> Message:
    """Start downloading a pipeline's missing model files in the background (409 while one is running)."""
    pipeline_id = request.pipeline_id.strip()
    if not pipeline_id:
        raise HTTPException(400, 'pipeline_id is required')
    spec = context.registry.resolve(pipeline_id)
    if spec is None:
        raise HTTPException(404, f"Unknown pipeline '{pipeline_id}'")
    models = _models(spec, request.model_id, request.load_params)
    models_dir = context.config.models_dir
    downloads = download_manager(models_dir)
    if downloads.is_downloading(spec.info.id):
        raise HTTPException(409, f'Download already in progress for {pipeline_id}')
    if not missing(models, models_dir):
        return Message(message=f'Nothing to download for {pipeline_id}: its files are ready')
    try:
        downloads.start(spec.info.id, models, token=getattr(context.config, 'hf_token', None))
    except DownloadInProgress:
        raise HTTPException(409, f'Download already in progress for {pipeline_id}') from None
    return Message(message=f'Model download started for {pipeline_id}')


def _models(spec: PipelineSpec, model_id: str | None, load_params: dict[str, Any] | None) -> list[ModelFiles]:
    """The repositories needed for these load parameters (400 when they are not valid)."""
    params = dict(load_params or {})
    if model_id:
        params['model_id'] = model_id
    try:
        return required_models(spec.info, params or None)
    except ValueError as error:
        raise HTTPException(400, f'Invalid load_params for {spec.info.id}: {error}') from None
