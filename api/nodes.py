"""Scope's node catalogue for its graph editor: every pipeline a client may load, as a node with its ports."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pipeline.schema import node_definition

from .context import Context
from .pipelines import listed_schemas

router = APIRouter(prefix='/api/v1/nodes', tags=['pipelines'])


@router.get('/definitions')
def node_definitions(context: Context) -> dict[str, Any]:
    """The pipelines (aliases included) as graph nodes, each with its `pipeline_meta`; there are no other nodes."""
    schemas = listed_schemas(context.registry, context.config.models_dir)
    return {'nodes': [node_definition(meta) for meta in schemas.values()]}
