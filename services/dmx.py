"""DMX (Art-Net) in Scope's shapes: this server has no Art-Net listener, so it is truthfully disabled; the mapping
configuration Scope's app edits is kept, and the numeric controls a mapping could target are listed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from pipeline.manager import PipelineManager
from pipeline.registry import PipelineRegistry
from pipeline.schema import config_schema_of

from .errors import Unavailable
from .json_files import JsonFile

DEFAULT_PORT = 6454
NOT_AVAILABLE = 'DMX (Art-Net) input is not available on this server'
NUMERIC_TYPES = {'number', 'integer'}
# The common runtime controls a DMX channel may drive (always listed, as in Scope)
RUNTIME_PATHS: list[dict[str, Any]] = [
    {'key': 'noise_scale', 'type': 'float', 'description': 'Noise scale', 'min': 0.0, 'max': 1.0},
    {'key': 'kv_cache_attention_bias', 'type': 'float', 'description': 'KV-cache attention bias', 'min': 0.01,
     'max': 1.0},
    {'key': 'vace_context_scale', 'type': 'float', 'description': 'VACE hint injection scale', 'min': 0.0, 'max': 2.0},
]


class DmxMapping(BaseModel):
    """One DMX channel driving one parameter."""

    universe: int = Field(ge=0, le=32767)
    channel: int = Field(ge=1, le=512)
    key: str = Field(min_length=1, max_length=200)


class DmxConfig(BaseModel):
    """The stored DMX configuration, in Scope's shape."""

    enabled: bool = False
    preferred_port: int = DEFAULT_PORT
    log_all_messages: bool = False
    mappings: list[DmxMapping] = Field(default_factory=list)


class DmxStatus(BaseModel):
    """The DMX listener's state: never listening here."""

    enabled: bool = False
    listening: bool = False
    port: int | None = None
    preferred_port: int = DEFAULT_PORT
    host: str | None = None
    log_all_messages: bool = False
    mapping_count: int = 0


class DmxService:
    """The DMX configuration in the settings folder, and what a mapping could target."""

    def __init__(self, folder: Path, registry: PipelineRegistry, manager: PipelineManager) -> None:
        self.file = JsonFile(folder / 'dmx-config.json')
        self.registry = registry
        self.manager = manager

    def config(self) -> DmxConfig:
        """The stored configuration (defaults when none); `enabled` is always false here."""
        stored = self.file.read()
        mappings = []
        for entry in stored.get('mappings') or []:
            try:
                mappings.append(DmxMapping.model_validate(entry))
            except ValueError:
                continue
        config = DmxConfig(mappings=mappings)
        for key in ('preferred_port', 'log_all_messages'):
            if isinstance(stored.get(key), type(getattr(config, key))):
                setattr(config, key, stored[key])
        return config

    def status(self) -> DmxStatus:
        config = self.config()
        return DmxStatus(preferred_port=config.preferred_port, log_all_messages=config.log_all_messages,
                         mapping_count=len(config.mappings))

    def save(self, enabled: bool | None = None, preferred_port: int | None = None,
             log_all_messages: bool | None = None, mappings: list[DmxMapping] | None = None) -> DmxConfig:
        """Store the given parts of the configuration (Unavailable when asked to enable DMX)."""
        if enabled:
            raise Unavailable(NOT_AVAILABLE)
        config = self.config()
        if preferred_port is not None:
            config.preferred_port = preferred_port
        if log_all_messages is not None:
            config.log_all_messages = log_all_messages
        if mappings is not None:
            unique = {(m.universe, m.channel): m for m in mappings}  # one key per channel, the last one wins
            config.mappings = list(unique.values())
        self.file.write(config.model_dump())
        return config

    def paths(self) -> dict[str, Any]:
        """The numeric runtime controls a DMX channel could drive: the common ones, then each pipeline's own,
        split into those of the loaded pipelines (`active`) and the others (`available`)."""
        loaded = self.manager.loaded_chain()
        active: dict[str, list[dict[str, Any]]] = {'Runtime': list(RUNTIME_PATHS)}
        available: dict[str, list[dict[str, Any]]] = {}
        for pipeline_id, info, _name in self.registry.listed():
            if paths := numeric_paths(config_schema_of(info), pipeline_id):
                (active if pipeline_id in loaded else available)[pipeline_id] = paths
        return {'active': active, 'available': available, 'active_pipeline_ids': loaded}


def numeric_paths(config_schema: dict[str, Any], pipeline_id: str) -> list[dict[str, Any]]:
    """The numeric runtime fields of a pipeline's schema, with their ranges."""
    paths = []
    for key, prop in config_schema.get('properties', {}).items():
        ui = prop.get('ui') or {}
        if ui.get('is_load_param', True) or prop.get('type') not in NUMERIC_TYPES:
            continue
        integer = prop['type'] == 'integer'
        low = prop.get('minimum', 0 if integer else 0.0)
        high = prop.get('maximum', prop['exclusiveMaximum'] - 1 if integer and 'exclusiveMaximum' in prop
                        else 100 if integer else 1.0)
        paths.append({'key': key, 'type': prop['type'], 'description': ui.get('label') or prop.get('description', ''),
                      'pipeline_id': pipeline_id, 'min': low, 'max': high})
    return paths
