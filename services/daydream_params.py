"""Daydream's StreamDiffusion parameters as its API takes them: pipeline names, models, ranges and defaults."""
from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.parameters import SEED_MAX

from .errors import InvalidRequest

DEFAULT_MODEL = 'stabilityai/sd-turbo'
MODEL_FAMILIES = {'stabilityai/sd-turbo': 'sd21', 'stabilityai/sdxl-turbo': 'sdxl', 'Lykon/dreamshaper-8': 'sd15',
                  'prompthero/openjourney-v4': 'sd15'}
CONTROLNETS = {
    'sd21': {*(f'thibaud/controlnet-sd21-{kind}-diffusers' for kind in ('openpose', 'hed', 'canny', 'depth', 'color')),
             'daydreamlive/TemporalNet2-stable-diffusion-2-1'},
    'sdxl': {*(f'xinsir/controlnet-{kind}-sdxl-1.0' for kind in ('depth', 'canny', 'tile')),
             'daydreamlive/TemporalNet2-stable-diffusion-xl-base-1.0'},
    'sd15': {'lllyasviel/control_v11f1p_sd15_depth', 'lllyasviel/control_v11f1e_sd15_tile',
             'lllyasviel/control_v11p_sd15_canny', 'daydreamlive/TemporalNet2-stable-diffusion-v1-5'},
}
# Daydream's pipeline names and legacy pipeline ids -> the model they imply when `params.model_id` is absent
PIPELINES: dict[str, str | None] = {
    'streamdiffusion': None, 'live-video-to-video': None, 'streamdiffusion-sd21': 'stabilityai/sd-turbo',
    'streamdiffusion-sdxl': 'stabilityai/sdxl-turbo', 'streamdiffusion-sdxl-faceid': 'stabilityai/sdxl-turbo',
    'streamdiffusion-sd15': 'Lykon/dreamshaper-8', 'pip_SD-turbo': 'stabilityai/sd-turbo',
    'pip_SDXL-turbo': 'stabilityai/sdxl-turbo', 'pip_SDXL-turbo-faceid': 'stabilityai/sdxl-turbo',
    'pip_SD15': 'Lykon/dreamshaper-8',
}
DEFAULT_T_INDEX = {'sd21': [12, 20, 32], 'sdxl': [36], 'sd15': [5, 15, 32]}
# What the cloud applies when a field is omitted (ai-runner's defaults)
DEFAULTS: dict[str, Any] = {'prompt': 'flowers', 'negative_prompt': 'blurry, low quality, flat, 2d',
                            'guidance_scale': 1.0, 'delta': 0.7, 'num_inference_steps': 50, 'seed': 789,
                            'width': 512, 'height': 512, 'acceleration': 'tensorrt', 'use_lcm_lora': True}
# Encoder settings of the self-hosted replacement (seed 002): accepted and reported as not applied
SELF_HOSTED_EXTRAS = ('video_codec', 'video_profile', 'video_tune', 'video_preset', 'video_bframes', 'gop_size')
Processor = Literal['blur', 'canny', 'depth', 'depth_tensorrt', 'external', 'feedback', 'hed', 'lineart',
                    'mediapipe_pose', 'mediapipe_segmentation', 'openpose', 'passthrough', 'pose_tensorrt',
                    'realesrgan_trt', 'sharpen', 'soft_edge', 'standard_lineart', 'temporal_net_tensorrt', 'upscale']
WeightType = Literal['linear', 'ease in', 'ease out', 'ease in-out', 'reverse in-out', 'weak input', 'weak output',
                     'weak middle', 'strong middle', 'style transfer', 'composition', 'strong style transfer',
                     'style and composition', 'style transfer precise', 'composition precise']
Interpolation = Literal['linear', 'slerp']


class ParamsError(InvalidRequest):
    """Parameters outside Daydream's contract (400); `field` names the first offending field (`params.width`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f'{field}: {message}')
        self.field = field


class Strict(BaseModel):
    """Strict JSON types, unknown keys refused (Daydream's schemas are `additionalProperties: false`)."""

    model_config = ConfigDict(strict=True, extra='forbid', allow_inf_nan=False)


class ControlNet(Strict):
    """One ControlNet of a stream (accepted and stored; this server does not run ControlNets)."""

    model_id: str
    conditioning_scale: float = Field(ge=0, le=10)
    preprocessor: Processor = 'passthrough'
    enabled: bool = True
    preprocessor_params: dict[str, Any] | None = None
    control_guidance_start: float = Field(default=0.0, ge=0, le=1)
    control_guidance_end: float = Field(default=1.0, ge=0, le=1)


class IpAdapter(Strict):
    """IP-Adapter style conditioning (accepted and stored; not run here)."""

    type: Literal['regular', 'faceid'] = 'regular'
    enabled: bool = False
    scale: float = Field(default=0.5, ge=0, le=2)
    weight_type: WeightType = 'linear'
    insightface_model_name: str | None = None


class ProcessorStep(Strict):
    """One image or latent processor."""

    type: Processor | Literal['latent_feedback']
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


class Processing(Strict):
    """A chain of processors."""

    enabled: bool = True
    processors: list[ProcessorStep] = Field(default_factory=list, max_length=16)


class CachedAttention(Strict):
    """StreamV2V cached attention (accepted and stored; not run here)."""

    enabled: bool = False
    max_frames: int = Field(default=1, ge=1, le=4)
    interval: int = Field(default=1, ge=1, le=1440)


class StreamParams(Strict):
    """The `params` of a stream, each field optional but `model_id` (filled in from the pipeline name if absent)."""

    model_config = ConfigDict(strict=True, extra='allow', allow_inf_nan=False)  # extras are checked below

    model_id: str = DEFAULT_MODEL
    prompt: str | list[tuple[str, float]] | None = None
    prompt_interpolation_method: Interpolation | None = None
    normalize_prompt_weights: bool | None = None
    negative_prompt: str | None = Field(default=None, max_length=10_000)
    guidance_scale: float | None = Field(default=None, ge=0, le=20)
    delta: float | None = Field(default=None, ge=0, le=1)
    num_inference_steps: int | None = Field(default=None, ge=1, le=100)
    t_index_list: list[int] | None = Field(default=None, min_length=1, max_length=4)
    width: int | None = Field(default=None, ge=384, le=1024, multiple_of=64)
    height: int | None = Field(default=None, ge=384, le=1024, multiple_of=64)
    lora_dict: dict[str, float] | None = None
    use_lcm_lora: bool | None = None
    lcm_lora_id: str | None = None
    acceleration: Literal['none', 'xformers', 'tensorrt'] | None = None
    use_safety_checker: bool | None = None
    safety_checker_threshold: float | None = Field(default=None, ge=0, le=1)
    use_denoising_batch: bool | None = None
    do_add_noise: bool | None = None
    skip_diffusion: bool | None = None
    seed: int | list[tuple[int, float]] | None = None
    seed_interpolation_method: Interpolation | None = None
    normalize_seed_weights: bool | None = None
    enable_similar_image_filter: bool | None = None
    similar_image_filter_threshold: float | None = Field(default=None, ge=0, le=1)
    similar_image_filter_max_skip_frame: int | None = Field(default=None, ge=0, le=1000)
    controlnets: list[ControlNet] | None = Field(default=None, max_length=8)
    ip_adapter: IpAdapter | None = None
    ip_adapter_style_image_url: str | None = Field(default=None, max_length=8_000_000)
    image_preprocessing: Processing | None = None
    image_postprocessing: Processing | None = None
    latent_preprocessing: Processing | None = None
    latent_postprocessing: Processing | None = None
    cached_attention: CachedAttention | None = None
    show_reloading_frame: bool | None = None

    @field_validator('prompt')
    @classmethod
    def _prompt(cls, prompt: str | list[tuple[str, float]] | None) -> Any:
        if isinstance(prompt, list) and (not 1 <= len(prompt) <= 64 or any(not text or weight < 0
                                                                              for text, weight in prompt)):
            raise ValueError('a weighted prompt is a list of 1 to 64 [text, weight] pairs, each text non-empty and '
                             'each weight at least 0')
        return prompt

    @field_validator('seed')
    @classmethod
    def _seed(cls, seed: int | list[tuple[int, float]] | None) -> Any:
        seeds = [seed] if isinstance(seed, int) else [s for s, _ in seed or []]
        if any(not 0 <= s <= SEED_MAX for s in seeds) or (isinstance(seed, list) and not 1 <= len(seed) <= 16):
            raise ValueError(f'a seed is an integer from 0 to {SEED_MAX}, or a list of 1 to 16 [seed, weight] pairs')
        if isinstance(seed, list) and any(weight < 0 for _, weight in seed):
            raise ValueError('seed weights must be at least 0')
        return seed

    @field_validator('ip_adapter_style_image_url')
    @classmethod
    def _style_image(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(('https://', 'http://', 'data:image/')):
            raise ValueError('an https URL or a data:image/...;base64 URI')
        return url

    @model_validator(mode='after')
    def _consistent(self) -> StreamParams:
        steps = self.num_inference_steps or DEFAULTS['num_inference_steps']
        if self.t_index_list is not None:
            indices = self.t_index_list
            if indices != sorted(indices) or any(not 0 <= i <= steps for i in indices):
                raise ValueError(f't_index_list must be non-decreasing, each index from 0 to num_inference_steps '
                                 f'({steps})')
        return self


def parse_params(raw: dict[str, Any], *, pipeline_model: str | None = None,
                 any_model: bool = False) -> dict[str, Any]:
    """Checked `params` (the caller's keys only, plus `model_id`); raises ParamsError naming the field."""
    if not isinstance(raw, dict):
        raise ParamsError('params', 'must be an object')
    params = dict(raw)
    params.setdefault('model_id', pipeline_model or DEFAULT_MODEL)
    if not isinstance(params['model_id'], str):
        raise ParamsError('params.model_id', 'must be a string')
    if params['model_id'] not in MODEL_FAMILIES and not any_model:
        raise ParamsError('params.model_id', f"unknown model {params['model_id']!r}; Daydream's models are "
                                             f'{", ".join(MODEL_FAMILIES)}')
    for key in params:
        if key not in StreamParams.model_fields and key not in SELF_HOSTED_EXTRAS:
            raise ParamsError(f'params.{key}', 'unknown parameter')
    try:
        checked = StreamParams.model_validate_json(json.dumps(params, allow_nan=False))
    except ValidationError as error:
        first = error.errors()[0]
        location = '.'.join(str(part) for part in first['loc'] if not str(part).startswith(('function-', 'tagged')))
        raise ParamsError(f'params.{location}' if location else 'params', first['msg']) from None
    except ValueError as error:  # NaN or infinity
        raise ParamsError('params', str(error)) from None
    check_family(checked)
    return params


def check_family(params: StreamParams) -> None:
    """ControlNets and IP-Adapter must suit the model's family (Daydream's rules)."""
    family = family_of(params.model_id)
    controlnets = params.controlnets or []
    ids = [controlnet.model_id for controlnet in controlnets]
    if len(set(ids)) != len(ids):
        raise ParamsError('params.controlnets', 'ControlNet model_ids must be unique')
    for index, model_id in enumerate(ids):
        if family in CONTROLNETS and model_id not in CONTROLNETS[family]:
            raise ParamsError(f'params.controlnets.{index}.model_id',
                              f'{model_id!r} does not fit {params.model_id} ({family}); use one of '
                              f'{", ".join(sorted(CONTROLNETS[family]))}')
    if family == 'sdxl' and sum(controlnet.enabled for controlnet in controlnets) > 3:
        raise ParamsError('params.controlnets', 'SDXL takes at most 3 enabled ControlNets')
    adapter = params.ip_adapter
    if adapter is not None and adapter.enabled and family == 'sd21':
        raise ParamsError('params.ip_adapter', f'IP-Adapter is not available for {params.model_id}')
    if adapter is not None and adapter.type == 'faceid' and family != 'sdxl':
        raise ParamsError('params.ip_adapter.type', 'faceid is available for SDXL only')


def family_of(model_id: str) -> str:
    """sd21, sdxl or sd15 (a model outside Daydream's list: from its name)."""
    if model_id in MODEL_FAMILIES:
        return MODEL_FAMILIES[model_id]
    return 'sdxl' if 'xl' in model_id.lower() else 'sd15'


def pipeline_model(name: Any) -> str | None:
    """The model a pipeline name implies (None: none in particular); raises ParamsError for unknown names."""
    if not isinstance(name, str) or not name:
        raise ParamsError('pipeline', 'must be a pipeline name such as "streamdiffusion"')
    if name in PIPELINES:
        return PIPELINES[name]
    if name.startswith('pip_'):
        return None  # an older account's pipeline id: the default model
    raise ParamsError('pipeline', f'unknown pipeline {name!r}; use "streamdiffusion" (or one of '
                                  f'{", ".join(sorted(PIPELINES))})')


def merge(stored: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics: top-level keys replace (lists too); `ip_adapter` and `cached_attention` merge key by key."""
    merged = dict(stored)
    for key, value in update.items():
        if key in ('ip_adapter', 'cached_attention') and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def effective(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a stream runs with: the caller's, over Daydream's defaults for its model family."""
    family = family_of(params.get('model_id', DEFAULT_MODEL))
    return {**DEFAULTS, 't_index_list': DEFAULT_T_INDEX.get(family, [12, 20, 32]), **params}
