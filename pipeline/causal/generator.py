"""One stream of latent chunks: the denoising loop per chunk, its KV cache, noise, and LongLive's recache."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch

from .config import CausalConfig, Geometry
from .kv_cache import KVCache
from .schedule import FlowSchedule
from .transformer import CausalWan, TextContext

CONTEXT_TIMESTEP = 0.0  # the cache-update pass runs on the clean chunk


@dataclass(slots=True)
class CachedChunk:
    """A generated chunk's clean latents and where it starts (kept to compute its cache again for a new prompt)."""

    first_frame: int
    latents: torch.Tensor


class CausalGenerator:
    """Generates latent chunks one after another; each attends to the sink frames and the recent window."""

    def __init__(self, model: CausalWan, config: CausalConfig, geometry: Geometry, *, seed: int = 42,
                 cache_dtype: torch.dtype | None = None) -> None:
        self.model, self.config, self.geometry = model, config, geometry
        self.schedule = FlowSchedule(config.timestep_shift, config.warp_steps)
        self.cache = KVCache(layers=model.layers, heads=model.heads, head_dim=model.head_dim,
                             tokens_per_frame=geometry.tokens_per_frame, window=config.window_frames,
                             sink=config.sink_frames, device=model.device, dtype=cache_dtype or model.dtype)
        self.recent: deque[CachedChunk] = deque(maxlen=config.recent_frames // config.chunk_frames)
        self.seed = seed
        self.chunks = 0  # chunks generated since the last reset
        self.position = 0  # frame position of the next chunk
        self.text: TextContext | None = None

    def reset(self, seed: int | None = None) -> None:
        """Start a new video: an empty cache, frame 0, and the noise of `seed`."""
        self.cache.reset()
        self.recent.clear()
        self.chunks = self.position = 0
        if seed is not None:
            self.seed = seed

    @torch.no_grad()
    def next_chunk(self, text: TextContext, steps: list[int], *, video: torch.Tensor | None = None,
                   noise_scale: float = 0.7) -> torch.Tensor:
        """The clean latents (batch, channels, chunk frames, h, w) of the next chunk.

        Text-to-video starts from noise; video-to-video from the encoded input chunk noised to `noise_scale`.
        Each step predicts the clean chunk and re-noises it to the next step's level with fresh noise; a last
        pass on the clean chunk writes its keys and values into the cache.
        """
        frames = self.config.chunk_frames
        self._rebase_if_needed(frames)
        first = self.position
        chunk = self.cache.plan(range(first, first + frames))
        generator = torch.Generator(self.model.device).manual_seed(_chunk_seed(self.seed, self.chunks))
        shape = self.geometry.latent_shape(frames)
        noise = torch.randn(shape, generator=generator, device=self.model.device, dtype=torch.float32)
        timesteps = self.schedule.timesteps(steps, noise_scale if video is not None else None)
        sigma = self.schedule.sigma(timesteps[0])
        x = noise if video is None else (1 - sigma) * video.to(noise) + sigma * noise
        clean = x
        for index, timestep in enumerate(timesteps):
            flow = self.model(x, self._timesteps(timestep), text, first_frame=first, cache=self.cache,
                              chunk=chunk).float()
            clean = x - self.schedule.sigma(timestep) * flow
            if index + 1 < len(timesteps):
                following = self.schedule.sigma(timesteps[index + 1])
                fresh = torch.randn(shape, generator=generator, device=self.model.device, dtype=torch.float32)
                x = (1 - following) * clean + following * fresh
        self.model(clean, self._timesteps(CONTEXT_TIMESTEP), text, first_frame=first, cache=self.cache, chunk=chunk)
        self.cache.commit(chunk)
        if first >= self.config.sink_frames:
            self.recent.append(CachedChunk(first, clean))
        self.text = text
        self.chunks += 1
        self.position += frames
        return clean

    @torch.no_grad()
    def recache(self, text: TextContext) -> None:
        """Compute the cache of the recent frames again under a new prompt (LongLive's KV recache).

        The sink keeps its frames; the recent chunks run again, oldest first, as clean chunks conditioned on the new
        prompt, so the next chunk follows the new prompt at once and stays coherent with what was shown.
        """
        self.text = text
        if not self.recent:
            return
        self.cache.keep_sink_only()
        for cached in self.recent:
            frames = cached.latents.shape[2]
            chunk = self.cache.plan(range(cached.first_frame, cached.first_frame + frames))
            self.model(cached.latents, self._timesteps(CONTEXT_TIMESTEP, frames), text,
                       first_frame=cached.first_frame, cache=self.cache, chunk=chunk)
            self.cache.commit(chunk)

    def _timesteps(self, timestep: float, frames: int | None = None) -> torch.Tensor:
        """One timestep for every frame of a chunk, made on the model's device (no host-to-device copy)."""
        return torch.full((1, frames or self.config.chunk_frames), timestep, device=self.model.device)

    def _rebase_if_needed(self, frames: int) -> None:
        """Before positions outgrow the rotary table, move the frames beyond the sink back to follow it."""
        if self.position + frames <= self.config.max_position:
            return
        recent = [p for p in self.cache.frames if p >= self.config.sink_frames]
        shift = (min(recent) if recent else self.position) - self.config.sink_frames
        self.cache.rebase(shift, self.model.rotary)
        for cached in self.recent:
            cached.first_frame -= shift
        self.position -= shift


def _chunk_seed(seed: int, chunk: int) -> int:
    """A seed per chunk, so a chunk's noise depends only on the stream's seed and the chunk's index."""
    return (seed * 1_000_003 + chunk * 7_919) % (2**63 - 1)
