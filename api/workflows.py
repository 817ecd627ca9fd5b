"""Scope's workflow import: which of a workflow's pipelines, plugins and LoRAs this server has."""
from __future__ import annotations

from fastapi import APIRouter

from services.workflows import WorkflowRequest, WorkflowResolutionPlan, resolve_workflow

from .context import Context

router = APIRouter(prefix='/api/v1/workflow', tags=['pipelines'])


@router.post('/resolve')
def resolve(workflow: WorkflowRequest, context: Context) -> WorkflowResolutionPlan:
    """Check a `.scope-workflow.json` (read-only: nothing is installed or downloaded)."""
    return resolve_workflow(workflow, context.registry, context.config.lora_dir, context.config.models_dir)
