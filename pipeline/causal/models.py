"""Loading a causal Wan model set from disk (never from the network): transformer, text encoder, autoencoder."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .attention import choose_attention
from .fp8 import quantize_blocks
from .loras import LoraSpec, TransformerLoras
from .paths import ModelPaths
from .taehv import load_tiny_autoencoder
from .text import TextEncoder
from .transformer import CausalWan
from .video_vae import VideoAutoencoder, WanVideoAutoencoder
from .weights import dtype_argument, load_transformer

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunOptions:
    """Where and how the models run."""

    device: torch.device
    dtype: torch.dtype
    text_device: torch.device
    attention: str = 'auto'
    compile: bool = False
    cuda_graphs: bool = False
    fp8: bool = False
    loras: list[LoraSpec] = field(default_factory=list)


@dataclass(slots=True)
class WanModels:
    """The loaded models of one pipeline, shared by its streams."""

    transformer: CausalWan
    text: TextEncoder
    autoencoder: VideoAutoencoder
    loras: TransformerLoras
    attention: str
    device: torch.device
    dtype: torch.dtype

    @property
    def weights_bytes(self) -> int:
        model = self.transformer.model
        tensors = [*model.parameters(), *model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)


def load_models(paths: ModelPaths, options: RunOptions, report: Callable[[str], None]) -> WanModels:
    """Load the transformer (with its LoRAs), the text encoder and the autoencoder onto their devices."""
    report('Loading the transformer...')
    model = load_transformer(paths.base / 'transformer', paths.checkpoint, lora=paths.checkpoint_lora,
                             lora_scale=paths.checkpoint_lora_scale, dtype=options.dtype, device=options.device)
    loras = TransformerLoras(model, options.loras)
    if options.fp8:
        if loras.runtime:
            raise ValueError('fp8 weights cannot take runtime LoRAs: load them with merge_mode permanent_merge')
        log.info('float8 weights for %d linear layers', quantize_blocks(model))
    attention_name, attention = choose_attention(options.attention, options.device, options.dtype)
    transformer = CausalWan(model, attention)
    if options.compile or (options.cuda_graphs and options.device.type == 'cuda'):
        transformer.compile('reduce-overhead' if options.cuda_graphs and options.device.type == 'cuda'
                            else 'max-autotune-no-cudagraphs')
    report('Loading the text encoder...')
    text_dtype = options.dtype if options.text_device.type == 'cuda' else torch.float32
    text = TextEncoder(paths.base, options.text_device, text_dtype)
    report('Loading the autoencoder...')
    autoencoder = _autoencoder(paths, options)
    log.info('causal Wan loaded on %s (%s, attention %s, autoencoder %s)', options.device, options.dtype,
             attention_name, autoencoder.kind)
    return WanModels(transformer, text, autoencoder, loras, attention_name, options.device, options.dtype)


def _autoencoder(paths: ModelPaths, options: RunOptions) -> VideoAutoencoder:
    if paths.tiny_autoencoder is not None:
        return load_tiny_autoencoder(paths.tiny_autoencoder, options.device, options.dtype)
    from diffusers import AutoencoderKLWan

    vae: Any = AutoencoderKLWan.from_pretrained(paths.base / 'vae', **dtype_argument(options.dtype))
    return WanVideoAutoencoder(vae.to(options.device))


def resolve_device(name: str, auto: torch.device | None = None) -> torch.device:
    """A device name (`auto`: the given device, else CUDA when present) as a device."""
    if name == 'auto':
        return auto or torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if name == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('device cuda was asked for, but no CUDA GPU is available')
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """A dtype name (`auto`: bf16 on CUDA, float32 elsewhere) as a dtype."""
    names = {'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float32': torch.float32}
    return names.get(name) or (torch.bfloat16 if device.type == 'cuda' else torch.float32)
