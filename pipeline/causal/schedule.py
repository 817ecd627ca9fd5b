"""The flow-matching noise schedule: denoising steps (1000 = pure noise) to model timesteps and noise levels."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlowSchedule:
    """Wan's shifted flow-matching grid; a timestep t has noise level sigma = t / 1000."""

    shift: float = 5.0
    warp: bool = True

    def timestep(self, step: float) -> float:
        """The model timestep of a denoising step: warped through the shifted grid, or taken as it is."""
        s = min(max(float(step), 0.0), 1000.0) / 1000.0
        if self.warp:
            s = self.shift * s / (1 + (self.shift - 1) * s)
        return s * 1000.0

    @staticmethod
    def sigma(timestep: float) -> float:
        """The noise level of a timestep: x_t = (1 - sigma) x_0 + sigma noise."""
        return timestep / 1000.0

    def timesteps(self, steps: list[int], noise_scale: float | None = None) -> list[float]:
        """The timesteps of a chunk: every step, or for video input the steps below `noise_scale` (its first)."""
        ordered = sorted({int(s) for s in steps if 0 < int(s) <= 1000}, reverse=True) or [1000]
        if noise_scale is None:
            return [self.timestep(s) for s in ordered]
        start = min(max(noise_scale, 0.01), 1.0) * 1000.0
        return [self.timestep(start)] + [self.timestep(s) for s in ordered if s < start]
