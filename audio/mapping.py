"""Mappings from features to parameters: range, curve, attack/release smoothing, threshold and hysteresis."""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from pipeline.catalog import modulatable

from .features import FEATURE_NAMES

Curve = Literal['linear', 'exponential', 'logarithmic', 'stepped', 'smooth']
FeatureName = Literal['energy', 'bass', 'mid', 'treble', 'centroid_hz', 'flatness', 'onset', 'beat', 'bpm',
                      'confidence']
ParameterName = Literal['noise_scale', 'kv_cache_attention_bias', 'vace_context_scale']
PARAMETER_RANGES = modulatable(None)  # the common modulatable controls, ranges from the parameter catalog
assert set(FeatureName.__args__) == set(FEATURE_NAMES)  # type: ignore[attr-defined]
assert set(ParameterName.__args__) == set(PARAMETER_RANGES)  # type: ignore[attr-defined]


class Mapping(BaseModel):
    """One feature driving one numeric parameter; several mappings to one parameter add up."""

    feature: FeatureName = 'energy'
    parameter: ParameterName = 'noise_scale'
    in_min: float = Field(default=0.0, description='feature value that gives out_min')
    in_max: float = Field(default=1.0, description='feature value that gives out_max')
    out_min: float = Field(default=0.0, ge=-2, le=2)
    out_max: float = Field(default=1.0, ge=-2, le=2)
    curve: Curve = 'linear'
    attack: float = Field(default=0.05, ge=0, le=10, description='seconds to follow a rise (time constant)')
    release: float = Field(default=0.3, ge=0, le=10, description='seconds to follow a fall (time constant)')
    threshold: float | None = Field(default=None, description='below this the feature reads as in_min (a gate)')
    hysteresis: float = Field(default=0.0, ge=0, description='the gate closes only below threshold - hysteresis')
    enabled: bool = True

    @model_validator(mode='after')
    def _input_range(self) -> Mapping:
        if self.in_max == self.in_min:
            raise ValueError('in_min and in_max must differ')
        return self


class MappingState:
    """The running state of one mapping: its gate and its smoothed output."""

    __slots__ = ('mapping', 'open', 'value')

    def __init__(self, mapping: Mapping, start: float | None = None) -> None:
        self.mapping = mapping
        self.open = mapping.threshold is None
        self.value = mapping.out_min if start is None else start

    def step(self, x: float, dt: float) -> float:
        """The smoothed output after one tick of `dt` seconds with feature value `x`."""
        target = self.target(x)
        tau = self.mapping.attack if target > self.value else self.mapping.release
        self.value = smooth(self.value, target, tau, dt)
        return self.value

    def target(self, x: float) -> float:
        """The unsmoothed output for feature value `x` (the gate is updated)."""
        m = self.mapping
        if m.threshold is not None:
            if self.open and x < m.threshold - m.hysteresis:
                self.open = False
            elif not self.open and x >= m.threshold:
                self.open = True
        if not self.open:
            return m.out_min
        position = min(1.0, max(0.0, (x - m.in_min) / (m.in_max - m.in_min)))
        return m.out_min + (m.out_max - m.out_min) * shape(position, m.curve)


def shape(x: float, curve: Curve) -> float:
    """A 0..1 value bent by a curve (Soundscape's four, plus smoothstep)."""
    if curve == 'exponential':
        return x * x
    if curve == 'logarithmic':
        return math.sqrt(x)
    if curve == 'stepped':
        return min(1.0, math.floor(4 * x) / 4)
    if curve == 'smooth':
        return x * x * (3 - 2 * x)
    return x


def smooth(current: float, target: float, tau: float, dt: float) -> float:
    """One step of a one-pole filter with time constant `tau` seconds (0 jumps straight to the target)."""
    if tau <= 0:
        return target
    return current + (target - current) * (1.0 - math.exp(-dt / tau))


class BandState(BaseModel):
    """One state of a descriptor: the words it adds, and its entry/exit thresholds (the first state needs none)."""

    words: str = ''
    enter: float = Field(default=0.0, description='the feature rises above this to reach this state')
    leave: float = Field(default=0.0, description='the feature falls below this to go back one state')


class Descriptor(BaseModel):
    """Words appended to the prompt by bands of a feature, low to high, switched with hysteresis."""

    name: str = Field(max_length=40)
    feature: FeatureName
    states: list[BandState] = Field(min_length=1, max_length=8)
    smoothing: float = Field(default=0.5, ge=0, le=10, description='seconds the feature is averaged over first')
    min_confidence: float = Field(default=0.0, ge=0, le=1, description='hold the state while tempo confidence is lower')
    enabled: bool = True

    @model_validator(mode='after')
    def _hysteresis(self) -> Descriptor:
        for state in self.states[1:]:
            if state.leave > state.enter:
                raise ValueError(f'descriptor {self.name}: leave ({state.leave}) must not exceed enter ({state.enter})')
        return self


class DescriptorState:
    """Which band a descriptor is in."""

    __slots__ = ('descriptor', 'index', 'level')

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.index = 0
        self.level = 0.0

    def step(self, x: float, dt: float, confidence: float = 1.0) -> str:
        """The words after a tick with feature value `x`: the averaged level moves up or down past the thresholds."""
        self.level = x = smooth(self.level, x, self.descriptor.smoothing, dt)
        states = self.descriptor.states
        if confidence >= self.descriptor.min_confidence:
            while self.index + 1 < len(states) and x > states[self.index + 1].enter:
                self.index += 1
            while self.index > 0 and x < states[self.index].leave:
                self.index -= 1
        return states[self.index].words
