"""Scope's model-file endpoints: whether a pipeline's files are on disk, and downloading them with progress."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.downloads import ModelStatus

from .context import Context

router = APIRouter(prefix='/api/v1', tags=['models'])


class DownloadRequest(BaseModel):
    """Which pipeline's files to download; `model_id` or `load_params` pick other models than its defaults."""

    pipeline_id: str
    model_id: str | None = None
    load_params: dict[str, Any] | None = None


class Message(BaseModel):
    """A plain answer."""

    message: str


@router.get('/models/status', response_model=ModelStatus, response_model_exclude_unset=True)
def model_status(context: Context, pipeline_id: Annotated[str, Query(description='a pipeline id')],
                 model_id: Annotated[str | None, Query(description='a model other than the default')] = None,
                 ) -> dict[str, Any]:
    """Whether a pipeline's model files are downloaded (unknown and model-less pipelines: true, as in Scope);
    `stand_in` names the pipeline that runs instead when the files are missing on a machine without CUDA."""
    status = context.downloads.status(pipeline_id, model_id)
    return status.model_dump(exclude=set() if status.stand_in else {'stand_in'})


@router.post('/models/download')
def download_models(request: DownloadRequest, context: Context) -> Message:
    """Start downloading a pipeline's missing model files in the background (409 while one is running)."""
    return Message(message=context.downloads.start(request.pipeline_id, request.model_id, request.load_params))
