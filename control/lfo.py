"""LFOs: sine, triangle, saw, square, random and exponential-decay waves, synced to the tempo or free in Hz."""
from __future__ import annotations

import math
import random
from typing import Literal

from pydantic import BaseModel, Field

Shape = Literal['sine', 'triangle', 'saw', 'square', 'random', 'exp_decay']
SHAPES: tuple[Shape, ...] = ('sine', 'triangle', 'saw', 'square', 'random', 'exp_decay')
DECAY = 0.15  # exp_decay: the pulse falls to 1/e after this fraction of a cycle
NAME_PATTERN = r'^[a-z0-9_-]{1,32}$'


class Lfo(BaseModel):
    """One low-frequency oscillator; the matrix reads it as source `lfo.<name>`, 0..1."""

    name: str = Field(pattern=NAME_PATTERN, description='letters, digits, - and _ (the source is lfo.<name>)')
    shape: Shape = 'sine'
    sync: bool = Field(default=True, description='follow the tempo (period in beats) or run free (rate in Hz)')
    beats: float = Field(default=4.0, gt=0, le=256, description='synced: beats per cycle (0.5, 1, 2, 4 = a bar...)')
    hz: float = Field(default=0.5, gt=0, le=50, description='free: cycles a second')
    phase: float = Field(default=0.0, ge=0, le=1, description='phase offset, as a fraction of a cycle')
    seed: int = Field(default=0, ge=0, le=2**31, description='random: which sequence of values')
    enabled: bool = True

    def position(self, seconds: float, beat: float) -> float:
        """Cycles since the start (fractional): from the beat when synced, from the time when free."""
        return (beat / self.beats if self.sync else seconds * self.hz) + self.phase

    def value(self, seconds: float, beat: float) -> float:
        """The wave's value, 0..1, at `seconds` on the engine's clock and `beat` on the tempo's."""
        return wave(self.shape, self.position(seconds, beat), self.seed)


def wave(shape: Shape, position: float, seed: int = 0) -> float:
    """A wave at `position` cycles, 0..1: every shape starts a cycle at its low point except sine (middle, rising),
    square (high half first) and exp_decay (a pulse at the start of each cycle)."""
    phase = position - math.floor(position)
    if shape == 'sine':
        return 0.5 + 0.5 * math.sin(2 * math.pi * phase)
    if shape == 'triangle':
        return 1.0 - abs(2.0 * phase - 1.0)
    if shape == 'saw':
        return phase
    if shape == 'square':
        return 1.0 if phase < 0.5 else 0.0
    if shape == 'random':  # sample and hold: one value per cycle, the same for the same seed and cycle
        return random.Random(seed * 1_000_003 + math.floor(position)).random()
    return math.exp(-phase / DECAY)
