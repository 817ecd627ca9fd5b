"""Importing a Scope workflow: which of its pipelines, plugins and LoRAs this server has (read-only, no installs)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from pipeline.registry import PipelineRegistry, alias_name

from .lora_install import download_url
from .uploads import contained, safe_relative


class WorkflowLoRAProvenance(BaseModel):
    """Where a workflow's LoRA came from."""

    model_config = ConfigDict(extra='ignore')

    source: str
    repo_id: str | None = None
    hf_filename: str | None = None
    model_id: str | None = None
    version_id: str | None = None
    url: str | None = None


class WorkflowLoRA(BaseModel):
    """A LoRA a workflow uses."""

    model_config = ConfigDict(extra='ignore')

    filename: str = Field(max_length=255)
    provenance: WorkflowLoRAProvenance | None = None


class WorkflowSource(BaseModel):
    """Where a workflow's pipeline comes from: built in, or a plugin."""

    model_config = ConfigDict(extra='ignore')

    type: Literal['builtin', 'pypi', 'git', 'local']
    plugin_name: str | None = None
    plugin_version: str | None = None
    package_spec: str | None = None


class WorkflowNode(BaseModel):
    """A pipeline (or node) of a workflow, under either of Scope's spellings."""

    model_config = ConfigDict(extra='ignore')

    node_type_id: str = Field(min_length=1, validation_alias=AliasChoices('node_type_id', 'pipeline_id'))
    source: WorkflowSource
    loras: list[WorkflowLoRA] = Field(default_factory=list, max_length=100)


class WorkflowRequest(BaseModel):
    """The parts of a `.scope-workflow.json` that resolution reads (the rest is ignored)."""

    model_config = ConfigDict(extra='ignore')

    nodes: list[WorkflowNode] = Field(default_factory=list, max_length=150)

    @model_validator(mode='before')
    @classmethod
    def _legacy_pipelines(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get('pipelines'):
            return {**data, 'nodes': list(data['pipelines']) + list(data.get('nodes') or [])}
        return data


class ResolutionItem(BaseModel):
    """One dependency and whether it is here."""

    kind: Literal['pipeline', 'node', 'plugin', 'lora']
    name: str
    status: Literal['ok', 'missing', 'version_mismatch']
    detail: str | None = None
    action: str | None = None
    can_auto_resolve: bool = False


class WorkflowResolutionPlan(BaseModel):
    """Every dependency of a workflow; it can be applied when all its pipelines are here."""

    can_apply: bool
    items: list[ResolutionItem]
    warnings: list[str] = Field(default_factory=list)


def resolve_workflow(workflow: WorkflowRequest, registry: PipelineRegistry, lora_dir: Path,
                     models_dir: Path) -> WorkflowResolutionPlan:
    """Check each pipeline (built in, alias or plugin) and each LoRA of a workflow against this server."""
    items: list[ResolutionItem] = []
    for node in workflow.nodes:
        items.append(_pipeline_item(node, registry, models_dir))
        items.extend(_lora_item(lora, lora_dir) for lora in node.loras)
    pipelines_ok = all(item.status == 'ok' for item in items if item.kind in ('pipeline', 'node', 'plugin'))
    return WorkflowResolutionPlan(can_apply=pipelines_ok, items=items)


def _pipeline_item(node: WorkflowNode, registry: PipelineRegistry, models_dir: Path) -> ResolutionItem:
    pipeline_id = node.node_type_id
    spec = registry.resolve(pipeline_id)
    if spec is not None:
        if pipeline_id not in registry.specs:
            detail: str | None = f'Runs as {alias_name(pipeline_id, spec.info)}'
        else:
            _info, name = registry.shown_as(pipeline_id, models_dir)
            detail = f'Runs as {name}' if name != spec.info.name else None
        return ResolutionItem(kind='pipeline', name=pipeline_id, status='ok', detail=detail)
    if node.source.type != 'builtin':
        plugin = node.source.plugin_name or pipeline_id
        spec_text = node.source.package_spec or plugin
        return ResolutionItem(kind='plugin', name=plugin, status='missing',
                              detail=f"Plugin '{plugin}' is not installed on this server",
                              action=f'Install {spec_text} on the server (pip) and restart it')
    known = ', '.join(sorted(pipeline_id for pipeline_id, _info, _name in registry.listed()))
    return ResolutionItem(kind='pipeline', name=pipeline_id, status='missing',
                          detail=f"Pipeline '{pipeline_id}' is not available here (available: {known})")


def _lora_item(lora: WorkflowLoRA, lora_dir: Path) -> ResolutionItem:
    target = contained(lora_dir, safe_relative(lora.filename))
    if target is None:
        return ResolutionItem(kind='lora', name=lora.filename, status='missing', detail='Invalid LoRA filename')
    if target.is_file():
        return ResolutionItem(kind='lora', name=lora.filename, status='ok')
    provenance = lora.provenance
    url = download_url(provenance.source, provenance.repo_id, provenance.hf_filename, provenance.version_id,
                       provenance.url) if provenance is not None else None
    return ResolutionItem(kind='lora', name=lora.filename, status='missing',
                          detail=f"LoRA '{lora.filename}' not found locally",
                          action=f'Download from {url}' if url else None, can_auto_resolve=url is not None)
