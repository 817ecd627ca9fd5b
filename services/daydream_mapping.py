"""Daydream's parameters in this server's terms: the session's runtime parameters, the pipeline to load, what needs a
restart, and what the running pipeline cannot apply (reported, never silently claimed)."""
from __future__ import annotations

from typing import Any

from pipeline.protocol import PipelineInfo

from .daydream_params import SELF_HOSTED_EXTRAS, effective, family_of

# Changing these restarts the stream's pipeline (ai-runner's reload set); everything else is hot
RELOAD_KEYS = ('model_id', 'width', 'height', 'acceleration', 'use_lcm_lora', 'lcm_lora_id', 'lora_dict',
               'use_denoising_batch', 'do_add_noise', 'enable_similar_image_filter', 'similar_image_filter_threshold',
               'similar_image_filter_max_skip_frame', 'skip_diffusion')
# Daydream keys that become StreamDiffusion load parameters
LOAD_KEYS = ('model_id', 'width', 'height', 'use_lcm_lora', 'lcm_lora_id', 'lora_dict', 'use_denoising_batch',
             'do_add_noise')
STREAMDIFFUSION = 'streamdiffusion'
GRID_TIMESTEPS = 1000  # Scope's denoising_step_list counts timesteps of a 1000-step schedule


def reload_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The keys whose change restarts the pipeline (a ControlNet's conditioning_scale alone is hot)."""
    changed = [key for key in RELOAD_KEYS if old.get(key) != new.get(key)]
    if _controlnet_structure(old) != _controlnet_structure(new):
        changed.append('controlnets')
    if (old.get('ip_adapter') or {}).get('type') != (new.get('ip_adapter') or {}).get('type'):
        changed.append('ip_adapter.type')
    if (old.get('cached_attention') or {}).get('enabled') != (new.get('cached_attention') or {}).get('enabled'):
        changed.append('cached_attention.enabled')
    return changed


def load_params(params: dict[str, Any]) -> dict[str, Any]:
    """StreamDiffusion's load parameters for a stream (acceleration is always plain PyTorch here)."""
    values = effective(params)
    loaded = {key: values[key] for key in LOAD_KEYS if values.get(key) is not None}
    if family_of(values['model_id']) == 'sd21':  # sd-turbo runs without an LCM-LoRA (Daydream's model table)
        loaded.pop('use_lcm_lora', None)
        loaded.pop('lcm_lora_id', None)
    return loaded


def size(params: dict[str, Any]) -> tuple[int, int]:
    """The stream's output size (width, height)."""
    values = effective(params)
    return int(values['width']), int(values['height'])


def runtime_message(params: dict[str, Any], info: PipelineInfo) -> dict[str, Any]:
    """The parameter message (the data channel's keys) that applies a stream's hot parameters to a pipeline."""
    values = effective(params)
    fields = runtime_fields(info)
    message: dict[str, Any] = {}
    if info.supports_prompts:
        prompt = values['prompt']
        pairs = [(prompt, 1.0)] if isinstance(prompt, str) else [(text, weight) for text, weight in prompt]
        message['prompts'] = [{'text': text, 'weight': float(weight)} for text, weight in pairs]
        if values.get('prompt_interpolation_method'):
            message['prompt_interpolation_method'] = values['prompt_interpolation_method']
    if info.supports_negative_prompt:
        message['negative_prompt'] = values['negative_prompt']
    message['seed'] = heaviest_seed(values['seed'])
    for key in ('guidance_scale', 'delta', 'num_inference_steps', 't_index_list'):
        if key in fields:
            message[key] = values[key]
    if 't_index_list' not in fields and 'denoising_step_list' in fields:
        steps = int(values['num_inference_steps'])
        message['denoising_step_list'] = [round(GRID_TIMESTEPS * (1 - index / steps)) for index in
                                          values['t_index_list']]
    return message


def changed_message(old: dict[str, Any], new: dict[str, Any], info: PipelineInfo) -> dict[str, Any]:
    """Only the runtime keys whose mapped values differ between two parameter sets."""
    before, after = runtime_message(old, info), runtime_message(new, info)
    return {key: value for key, value in after.items() if before.get(key) != value}


def not_applied(params: dict[str, Any], info: PipelineInfo) -> dict[str, str]:
    """The stream's parameters the running pipeline does not apply, each with the reason."""
    values = effective(params)
    fields = runtime_fields(info)
    running = info.id
    reasons: dict[str, str] = {}
    if running != STREAMDIFFUSION:
        for key in ('model_id', 'use_lcm_lora', 'lcm_lora_id', 'lora_dict', 'use_denoising_batch', 'do_add_noise'):
            if key in params:
                reasons[key] = f'{running} runs instead of streamdiffusion'
        for key in ('guidance_scale', 'delta', 'num_inference_steps', 'negative_prompt'):
            if key in params and key not in fields and not (key == 'negative_prompt' and info.supports_negative_prompt):
                reasons[key] = f'{running} has no {key}'
        if 't_index_list' in params and not {'t_index_list', 'denoising_step_list'} & fields:
            reasons['t_index_list'] = f'{running} has no denoising steps'
    if 'prompt' in params and not info.supports_prompts:
        reasons['prompt'] = f'{running} does not take prompts'
    if params.get('acceleration', 'none') != 'none':
        reasons['acceleration'] = f"{params['acceleration']} is not available here: plain PyTorch runs"
    if params.get('normalize_prompt_weights') is False:
        reasons['normalize_prompt_weights'] = 'prompt weights are always normalised'
    if isinstance(values.get('seed'), list):
        reasons['seed'] = f'seed blends are not supported: seed {heaviest_seed(values["seed"])} is used'
    for key in ('seed_interpolation_method', 'normalize_seed_weights', 'safety_checker_threshold',
                'similar_image_filter_threshold', 'similar_image_filter_max_skip_frame', *SELF_HOSTED_EXTRAS):
        if key in params:
            reasons[key] = 'not supported by this server'
    for key, what in (('use_safety_checker', 'no safety checker'), ('enable_similar_image_filter',
                                                                    'no similar-image filter'),
                      ('skip_diffusion', 'diffusion is never skipped')):
        if params.get(key):
            reasons[key] = what
    if any(controlnet.get('enabled', True) for controlnet in params.get('controlnets') or []):
        reasons['controlnets'] = 'ControlNets are not supported by this server'
    if (params.get('ip_adapter') or {}).get('enabled'):
        reasons['ip_adapter'] = 'IP-Adapter is not supported by this server'
    if 'ip_adapter_style_image_url' in params:
        reasons['ip_adapter_style_image_url'] = 'IP-Adapter is not supported by this server'
    for key in ('image_preprocessing', 'image_postprocessing', 'latent_preprocessing', 'latent_postprocessing'):
        if params.get(key) and params[key].get('enabled', True) and params[key].get('processors'):
            reasons[key] = 'processors are not supported by this server'
    if (params.get('cached_attention') or {}).get('enabled'):
        reasons['cached_attention'] = 'cached attention (StreamV2V) is not supported by this server'
    return reasons


def heaviest_seed(seed: int | list[Any]) -> int:
    """A seed, or the heaviest of a seed blend."""
    if isinstance(seed, list):
        return int(max(seed, key=lambda pair: pair[1])[0])
    return int(seed)


def runtime_fields(info: PipelineInfo) -> set[str]:
    """The runtime controls a pipeline declares."""
    return set(info.runtime_params.model_fields) if info.runtime_params is not None else set()


def _controlnet_structure(params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(c.get('model_id'), c.get('preprocessor'), repr(c.get('preprocessor_params')), c.get('enabled', True))
            for c in params.get('controlnets') or []]
