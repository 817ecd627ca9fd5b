"""Wan's 3D rotary position embedding (frame, row, column) for any frame position, and shifting cached keys."""
from __future__ import annotations

from typing import Any

import torch


class Rotary:
    """Rotary angles split over time, height and width as in Wan (head_dim - 4*(head_dim//6), then 2x 2*(//6))."""

    def __init__(self, head_dim: int, theta: float = 10000.0) -> None:
        side = 2 * (head_dim // 6)
        self.dims = (head_dim - 2 * side, side, side)
        self.inverse = [1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64, device='cpu') / d)
                        for d in self.dims]
        self._grids: dict[tuple[int, int, str], torch.Tensor] = {}
        self._last: tuple[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor]] | None = None  # a chunk's 5 passes

    def angles(self, first_frame: int, frames: int, grid: tuple[int, int], device: torch.device,
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos, sin), each (tokens, 1, head_dim // 2), for frames `first_frame...` over a token grid."""
        key = (first_frame, frames, grid, str(device))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        rows, columns = grid
        spatial = self._spatial(grid, device)  # (rows * columns, h + w pairs)
        positions = torch.arange(first_frame, first_frame + frames, dtype=torch.float64, device=device)
        time = torch.outer(positions, self.inverse[0].to(device))  # (frames, t pairs)
        angles = torch.cat([time[:, None, :].expand(frames, rows * columns, -1),
                            spatial[None].expand(frames, -1, -1)], dim=-1).reshape(frames * rows * columns, 1, -1)
        result = angles.cos().float(), angles.sin().float()
        self._last = key, result
        return result

    def time_shift(self, frames: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos, sin), each (1, head_dim // 2), that move a key by `frames` positions in time (rows, columns kept)."""
        time = frames * self.inverse[0].to(device)
        rest = torch.zeros(sum(self.dims[1:]) // 2, dtype=torch.float64, device=device)
        angles = torch.cat([time, rest])[None]
        return angles.cos().float(), angles.sin().float()

    def _spatial(self, grid: tuple[int, int], device: torch.device) -> torch.Tensor:
        key = (*grid, str(device))
        if key not in self._grids:
            rows, columns = grid
            h = torch.outer(torch.arange(rows, dtype=torch.float64, device='cpu'), self.inverse[1])
            w = torch.outer(torch.arange(columns, dtype=torch.float64, device='cpu'), self.inverse[2])
            spatial = torch.cat([h[:, None, :].expand(rows, columns, -1), w[None, :, :].expand(rows, columns, -1)],
                                dim=-1)
            self._grids[key] = spatial.reshape(rows * columns, -1).to(device)
        return self._grids[key]


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the channel pairs (0,1), (2,3), ... of x (..., tokens, heads, head_dim) by the given angles."""
    pairs = x.float().unflatten(-1, (-1, 2))
    first, second = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack([first * cos - second * sin, first * sin + second * cos], dim=-1)
    return rotated.flatten(-2).type_as(x)
