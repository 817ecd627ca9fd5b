"""The self-attention cache of a stream: keys and values of the sink frames and of a rolling window of frames."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .rope import Rotary, rotate


@dataclass(slots=True)
class ChunkSlots:
    """Where the frames of one chunk go in the cache, and how many cached tokens its queries attend to."""

    positions: list[int]  # frame positions of the chunk
    slots: list[int]  # a cache slot (one frame each) per frame
    token_index: torch.Tensor  # the cache rows of the chunk's tokens
    attended_tokens: int  # the occupied rows (a prefix of the cache) once the chunk is in


class KVCache:
    """Keys (rotated) and values of up to `window` frames per layer: the first `sink` frames for ever, the rest rolling.

    Occupied slots are always a prefix of the cache, so a chunk attends to `keys[:, :attended_tokens]`: attention does
    not depend on the order of its keys, so a frame can take any slot. Memory is allocated once and never grows.
    """

    def __init__(self, *, layers: int, heads: int, head_dim: int, tokens_per_frame: int, window: int, sink: int,
                 device: torch.device, dtype: torch.dtype, batch: int = 1) -> None:
        self.window, self.sink, self.tokens_per_frame = window, sink, tokens_per_frame
        shape = (layers, 2, batch, window * tokens_per_frame, heads, head_dim)
        self.buffer = torch.zeros(shape, device=device, dtype=dtype)
        self.slot_positions: list[int | None] = [None] * window

    @property
    def nbytes(self) -> int:
        return self.buffer.numel() * self.buffer.element_size()

    @property
    def frames(self) -> list[int]:
        """Positions of the cached frames, oldest first."""
        return sorted(p for p in self.slot_positions if p is not None)

    def plan(self, positions: Sequence[int]) -> ChunkSlots:
        """Slots for a chunk's frames: free slots first, then those of the oldest frames beyond the sink."""
        occupied = [s for s, p in enumerate(self.slot_positions) if p is not None]
        free = [s for s, p in enumerate(self.slot_positions) if p is None]
        evictable = sorted((s for s in occupied if s >= self.sink), key=lambda s: self.slot_positions[s] or 0)
        chosen = (free + evictable)[:len(positions)]
        if len(chosen) < len(positions):
            raise ValueError(f'a chunk of {len(positions)} frames does not fit a window of {self.window} frames')
        tokens = self.tokens_per_frame
        device = self.buffer.device
        index = torch.cat([torch.arange(s * tokens, (s + 1) * tokens, device=device) for s in chosen])
        attended = len(set(occupied) | set(chosen)) * tokens
        return ChunkSlots(list(positions), chosen, index, attended)

    def commit(self, chunk: ChunkSlots) -> None:
        """Record the chunk's frames as cached (after its last pass wrote their clean keys and values)."""
        for slot, position in zip(chunk.slots, chunk.positions, strict=True):
            self.slot_positions[slot] = position

    def reset(self) -> None:
        """Forget every frame (the buffer is reused as it is)."""
        self.slot_positions = [None] * self.window

    def keep_sink_only(self) -> None:
        """Forget every frame beyond the sink (before the recent frames are computed again for a new prompt)."""
        self.slot_positions = [p if s < self.sink else None for s, p in enumerate(self.slot_positions)]

    def rebase(self, frames: int, rotary: Rotary) -> None:
        """Move the cached frames beyond the sink `frames` positions back in time (their keys rotate with them)."""
        cos, sin = rotary.time_shift(-frames, self.buffer.device)
        for slot, position in enumerate(self.slot_positions):
            if position is None or slot < self.sink:
                continue
            rows = slice(slot * self.tokens_per_frame, (slot + 1) * self.tokens_per_frame)
            keys = self.buffer[:, 0, :, rows]
            keys.copy_(rotate(keys, cos, sin))
            self.slot_positions[slot] = position - frames
