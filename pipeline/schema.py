"""The `/api/v1/pipelines/schemas` entry of a pipeline, in Scope's shape."""
from __future__ import annotations

from typing import Any

from .protocol import PipelineInfo


def pipeline_meta(info: PipelineInfo) -> dict[str, Any]:
    """Scope's `PipelineMeta` for one pipeline."""
    config_schema = info.load_params.model_json_schema()
    if info.runtime_params is not None:
        runtime = info.runtime_params.model_json_schema()
        config_schema.setdefault('properties', {}).update(runtime.get('properties', {}))
        config_schema.setdefault('$defs', {}).update(runtime.get('$defs', {}))
    config_schema['additionalProperties'] = False
    defaults: dict[str, Any] = {'height': info.default_height, 'width': info.default_width}
    if info.default_denoising_steps is not None:
        defaults['denoising_steps'] = info.default_denoising_steps
    return {
        'id': info.id,
        'name': info.name,
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
        'mode_defaults': {mode: defaults for mode in info.supported_modes},
        'plugin_name': None,
        'chunk_size': info.chunk_size,
    }
