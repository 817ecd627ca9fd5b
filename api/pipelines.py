"""Scope's pipeline endpoints: load, status and schemas."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from pipeline.manager import LoadRequestError
from pipeline.registry import PipelineRegistry
from pipeline.schema import pipeline_meta

from .context import Context

router = APIRouter(prefix='/api/v1', tags=['pipelines'])


class PipelineNode(BaseModel):
    """One pipeline of a load request (Scope's `pipelines[]` form)."""

    node_id: str = Field(min_length=1, max_length=200)
    pipeline_id: str = Field(min_length=1, max_length=200)
    load_params: dict[str, Any] | None = None


class LoadRequest(BaseModel):
    """A load request in Scope's spellings: `pipelines[]`, `pipeline_ids` + `load_params`, or `pipeline_id`."""

    pipelines: list[PipelineNode] | None = None
    pipeline_ids: list[str] | None = None
    pipeline_id: str | None = None
    load_params: dict[str, Any] | None = None
    connection_id: str | None = None
    connection_info: dict[str, Any] | None = None
    user_id: str | None = None


@router.post('/pipeline/load')
def load_pipeline(request: LoadRequest, context: Context) -> dict[str, str]:
    """Start loading pipelines in the background; poll `/pipeline/status`."""
    if request.pipelines:
        entries = [(node.node_id, node.pipeline_id, node.load_params) for node in request.pipelines]
    elif request.pipeline_ids:
        entries = [(pid, pid, request.load_params) for pid in request.pipeline_ids]
    elif request.pipeline_id:
        entries = [(request.pipeline_id, request.pipeline_id, request.load_params)]
    else:
        raise HTTPException(400, "Either 'pipelines' or 'pipeline_ids' must be provided")
    try:
        items = context.manager.validate(entries)
    except LoadRequestError as error:
        raise HTTPException(422, str(error)) from None
    context.manager.load(items)
    return {'message': 'Pipeline loading initiated successfully'}


@router.get('/pipeline/status')
def pipeline_status(context: Context) -> dict[str, Any]:
    """The aggregate load status: not_loaded, loading, loaded or error (with its message)."""
    return context.manager.status()


@router.get('/pipelines/schemas')
def pipeline_schemas(context: Context) -> dict[str, Any]:
    """Every pipeline a client may load, in Scope's shape; an alias is listed under its own id, named for what runs;
    `runs_as` names the pipeline a load runs now (a stand-in while a registered pipeline's weights are absent)."""
    return {'pipelines': listed_schemas(context.registry, context.config.models_dir)}


def listed_schemas(registry: PipelineRegistry, models_dir: Path) -> dict[str, dict[str, Any]]:
    """Each loadable id's schema entry with `runs_as`, as the schemas and the graph editor's nodes show it."""
    schemas = {}
    for pid, info, name in registry.listed(models_dir):
        runs = registry.runs_as(pid, models_dir)
        schemas[pid] = {**pipeline_meta(info, pid, name), 'runs_as': runs.id if runs is not None else pid}
    return schemas
