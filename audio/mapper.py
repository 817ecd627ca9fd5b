"""The mapper: features in, one Scope `parameters` message out per tick, holding only what changed."""
from __future__ import annotations

import math
from collections import deque
from typing import Any

from pipeline.prompts import normalize

from .features import Features
from .mapping import PARAMETER_RANGES, DescriptorState, MappingState, smooth
from .presets import Preset

Prompts = list[dict[str, Any]]
DEFAULT_PROMPT = 'a dreamy nebula of soft light'


class ParameterMapper:
    """Applies a preset to features: numeric mappings, prompt words with hysteresis, spikes, cooldowns."""

    def __init__(self, preset: Preset, current: dict[str, Any], previous: ParameterMapper | None = None,
                 authored: Any = None) -> None:
        """Start from the session's `current` values, or take over from the `previous` mapper of the same session.

        `authored`: the session's prompts as their author set them (without audio words), when the session knows."""
        self.preset = preset
        self.mappings = [MappingState(m) for m in preset.mappings if m.enabled]
        self.descriptors = [DescriptorState(d) for d in preset.descriptors if d.enabled]
        session_prompts = _prompts(current.get('prompts'))
        # the prompts before any audio words
        original = previous.original if previous else (_prompts(authored) or session_prompts)
        self.original: Prompts = original
        self.base: Prompts = [{'text': preset.base_prompt, 'weight': 1.0}] if preset.base_prompt else original
        self.start_values: dict[str, Any] = dict(previous.start_values) if previous else {}
        self.start_values.update({m.parameter: current[m.parameter] for m in preset.mappings
                                  if m.parameter in current and m.parameter not in self.start_values})
        self.shown: Prompts = session_prompts  # the prompts the session holds (as far as this mapper knows)
        self.sent: dict[str, float] = {}
        self.uses_prompts = bool(self.descriptors) or bool(preset.spikes and preset.spikes.enabled) or bool(
            preset.base_prompt)
        self.last_prompt_change = -math.inf
        self.last_spike = -math.inf
        self.spike_until = -math.inf
        self.spike_count = 0
        self.surge = Surge()
        self.words: list[str] = []
        self.transitions = 0
        self.numeric = True  # False: the modulation matrix evaluates the numeric mappings (as routes)
        # a preset that leaves prompts alone takes back the words of the one before it
        self.clear_words = not self.uses_prompts and normalize(self.shown) != normalize(self.original)

    def step(self, features: Features, now: float, dt: float, session_prompts: Any = None,
             authored: Any = None) -> dict[str, Any]:
        """The message for this tick (empty when nothing changed enough to send).

        `session_prompts`: what the session renders now; `authored`: its prompts without audio words."""
        message: dict[str, Any] = {}
        if self.numeric:
            self._numeric(features, dt, message)
        if self.clear_words and self.original:
            message['transition'] = self._transition(self.original)
            self.shown, self.clear_words = self.original, False
        if self.uses_prompts:
            if session_prompts is not None:
                self._follow(_prompts(session_prompts), _prompts(authored))
            self._prompts(features, now, dt, message)
        return message

    def restore(self) -> dict[str, Any]:
        """The message that undoes this mapper's work: base prompts back, parameters to where they started."""
        message: dict[str, Any] = dict(self.start_values)
        if normalize(self.shown) != normalize(self.original) and self.original:
            message['transition'] = self._transition(self.original)
        return message

    def _numeric(self, features: Features, dt: float, message: dict[str, Any]) -> None:
        totals: dict[str, float] = {}
        for state in self.mappings:
            parameter: str = state.mapping.parameter
            totals[parameter] = totals.get(parameter, 0.0) + state.step(features.value(state.mapping.feature), dt)
        for parameter, total in totals.items():
            low, high = PARAMETER_RANGES[parameter]
            value = round(min(high, max(low, total)), 4)
            last = self.sent.get(parameter)
            if last is None or abs(value - last) >= self.preset.deadband or (value != last and value in (low, high)):
                message[parameter] = value
                self.sent[parameter] = value

    def _follow(self, session_prompts: Prompts, authored: Prompts) -> None:
        """Someone else changed the prompts: theirs (without audio words) become the base the words are added to."""
        if session_prompts and normalize(session_prompts) != normalize(self.shown):
            self.shown = session_prompts
            self.base = self.original = authored or session_prompts

    def _prompts(self, features: Features, now: float, dt: float, message: dict[str, Any]) -> None:
        preset = self.preset
        self.words = [words for state in self.descriptors
                      if (words := state.step(features.value(state.descriptor.feature), dt, features.confidence))]
        reactive = self._with_words(self.base, self.words)
        ready = now - self.last_prompt_change >= preset.prompt_cooldown
        spikes = preset.spikes
        if spikes and spikes.enabled and spikes.variations:
            rise = self.surge.step(features.value(spikes.feature), now, dt, spikes.smoothing, spikes.window)
            if rise > spikes.rise and ready and now - self.last_spike >= spikes.cooldown:
                self.last_spike, self.spike_until = now, now + spikes.hold
                self.spike_count += 1
        wanted = reactive
        if spikes and now < self.spike_until and reactive:
            variation = spikes.variations[(self.spike_count - 1) % len(spikes.variations)]
            wanted = [{'text': variation, 'weight': spikes.weight},
                      {'text': reactive[0]['text'], 'weight': round(1.0 - spikes.weight, 4)}]
        if wanted and ready and normalize(wanted) != normalize(self.shown):
            message['transition'] = self._transition(wanted)
            self.shown = wanted
            self.last_prompt_change = now
            self.transitions += 1

    def _transition(self, prompts: Prompts) -> dict[str, Any]:
        return {'target_prompts': prompts, 'num_steps': self.preset.transition_steps,
                'temporal_interpolation_method': self.preset.interpolation}

    @staticmethod
    def _with_words(base: Prompts, words: list[str]) -> Prompts:
        """The base prompts with the words added to the first one."""
        if not base:
            base = [{'text': DEFAULT_PROMPT, 'weight': 1.0}]
        first = base[0]
        text = ', '.join([str(first['text']), *words]) if words else str(first['text'])
        return [{'text': text, 'weight': float(first.get('weight', 1.0))}, *base[1:]]


class Surge:
    """How far an averaged feature rose above its low point of the last few moments (a steady beat stays flat)."""

    def __init__(self) -> None:
        self.level = 0.0
        self.recent: deque[tuple[float, float]] = deque()

    def step(self, x: float, now: float, dt: float, smoothing: float, window: float) -> float:
        self.level = smooth(self.level, x, smoothing, dt)
        self.recent.append((now, self.level))
        while self.recent[0][0] < now - window:
            self.recent.popleft()
        return self.level - min(level for _, level in self.recent)


def _prompts(value: Any) -> Prompts:
    """Prompts as a list of {text, weight} dicts (a plain string counts as one prompt)."""
    if isinstance(value, str):
        return [{'text': value, 'weight': 1.0}]
    if not isinstance(value, list):
        return []
    result: Prompts = []
    for item in value:
        if isinstance(item, dict) and item.get('text'):
            result.append({'text': str(item['text']), 'weight': float(item.get('weight', 1.0))})
        elif isinstance(item, str) and item:
            result.append({'text': item, 'weight': 1.0})
    return result
