"""Pipelines from installed packages: entry points in the `dreamstage.pipelines` group, like Scope's plugin hook.

A package declares one entry point per pipeline class, e.g. in its pyproject.toml:

    [project.entry-points.'dreamstage.pipelines']
    glitch = 'dreamstage_glitch:GlitchPipeline'
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import metadata
from typing import Literal
from urllib.parse import unquote, urlparse

from .protocol import Pipeline, PipelineInfo

ENTRY_POINT_GROUP = 'dreamstage.pipelines'
Source = Literal['pypi', 'git', 'local']

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PluginPipeline:
    """A pipeline an installed package provides."""

    pipeline_id: str
    pipeline_name: str


@dataclass(slots=True)
class Plugin:
    """An installed package with entry points in the `dreamstage.pipelines` group."""

    name: str
    version: str | None
    author: str | None
    description: str | None
    source: Source
    editable: bool
    editable_path: str | None
    package_spec: str
    pipelines: list[PluginPipeline] = field(default_factory=list)


@dataclass(slots=True)
class FailedPlugin:
    """An entry point that could not be loaded, and why (the server runs on without it)."""

    package_name: str
    entry_point_name: str
    error_type: str
    error_message: str


def installed_entry_points() -> list[metadata.EntryPoint]:
    """The `dreamstage.pipelines` entry points of every package on the path (each package once)."""
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def load_pipeline_class(entry_point: metadata.EntryPoint) -> type[Pipeline]:
    """Import what an entry point names and check that it is a pipeline class with its `info`."""
    loaded = entry_point.load()
    if not (isinstance(loaded, type) and issubclass(loaded, Pipeline)):
        raise TypeError(f'{entry_point.value} is not a subclass of pipeline.protocol.Pipeline')
    if not isinstance(getattr(loaded, 'info', None), PipelineInfo):
        raise TypeError(f'{entry_point.value} has no `info` (a pipeline.protocol.PipelineInfo)')
    return loaded


def failure(package_name: str, entry_point: metadata.EntryPoint, error: BaseException) -> FailedPlugin:
    """The record of an entry point that failed, logged."""
    log.error('pipeline plugin %s (%s = %s) failed to load: %s: %s', package_name, entry_point.name,
              entry_point.value, type(error).__name__, error)
    return FailedPlugin(package_name, entry_point.name, type(error).__name__, str(error))


def package_name(entry_point: metadata.EntryPoint) -> str:
    """The name of the package that declares an entry point."""
    return entry_point.dist.metadata['Name'] if entry_point.dist is not None else entry_point.module


def describe(entry_point: metadata.EntryPoint) -> Plugin:
    """The installed package of an entry point, from its metadata and its `direct_url.json` (PEP 610)."""
    dist = entry_point.dist
    if dist is None:
        return Plugin(entry_point.module, None, None, None, 'local', False, None, entry_point.module)
    name = dist.metadata['Name']
    source, editable, editable_path, git_url = _origin(dist)
    return Plugin(name=name, version=dist.version, author=_field(dist, 'Author') or _field(dist, 'Author-email'),
                  description=_field(dist, 'Summary'), source=source, editable=editable, editable_path=editable_path,
                  package_spec=f'git+{git_url}' if git_url else name)


def _field(dist: metadata.Distribution, key: str) -> str | None:
    values = dist.metadata.get_all(key)
    return str(values[0]) if values else None


def _origin(dist: metadata.Distribution) -> tuple[Source, bool, str | None, str | None]:
    """Where a package was installed from: (source, editable, editable path, git URL)."""
    try:
        direct_url = json.loads(dist.read_text('direct_url.json') or 'null')
    except ValueError:
        direct_url = None
    if not isinstance(direct_url, dict):
        return 'pypi', False, None, None  # installed from an index
    url = str(direct_url.get('url', ''))
    if isinstance(direct_url.get('vcs_info'), dict):
        return 'git', False, None, url
    if not url.startswith('file:'):
        return 'pypi', False, None, None  # an archive from a URL: updated like a package from an index
    editable = bool((direct_url.get('dir_info') or {}).get('editable'))
    return 'local', editable, unquote(urlparse(url).path) if editable else None, None
