"""Matrix routes (any source to any target, with range, curve, smoothing, gate) and the targets a session offers."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from audio.mapping import Curve, Mapping
from pipeline.catalog import modulatable
from pipeline.protocol import PipelineInfo

from .tempo import QuantizeMode

NAME = r'^[A-Za-z0-9_.:/-]{1,120}$'
TargetKind = Literal['parameter', 'prompt_weight', 'trigger']
AUDIO_ORIGIN = 'audio-preset'


class Route(BaseModel):
    """One source driving one target; routes to the same target add up (then clamp), one source may feed many."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:8], pattern=r'^[A-Za-z0-9_-]{1,40}$')
    source: str = Field(pattern=NAME, description='audio.energy, tempo.beat, lfo.<name>, osc.<name>, '
                                                  'midi.cc.<channel>.<number>, xy.x, ...')
    target: str = Field(pattern=NAME, description='a modulatable parameter (noise_scale, ...), prompt_weight.<i>, '
                                                  'trigger.reset_cache, trigger.look.<name>, trigger.transition.<name>')
    in_min: float = Field(default=0.0, ge=-1e6, le=1e6, description='source value that gives out_min')
    in_max: float = Field(default=1.0, ge=-1e6, le=1e6, description='source value that gives out_max')
    out_min: float = Field(default=0.0, ge=-1e6, le=1e6)
    out_max: float = Field(default=1.0, ge=-1e6, le=1e6)
    curve: Curve = 'linear'
    attack: float = Field(default=0.0, ge=0, le=10, description='seconds to follow a rise (time constant)')
    release: float = Field(default=0.0, ge=0, le=10, description='seconds to follow a fall (time constant)')
    threshold: float | None = Field(default=None, ge=-1e6, le=1e6, description='below this the source reads as in_min')
    hysteresis: float = Field(default=0.0, ge=0, le=1e6, description='the gate closes only below threshold - this')
    quantize: QuantizeMode = Field(default='none', description='triggers: fire on the next beat, bar, 2 or 4 bars')
    enabled: bool = True
    origin: str | None = Field(default=None, description=f"'{AUDIO_ORIGIN}': a mapping of the running audio preset")

    @model_validator(mode='after')
    def _input_range(self) -> Route:
        if self.in_max == self.in_min:
            raise ValueError('in_min and in_max must differ')
        return self

    @classmethod
    def from_mapping(cls, mapping: Mapping, index: int) -> Route:
        """An audio preset's mapping as the route it is: an audio feature driving a parameter."""
        return cls(id=f'audio-{index}', source=f'audio.{mapping.feature}', target=mapping.parameter,
                   in_min=mapping.in_min, in_max=mapping.in_max, out_min=mapping.out_min, out_max=mapping.out_max,
                   curve=mapping.curve, attack=mapping.attack, release=mapping.release, threshold=mapping.threshold,
                   hysteresis=mapping.hysteresis, enabled=mapping.enabled, origin=AUDIO_ORIGIN)


@dataclass(frozen=True, slots=True)
class Target:
    """Something routes can drive, with the range its total is clamped to."""

    key: str
    label: str
    kind: TargetKind
    low: float = 0.0
    high: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {'key': self.key, 'label': self.label, 'kind': self.kind, 'min': self.low, 'max': self.high}


def session_targets(info: PipelineInfo | None, prompt_count: int, looks: Iterable[str]) -> dict[str, Target]:
    """The targets of a session now: its pipeline's modulatable parameters (ranges from the catalog), the weight of
    each of its prompts, and triggers (cache reset, recalling a look at once or as a transition)."""
    targets = {key: Target(key, key.replace('_', ' '), 'parameter', low, high)
               for key, (low, high) in modulatable(info).items()}
    for index in range(prompt_count):
        key = f'prompt_weight.{index}'
        targets[key] = Target(key, f'weight of prompt {index + 1}', 'prompt_weight', 0.0, 1.0)
    targets['trigger.reset_cache'] = Target('trigger.reset_cache', 'reset the cache', 'trigger')
    for name in looks:
        targets[f'trigger.look.{name}'] = Target(f'trigger.look.{name}', f'recall look {name}', 'trigger')
        targets[f'trigger.transition.{name}'] = Target(f'trigger.transition.{name}', f'transition to look {name}',
                                                       'trigger')
    return targets
