"""GPU memory: what a configuration needs (weights, KV cache, activations) before it loads, and a budget that
streams reserve from while they run, so an over-full GPU gives a clear message instead of a crash."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import torch

GB = 1024 ** 3
CUDA_CONTEXT = int(0.6 * GB)  # the CUDA context, cuBLAS workspaces and allocator slack


@dataclass(slots=True)
class MemoryEstimate:
    """Bytes a configuration needs: what loads once, and what each stream adds."""

    weights: int
    text_encoder: int
    autoencoder: int
    kv_cache: int  # per stream
    activations: int  # per stream (transformer and decoder peaks, not at the same time)
    overhead: int = CUDA_CONTEXT

    @property
    def per_stream(self) -> int:
        return self.kv_cache + self.activations

    @property
    def shared(self) -> int:
        return self.weights + self.text_encoder + self.autoencoder + self.overhead

    def total(self, streams: int = 1) -> int:
        return self.shared + streams * self.per_stream

    def describe(self) -> str:
        parts = {'weights': self.weights, 'text encoder': self.text_encoder, 'autoencoder': self.autoencoder,
                 'KV cache': self.kv_cache, 'activations': self.activations}
        return ', '.join(f'{name} {value / GB:.2f}' for name, value in parts.items() if value) + ' GB'


def estimate(*, transformer: dict[str, Any], text_encoder: dict[str, Any] | None, autoencoder: str,
             autoencoder_bytes: int, width: int, height: int, chunk_frames: int, window_frames: int,
             weight_bytes: int, text_bytes: int, fp8: bool = False) -> MemoryEstimate:
    """The memory of a Wan transformer config at a size, from its config alone (no weights are read)."""
    dim = int(transformer['num_attention_heads']) * int(transformer['attention_head_dim'])
    layers, ffn = int(transformer['num_layers']), int(transformer['ffn_dim'])
    text_dim, channels = int(transformer['text_dim']), int(transformer['in_channels'])
    per_layer = 4 * dim * dim + 4 * dim * dim + 2 * dim * ffn + 6 * dim  # self-attn, cross-attn, ffn, modulation
    linear_bytes = 1 if fp8 else weight_bytes
    weights = layers * per_layer * linear_bytes + (text_dim * dim + dim * dim + 7 * dim * 256) * weight_bytes
    tokens = (height // 16) * (width // 16)
    chunk_tokens = chunk_frames * tokens
    kv_cache = layers * 2 * window_frames * tokens * dim * weight_bytes
    cross_cache = layers * 2 * 512 * dim * weight_bytes
    transformer_peak = chunk_tokens * (ffn + 8 * dim) * weight_bytes + 4 * chunk_tokens * dim * 4
    pixels = 4 * chunk_frames * width * height
    decoder_peak = pixels * (96 * 6 if autoencoder == 'wan' else 64 * 4) * weight_bytes // 4 + pixels * 3 * 4
    latents = 8 * channels * chunk_frames * tokens * 4 * 4
    text = 0
    if text_encoder is not None:
        d_model, d_ff = int(text_encoder['d_model']), int(text_encoder['d_ff'])
        vocab, text_layers = int(text_encoder['vocab_size']), int(text_encoder['num_layers'])
        text = (vocab * d_model + text_layers * (4 * d_model * d_model + 3 * d_model * d_ff)) * text_bytes
    return MemoryEstimate(weights, text, autoencoder_bytes, kv_cache + cross_cache,
                          max(transformer_peak, decoder_peak) + latents)


def device_budget(device: torch.device, limit_gb: float | None) -> int | None:
    """Bytes this pipeline may use: the limit given, else (on CUDA) the GPU's free memory; None: no limit known."""
    if limit_gb is not None:
        return int(limit_gb * GB)
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    return None


def advice(width: int, height: int, autoencoder: str, fp8: bool, text_on_gpu: bool) -> str:
    """What to change so a configuration needs less memory."""
    tips = [f'a smaller size than {width}x{height} (for example {max(16, width // 32 * 16)}x'
            f'{max(16, height // 32 * 16)})']
    if autoencoder == 'wan':
        tips.append('vae_type "tae" (the tiny autoencoder)')
    if not fp8:
        tips.append('quantization "fp8_e4m3fn"')
    if text_on_gpu:
        tips.append('text_encoder_device "cpu"')
    return 'try ' + ', '.join(tips[:-1]) + (' or ' if len(tips) > 1 else '') + tips[-1]


class MemoryBudget:
    """Run-time reservations against a budget (per stream: its KV cache and activations).

    On CUDA the allocator has the last word; the budget makes the limit explicit (and testable without a GPU):
    a stream that would exceed it fails with torch.OutOfMemoryError, as an allocation would.
    """

    def __init__(self, limit: int | None, shared: int) -> None:
        self.limit, self.shared = limit, shared
        self.reserved: dict[int, int] = {}
        self._lock = threading.Lock()

    def reserve(self, owner: object, nbytes: int, what: str) -> None:
        with self._lock:
            used = self.shared + sum(self.reserved.values())
            if self.limit is not None and used + nbytes > self.limit:
                raise torch.OutOfMemoryError(f'{what} needs {nbytes / GB:.2f} GB, but only '
                                             f'{max(0, self.limit - used) / GB:.2f} GB of the {self.limit / GB:.2f} GB '
                                             'budget are left')
            self.reserved[id(owner)] = self.reserved.get(id(owner), 0) + nbytes

    def release(self, owner: object) -> None:
        with self._lock:
            self.reserved.pop(id(owner), None)
