"""The `/api/v1/pipelines/schemas` entry of a pipeline and its graph-node definition, in Scope's shapes.

Scope's web app builds its panels from each property's `ui` metadata: the Settings panel shows category
`configuration` (the complex blocks: resolution, cache, denoising steps, noise, LoRA, VACE, quantization), the Input &
Controls panel shows category `input` (plain fields only); a field is enabled while streaming only when
`is_load_param` is false, and a field whose type it cannot infer is skipped with a warning. The schemas here are
normalised for that, whatever a pipeline declares: which model a field comes from decides `is_load_param`.
"""
from __future__ import annotations

from typing import Any

from .protocol import PipelineInfo

# The blocks Scope's Settings panel renders once per component (frontend/src/lib/schemaSettings.ts); `image` and
# `audio` are plain pickers that both panels render.
COMPLEX_COMPONENTS = frozenset({'vace', 'lora', 'resolution', 'cache', 'denoising_steps', 'noise', 'quantization'})
PICKER_COMPONENTS = frozenset({'image', 'audio'})
PLAIN_TYPES = frozenset({'string', 'integer', 'number', 'boolean'})


def pipeline_meta(info: PipelineInfo, pipeline_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Scope's `PipelineMeta` for one pipeline (under another id and name for an alias)."""
    config_schema = config_schema_of(info)
    return {
        'id': pipeline_id or info.id,
        'name': name or info.name,
        'description': info.description,
        'version': '1.0.0',
        'supported_modes': info.supported_modes,
        'default_mode': info.default_mode,
        'supports_prompts': info.supports_prompts,
        'default_temporal_interpolation_method': info.default_temporal_interpolation_method,
        'default_temporal_interpolation_steps': info.default_temporal_interpolation_steps,
        'default_spatial_interpolation_method': 'linear',
        'docs_url': info.docs_url,
        'estimated_vram_gb': info.estimated_vram_gb,
        'requires_models': info.requires_models,
        'supports_lora': info.supports_lora,
        'supports_vace': False,
        'supports_cache_management': info.supports_cache_management,
        'supports_kv_cache_bias': False,
        'supports_quantization': False,
        'supports_negative_prompt': info.supports_negative_prompt,
        'min_dimension': info.dimension_multiple,
        'recommended_quantization_vram_threshold': None,
        'modified': False,
        'produces_video': True,
        'produces_audio': False,
        'usage': [],
        'inputs': ['video'] if 'video' in info.supported_modes else [],
        'outputs': ['video'],
        'config_schema': config_schema,
        'mode_defaults': mode_defaults(info, config_schema),
        'plugin_name': None,
        'chunk_size': info.chunk_size,
    }


def node_definition(meta: dict[str, Any]) -> dict[str, Any]:
    """A pipeline as a node of Scope's graph editor (`/api/v1/nodes/definitions`): its ports and its meta."""
    inputs = [port(name) for name in meta['inputs']]
    if meta['supports_prompts']:
        inputs.append(port('prompts', 'string'))
    return {'node_type_id': meta['id'], 'display_name': meta['name'], 'category': 'pipeline',
            'description': meta['description'], 'inputs': inputs, 'outputs': [port(name) for name in meta['outputs']],
            'params': [], 'continuous': False, 'pipeline_meta': meta, 'plugin_name': meta['plugin_name']}


def port(name: str, port_type: str = 'video') -> dict[str, Any]:
    """One port of a node."""
    return {'name': name, 'port_type': port_type, 'required': True, 'description': '', 'default_value': None}


def config_schema_of(info: PipelineInfo) -> dict[str, Any]:
    """The load parameters and runtime controls as one JSON schema, each field's `ui` fit for Scope's panels."""
    load = info.load_params.model_json_schema()
    runtime = info.runtime_params.model_json_schema() if info.runtime_params is not None else {}
    definitions = {**load.get('$defs', {}), **runtime.get('$defs', {})}
    properties: dict[str, Any] = {}
    for schema, is_load_param in ((load, True), (runtime, False)):
        for key, prop in schema.get('properties', {}).items():
            properties[key] = scope_field(prop, is_load_param, definitions)
    if 'seed' in runtime.get('properties', {}) and 'base_seed' in properties:
        properties['base_seed'].pop('ui', None)  # the runtime seed is the one control for it
    config_schema = {**load, 'properties': properties, 'additionalProperties': False}
    if definitions:
        config_schema['$defs'] = definitions
    return config_schema


def scope_field(prop: dict[str, Any], is_load_param: bool, definitions: dict[str, Any]) -> dict[str, Any]:
    """A property whose `ui` Scope's frontend renders: `is_load_param` from where the field is declared, a category
    (the complex blocks only exist in `configuration`), and no `ui` at all for shapes it cannot render."""
    if not isinstance(prop.get('ui'), dict):
        return prop
    ui = {'category': 'configuration', **prop['ui'], 'is_load_param': is_load_param}
    component = ui.get('component')
    if component in COMPLEX_COMPONENTS:
        ui['category'] = 'configuration'
    elif component not in PICKER_COMPONENTS and not renderable(prop, definitions):
        return {key: value for key, value in prop.items() if key != 'ui'}
    return {**prop, 'ui': ui}


def renderable(prop: dict[str, Any], definitions: dict[str, Any]) -> bool:
    """Whether Scope's frontend infers a widget for a property (text, number, slider, toggle or enum) as its
    `inferPrimitiveFieldType` does: from the first non-null branch of `anyOf`, a `$ref` (to an enum), an enum, a
    plain type."""
    if 'anyOf' in prop:
        branch = next((b for b in prop['anyOf'] if b.get('type') != 'null'), None)
        return branch is not None and ('enum' in branch or branch.get('type') in PLAIN_TYPES)
    if '$ref' in prop:
        return 'enum' in definitions.get(prop['$ref'].rsplit('/', 1)[-1], {})
    return 'enum' in prop or prop.get('type') in PLAIN_TYPES


def mode_defaults(info: PipelineInfo, config_schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-mode defaults: the resolution, the denoising steps and, in video mode, the noise block's values."""
    defaults: dict[str, Any] = {'height': info.default_height, 'width': info.default_width}
    if info.default_denoising_steps is not None:
        defaults['denoising_steps'] = info.default_denoising_steps
    result = {mode: dict(defaults) for mode in info.supported_modes}
    properties = config_schema['properties']
    noise_block = any((prop.get('ui') or {}).get('component') == 'noise' for prop in properties.values())
    if noise_block and 'video' in result:  # Scope's frontend shows the noise block only when these are set
        result['video']['noise_scale'] = properties.get('noise_scale', {}).get('default', 0.7)
        result['video']['noise_controller'] = properties.get('noise_controller', {}).get('default', True)
    return result
