"""Wan2.1's transformer (diffusers' WanTransformer3DModel and its weights) run block-causally, chunk by chunk."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .attention import Attention, sdpa
from .kv_cache import ChunkSlots, KVCache
from .rope import Rotary, rotate


@dataclass(slots=True)
class TextContext:
    """The cross-attention keys and values of one prompt embedding, per layer (computed once per prompt)."""

    source: torch.Tensor  # the embedding they were computed from
    keys: list[torch.Tensor]
    values: list[torch.Tensor]


class CausalWan:
    """Runs the blocks of a WanTransformer3DModel on one chunk of latent frames at a time.

    With a cache, the chunk's queries attend to the cached frames (sink and window) and to the chunk itself;
    without one, to the given frames under an optional mask (the full block-causal reference). Every frame may have
    its own timestep, as in Self-Forcing's causal Wan.
    """

    def __init__(self, model: Any, attention: Attention = sdpa) -> None:
        self.model = model
        config = model.config
        self.heads = int(config.num_attention_heads)
        self.head_dim = int(config.attention_head_dim)
        self.layers = len(model.blocks)
        self.patch = tuple(int(p) for p in config.patch_size)
        self.rotary = Rotary(self.head_dim)
        self.attention = attention
        self.block: Any = wan_block  # torch.compile(wan_block) when compiled

    def compile(self, mode: str) -> None:
        """Compile the block function once for all blocks (`reduce-overhead` also captures CUDA graphs)."""
        self.block = torch.compile(wan_block, mode=mode, dynamic=False)

    @property
    def dtype(self) -> torch.dtype:
        return self.model.proj_out.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.model.proj_out.weight.device

    @torch.no_grad()
    def text_context(self, embedding: torch.Tensor) -> TextContext:
        """Project a prompt embedding (batch, tokens, text_dim) to every layer's cross-attention keys and values."""
        hidden = self.model.condition_embedder.text_embedder(embedding.to(self.device, self.dtype))
        keys, values = [], []
        for block in self.model.blocks:
            attention = block.attn2
            keys.append(attention.norm_k(attention.to_k(hidden)).unflatten(2, (self.heads, -1)))
            values.append(attention.to_v(hidden).unflatten(2, (self.heads, -1)))
        return TextContext(embedding, keys, values)

    @torch.no_grad()
    def __call__(self, latents: torch.Tensor, timesteps: torch.Tensor, text: TextContext, *, first_frame: int,
                 cache: KVCache | None = None, chunk: ChunkSlots | None = None,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """The flow prediction (batch, channels, frames, height, width) for latents at per-frame timesteps."""
        model = self.model
        batch, _, frames, height, width = latents.shape
        _, patch_h, patch_w = self.patch
        grid = (height // patch_h, width // patch_w)
        x = model.patch_embedding(latents.to(self.device, self.dtype)).flatten(2).transpose(1, 2).contiguous()
        temb, modulation = self._time_embedding(timesteps.to(self.device).reshape(batch, frames), x.dtype)
        cos, sin = self.rotary.angles(first_frame, frames, grid, self.device)
        rows = chunk.token_index if cache is not None and chunk is not None else None
        attended = chunk.attended_tokens if chunk is not None else 0
        for layer, block in enumerate(model.blocks):
            cached = cache.buffer[layer] if rows is not None and cache is not None else None
            x = self.block(block, x, modulation, cos, sin, text.keys[layer], text.values[layer], cached, rows,
                           attended, mask, self.attention, self.heads)
        shift, scale = (model.scale_shift_table[:, None].float() + temb[:, :, None].float()).chunk(2, dim=2)
        x = (_per_frame(model.norm_out(x.float()), frames) * (1 + scale) + shift).flatten(1, 2).type_as(x)
        x = model.proj_out(x)
        x = x.reshape(batch, frames, *grid, 1, patch_h, patch_w, -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
        return x.flatten(6, 7).flatten(4, 5).flatten(2, 3)

    def _time_embedding(self, timesteps: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """(temb, the six modulations per block), per frame: (batch, frames, dim) and (batch, frames, 6, dim)."""
        embedder = self.model.condition_embedder
        batch, frames = timesteps.shape
        sinusoid = embedder.timesteps_proj(timesteps.reshape(-1).float())
        temb = embedder.time_embedder(sinusoid.to(embedder.time_embedder.linear_1.weight.dtype)).to(dtype)
        modulation = embedder.time_proj(embedder.act_fn(temb))
        return temb.reshape(batch, frames, -1), modulation.reshape(batch, frames, 6, -1)


def wan_block(block: Any, x: torch.Tensor, modulation: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
              text_keys: torch.Tensor, text_values: torch.Tensor, cached: torch.Tensor | None,
              rows: torch.Tensor | None, attended: int, mask: torch.Tensor | None, attention: Attention,
              heads: int) -> torch.Tensor:
    """One Wan block on the tokens of `frames` frames (a pure function of tensors, so torch.compile can reuse it).

    `cached` is this layer's (2, batch, rows, heads, head_dim) key/value cache: the chunk's keys and values go to
    `rows`, and its queries attend to the first `attended` rows. Without it, they attend to x itself under `mask`.
    """
    frames = modulation.shape[1]
    parts = block.scale_shift_table[None].float() + modulation.float()  # (batch, frames, 6, dim)
    shift, scale, gate, ffn_shift, ffn_scale, ffn_gate = parts.chunk(6, dim=2)
    # self-attention over the cache (or the given frames), with rotary positions
    attn = block.attn1
    hidden = (_per_frame(block.norm1(x.float()), frames) * (1 + scale) + shift).flatten(1, 2).type_as(x)
    q = rotate(attn.norm_q(attn.to_q(hidden)).unflatten(2, (heads, -1)), cos, sin)
    k = rotate(attn.norm_k(attn.to_k(hidden)).unflatten(2, (heads, -1)), cos, sin)
    v = attn.to_v(hidden).unflatten(2, (heads, -1))
    if cached is not None and rows is not None:
        cached[0].index_copy_(1, rows, k.to(cached.dtype))
        cached[1].index_copy_(1, rows, v.to(cached.dtype))
        k, v = cached[0, :, :attended].to(q.dtype), cached[1, :, :attended].to(q.dtype)
    out = attn.to_out[0](attention(q, k, v, mask).flatten(2).type_as(q))
    x = (_per_frame(x.float(), frames) + _per_frame(out.float(), frames) * gate).flatten(1, 2).type_as(x)
    # cross-attention to the prompt
    cross = block.attn2
    hidden = block.norm2(x.float()).type_as(x)
    q = cross.norm_q(cross.to_q(hidden)).unflatten(2, (heads, -1))
    x = x + cross.to_out[0](attention(q, text_keys, text_values).flatten(2).type_as(q))
    # feed-forward
    hidden = (_per_frame(block.norm3(x.float()), frames) * (1 + ffn_scale) + ffn_shift).flatten(1, 2).type_as(x)
    out = block.ffn(hidden)
    return (_per_frame(x.float(), frames) + _per_frame(out.float(), frames) * ffn_gate).flatten(1, 2).type_as(x)


def _per_frame(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(batch, tokens, dim) as (batch, frames, tokens per frame, dim)."""
    return x.unflatten(1, (frames, -1))
