"""Scope's plugin listing: the installed packages that provide pipelines (`dreamstage.pipelines` entry points)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from pipeline.plugins import FailedPlugin, Plugin

from .context import Context

router = APIRouter(prefix='/api/v1', tags=['plugins'])


class PluginPipelineInfo(BaseModel):
    """A pipeline a plugin provides."""

    pipeline_id: str
    pipeline_name: str


class PluginInfo(BaseModel):
    """An installed plugin, in Scope's shape (no update check: `latest_version` and `update_available` are null)."""

    name: str
    version: str | None
    author: str | None
    description: str | None
    source: Literal['pypi', 'git', 'local']
    editable: bool
    editable_path: str | None
    pipelines: list[PluginPipelineInfo]
    latest_version: str | None = None
    update_available: bool | None = None
    package_spec: str | None
    bundled: bool = False
    kind: str | None = None
    origin: Literal['local', 'cloud'] | None = None

    @classmethod
    def of(cls, plugin: Plugin) -> PluginInfo:
        return cls(name=plugin.name, version=plugin.version, author=plugin.author, description=plugin.description,
                   source=plugin.source, editable=plugin.editable, editable_path=plugin.editable_path,
                   pipelines=[PluginPipelineInfo(pipeline_id=p.pipeline_id, pipeline_name=p.pipeline_name)
                              for p in plugin.pipelines],
                   package_spec=plugin.package_spec)


class FailedPluginInfo(BaseModel):
    """An entry point that failed to load at start-up."""

    package_name: str
    entry_point_name: str
    error_type: str
    error_message: str

    @classmethod
    def of(cls, failed: FailedPlugin) -> FailedPluginInfo:
        return cls(package_name=failed.package_name, entry_point_name=failed.entry_point_name,
                   error_type=failed.error_type, error_message=failed.error_message)


class PluginList(BaseModel):
    """Installed plugins and the ones that failed to load."""

    plugins: list[PluginInfo]
    total: int
    failed_plugins: list[FailedPluginInfo]


@router.get('/plugins')
def list_plugins(context: Context) -> PluginList:
    """The installed plugins, with the pipelines each provides, and the entry points that failed to load."""
    registry = context.registry
    return PluginList(plugins=[PluginInfo.of(plugin) for plugin in registry.plugins], total=len(registry.plugins),
                      failed_plugins=[FailedPluginInfo.of(failed) for failed in registry.failed_plugins])
