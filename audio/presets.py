"""Audio presets: a named set of mappings, prompt descriptors and spike rules, and the built-in ones."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .mapping import BandState, Descriptor, FeatureName, Mapping

MAX_NAME = 64


class SpikeRule(BaseModel):
    """A sudden rise of a feature blends a variation prompt in for a moment (a prompt transition), with a cooldown."""

    feature: FeatureName = 'energy'
    smoothing: float = Field(default=0.2, ge=0, le=10, description='seconds the feature is averaged over first')
    window: float = Field(default=0.6, gt=0, le=10, description='seconds looked back for the low point')
    rise: float = Field(default=0.3, gt=0, description='rise of the averaged feature above its low point in the '
                                                       'window that counts as a spike (a steady beat does not)')
    cooldown: float = Field(default=2.2, ge=0, le=60, description='seconds between two spikes')
    hold: float = Field(default=1.5, ge=0, le=60, description='seconds the variation stays before the prompt returns')
    weight: float = Field(default=0.6, gt=0, le=1, description='weight of the variation prompt in the blend')
    variations: list[str] = Field(default_factory=list, max_length=16, description='prompts used in turn')
    enabled: bool = True


class Preset(BaseModel):
    """Everything that turns features into parameters; JSON-serialisable, saved as `<name>.json`."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default='', max_length=500)
    mappings: list[Mapping] = Field(default_factory=list, max_length=32)
    descriptors: list[Descriptor] = Field(default_factory=list, max_length=8)
    spikes: SpikeRule | None = None
    base_prompt: str | None = Field(default=None, max_length=1000,
                                    description="prompt the words are added to; None: the session's prompt")
    transition_steps: int = Field(default=8, ge=0, le=100, description='pipeline calls a prompt change blends over')
    interpolation: Literal['linear', 'slerp'] = 'slerp'
    prompt_cooldown: float = Field(default=0.9, ge=0, le=60, description='least seconds between two prompt changes')
    deadband: float = Field(default=0.004, ge=0, le=1, description='smallest parameter change worth sending')


def soundscape() -> Preset:
    """Modelled on MetaDJ Soundscape's mapping engine, with the centroid in Hz (Soundscape used bin numbers)."""
    return Preset(
        name='soundscape',
        description="MetaDJ Soundscape's engine: energy drives noise_scale, bands of energy, brightness, texture and "
                    'tempo add words to the prompt (with hysteresis), energy spikes blend in a variation prompt.',
        mappings=[
            Mapping(feature='energy', parameter='noise_scale', out_min=0.48, out_max=0.68, attack=0.09, release=0.09),
            Mapping(feature='beat', parameter='noise_scale', out_min=0.0, out_max=0.06, attack=0.0, release=0.15),
        ],
        descriptors=[
            Descriptor(name='intensity', feature='energy', smoothing=0.5, states=[
                BandState(words='calm atmosphere, gentle flow'),
                BandState(words='flowing motion', enter=0.30, leave=0.20),
                BandState(words='energetic, vivid motion', enter=0.55, leave=0.45),
                BandState(words='explosive intensity, surging power', enter=0.80, leave=0.70)]),
            # Soundscape's brightness bands (0.3/0.2 and 0.75/0.65 of 3 kHz), on a centroid that really is in Hz
            Descriptor(name='brightness', feature='centroid_hz', smoothing=1.0, states=[
                BandState(words='dark, deep shadows'),
                BandState(words='balanced light', enter=900.0, leave=600.0),
                BandState(words='radiant, luminous glow', enter=2250.0, leave=1950.0)]),
            Descriptor(name='texture', feature='flatness', smoothing=1.0, states=[  # Soundscape's bands, flatness / 0.5
                BandState(words='smooth surfaces'),
                BandState(words='granular texture', enter=0.19, leave=0.14),
                BandState(words='crystalline, shimmering detail', enter=0.385, leave=0.335)]),
            Descriptor(name='tempo', feature='bpm', min_confidence=0.45, smoothing=0.0, states=[
                BandState(words='slow drift'),
                BandState(words='driving rhythm', enter=100.0, leave=92.0),
                BandState(words='blitz speed, rapid cuts', enter=146.0, leave=136.0)]),
        ],
        spikes=SpikeRule(feature='energy', rise=0.3, cooldown=2.2, hold=1.5, weight=0.6, variations=[
            'a burst of prismatic light, shattering crystal shards', 'a shockwave of glowing particles, lens flare']),
    )


def beat_pulse() -> Preset:
    """Bass sets the turbulence, every beat kicks it up and lets it fall back; the prompt is left alone."""
    return Preset(
        name='beat-pulse',
        description='The bass sets noise_scale, every detected beat adds a short pulse that decays in 120 ms, '
                    'and onsets add a little more. Prompts are not touched.',
        mappings=[
            Mapping(feature='bass', parameter='noise_scale', out_min=0.3, out_max=0.5, attack=0.03, release=0.25),
            Mapping(feature='beat', parameter='noise_scale', out_min=0.0, out_max=0.4, attack=0.0, release=0.12),
            Mapping(feature='onset', parameter='noise_scale', out_min=0.0, out_max=0.1, attack=0.0, release=0.1,
                    threshold=0.5, hysteresis=0.2),
        ],
        transition_steps=4,
    )


BUILTIN: dict[str, Preset] = {preset.name: preset for preset in (soundscape(), beat_pulse())}

