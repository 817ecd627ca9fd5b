"""The transformer's weights: a diffusers folder, or an original-layout checkpoint (LongLive, Self-Forcing, SDv2)
converted to diffusers names, with a LoRA of the same layout merged in."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)
PREFIXES = ('model._fsdp_wrapped_module.', '_fsdp_wrapped_module.', 'base_model.model.', 'model.')


def load_transformer(config_folder: Path, checkpoint: Path | None, *, lora: Path | None = None,
                     lora_scale: float = 1.0, dtype: torch.dtype, device: torch.device) -> Any:
    """A WanTransformer3DModel: from `config_folder` (diffusers layout) or its config and an original checkpoint."""
    from diffusers import WanTransformer3DModel

    if checkpoint is None:
        model = WanTransformer3DModel.from_pretrained(config_folder, **dtype_argument(dtype))
    else:
        config = json.loads((config_folder / 'config.json').read_text())
        with torch.device('meta'):
            model = WanTransformer3DModel.from_config(config)
        state = to_diffusers_names(read_checkpoint(checkpoint))
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        missing = [k for k in missing if not k.startswith('rope.')]
        if missing or unexpected:
            raise ValueError(f'{checkpoint.name} does not fit the transformer config of {config_folder}: '
                             f'missing {missing[:3]}, unexpected {unexpected[:3]}')
        model.rope = type(model.rope)(model.config.attention_head_dim, model.config.patch_size,
                                      model.config.rope_max_seq_len)
        _cast(model, dtype)
    if lora is not None:
        merge_lora(model, read_checkpoint(lora, 'generator_lora'), lora_scale)
    return model.to(device).eval().requires_grad_(False)


def read_checkpoint(path: Path, key: str = 'generator') -> dict[str, torch.Tensor]:
    """The state dict of a training checkpoint (`generator`, `generator_ema` or `model` inside, or the dict itself)."""
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file

        state: Any = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
        except RuntimeError:  # a checkpoint in the legacy (non-zip) format cannot be memory-mapped
            state = torch.load(path, map_location='cpu', weights_only=True)
    for name in (key, 'generator', 'generator_ema', 'model'):
        if isinstance(state.get(name), dict):
            state = state[name]
            break
    return {_strip(name): tensor for name, tensor in state.items() if isinstance(tensor, torch.Tensor)}


def to_diffusers_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an original-layout Wan state dict (`blocks.0.self_attn.q`) to diffusers' (`blocks.0.attn1.to_q`)."""
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    if any('.attn1.' in name or name.startswith('condition_embedder.') for name in state):
        return state
    return dict(convert_wan_transformer_to_diffusers(dict(state)))


def merge_lora(model: Any, state: dict[str, torch.Tensor], scale: float) -> int:
    """Add `scale * B @ A` of every LoRA pair (original or diffusers names) to its linear layer; returns the count."""
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        for part in ('lora_A', 'lora_B', 'lora_down', 'lora_up'):
            marker = f'.{part}.'
            if marker in name:
                layer = name.split(marker)[0]
                pairs.setdefault(layer, {})['A' if part in ('lora_A', 'lora_down') else 'B'] = tensor
    modules = dict(model.named_modules())
    merged = 0
    for layer, pair in pairs.items():
        target = modules.get(_diffusers_layer(layer))
        if target is None or 'A' not in pair or 'B' not in pair:
            raise ValueError(f'the LoRA layer {layer} has no matching linear layer in the transformer')
        weight = target.weight
        delta = pair['B'].to(weight.device, torch.float32) @ pair['A'].to(weight.device, torch.float32)
        weight.data = (weight.float() + scale * delta).to(weight.dtype)
        merged += 1
    log.info('merged %d LoRA layers', merged)
    return merged


def _diffusers_layer(layer: str) -> str:
    name = _strip(layer)
    if '.attn1.' in name or '.attn2.' in name or '.ffn.net.' in name:
        return name
    dummy = {f'{name}.weight': torch.empty(0)}
    return next(iter(to_diffusers_names(dummy))).removesuffix('.weight')


def _strip(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


def _cast(model: Any, dtype: torch.dtype) -> None:
    """The model in `dtype`, except the modules diffusers keeps in float32 (norms, time embedding, modulations)."""
    keep = tuple(getattr(model, '_keep_in_fp32_modules', None) or ())
    for name, parameter in model.named_parameters():
        wanted = torch.float32 if any(part in keep for part in name.split('.')) else dtype
        parameter.data = parameter.data.to(wanted)


def dtype_argument(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """diffusers' `from_pretrained` takes `dtype` in recent releases and `torch_dtype` before."""
    from diffusers.utils import deprecation_utils

    return {'dtype' if hasattr(deprecation_utils, '_TORCH_DTYPE_DEPRECATION_MESSAGE') else 'torch_dtype': dtype}
