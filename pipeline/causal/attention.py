"""Attention kernels, chosen at run time: FlashAttention 3 or 2 when installed on CUDA, else PyTorch's SDPA."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)
Attention = Callable[..., torch.Tensor]  # (q, k, v, mask=None) with (batch, tokens, heads, head_dim) tensors


def choose_attention(name: str, device: torch.device, dtype: torch.dtype) -> tuple[str, Attention]:
    """The kernel to use: `auto` takes FlashAttention on CUDA in half precision when installed, else SDPA."""
    if name not in ('auto', 'sdpa', 'flash'):
        raise ValueError(f"unknown attention '{name}' (auto, sdpa or flash)")
    flash = _flash_kernel() if device.type == 'cuda' and dtype in (torch.float16, torch.bfloat16) else None
    if name == 'flash' and flash is None:
        raise RuntimeError('attention flash was asked for, but flash-attn is not installed or there is no CUDA GPU '
                           'with fp16/bf16 weights; use attention: auto or sdpa')
    if name != 'sdpa' and flash is not None:
        label, kernel = flash
        return label, _with_mask_fallback(kernel)
    return 'sdpa', sdpa


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """PyTorch's scaled dot-product attention (it picks flash, memory-efficient or math kernels itself)."""
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return out.transpose(1, 2)


def _flash_kernel() -> tuple[str, Callable[..., Any]] | None:
    for module_name, label in (('flash_attn_interface', 'flash3'), ('flash_attn', 'flash2')):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # not installed, or built for another CUDA/torch
            continue
        function = getattr(module, 'flash_attn_func', None)
        if function is not None:
            return label, function
    return None


def _with_mask_fallback(kernel: Callable[..., Any]) -> Attention:
    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            return sdpa(q, k, v, mask)
        out = kernel(q, k.contiguous(), v.contiguous())
        return out[0] if isinstance(out, tuple) else out

    return attend


def block_causal_mask(frames: int, tokens_per_frame: int, chunk: int, sink: int, window: int,
                      device: torch.device | None = None) -> torch.Tensor:
    """The mask (queries x keys, True = attend) of block-causal attention with a frame sink and a local window.

    A frame of chunk c attends to the frames of chunks up to c that are sink frames or among the last
    `window - sink` frames up to the end of its chunk: exactly what chunk-by-chunk generation with the cache sees.
    """
    frame = torch.arange(frames, device=device)
    chunk_end = (frame // chunk + 1) * chunk  # one past the last frame of each frame's chunk
    key = frame[None, :]
    allowed = (key < chunk_end[:, None]) & ((key < sink) | (key >= chunk_end[:, None] - (window - sink)))
    return allowed.repeat_interleave(tokens_per_frame, 0).repeat_interleave(tokens_per_frame, 1)
