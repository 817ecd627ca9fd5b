"""Before a causal Wan pipeline loads: does it fit the GPU? A clear refusal names what to change."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..protocol import LoadParams
from .params import CausalWanLoadParams

if TYPE_CHECKING:
    from ..causal.memory import MemoryEstimate

# torch and the model code are imported inside the functions: declaring a pipeline must stay cheap


def preflight(params: LoadParams, models_dir: Path, width: int, height: int) -> None:
    """Raise ValueError when the configuration needs more memory than the GPU (or `max_memory_gb`) has."""
    from ..causal.memory import device_budget
    from ..causal.models import resolve_device

    assert isinstance(params, CausalWanLoadParams)
    try:
        device = resolve_device(params.device)
    except RuntimeError as error:
        raise ValueError(str(error)) from None
    budget = device_budget(device, params.max_memory_gb)
    if budget is None:
        return
    needed = memory_estimate(params, models_dir, width, height)
    check_fits(params, needed, budget, width, height)


def check_fits(params: CausalWanLoadParams, needed: MemoryEstimate, budget: int, width: int, height: int) -> None:
    """Raise ValueError with the figures and what to change when one stream does not fit `budget` bytes."""
    from ..causal.memory import GB, advice
    from ..causal.models import resolve_device

    if needed.total(1) <= budget:
        return
    text_on_gpu = resolve_device(params.text_encoder_device, resolve_device(params.device)).type == 'cuda'
    raise ValueError(f'not enough GPU memory for {width}x{height}: it needs about {needed.total(1) / GB:.2f} GB '
                     f'({needed.describe()}), {budget / GB:.2f} GB are available. '
                     + advice(width, height, params.vae_type, params.quantization is not None, text_on_gpu))


def memory_estimate(params: CausalWanLoadParams, models_dir: Path, width: int, height: int) -> MemoryEstimate:
    """The estimate of these parameters, from the model's config files (no weights are read)."""
    import torch

    from ..causal.memory import estimate
    from ..causal.models import resolve_device, resolve_dtype

    paths = params.model_paths(models_dir)
    transformer = _json(paths.base / 'transformer' / 'config.json')
    text = _json(paths.base / 'text_encoder' / 'config.json')
    device = resolve_device(params.device)
    text_device = resolve_device(params.text_encoder_device, device)
    weight_bytes = 4 if resolve_dtype(params.dtype, device) == torch.float32 else 2
    autoencoder = paths.tiny_autoencoder or paths.base / 'vae' / 'diffusion_pytorch_model.safetensors'
    autoencoder_bytes = autoencoder.stat().st_size * weight_bytes // 4 if autoencoder.is_file() else 0
    return estimate(transformer=transformer, text_encoder=text if text_device == device else None,
                    autoencoder=params.vae_type, autoencoder_bytes=autoencoder_bytes, width=width, height=height,
                    chunk_frames=params.causal.chunk_frames, window_frames=params.causal.window_frames,
                    weight_bytes=weight_bytes, text_bytes=weight_bytes, fp8=params.quantization is not None)


def _json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise ValueError(f'{path} is missing: download the model files first') from None
