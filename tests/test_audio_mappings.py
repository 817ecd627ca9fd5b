"""Mappings and presets: smoothing, curves, gates with hysteresis, prompt words, spikes and cooldowns, saving."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from audio.features import Features
from audio.mapper import ParameterMapper
from audio.mapping import BandState, Descriptor, DescriptorState, Mapping, MappingState, shape
from audio.presets import BUILTIN, Preset, SpikeRule
from pipeline.parameters import Parameters
from services.audio import AudioService
from services.presets import PresetError, preset_key

DT = 1 / 30
BASE = {'prompts': [{'text': 'a quiet forest', 'weight': 1.0}], 'noise_scale': 0.7}


def run(mapper: ParameterMapper, levels: list[float], start: float = 0.0, **extra: Any) -> list[dict[str, Any]]:
    """Messages for a sequence of energy levels, one tick each."""
    return [mapper.step(Features(energy=level, **extra), start + i * DT, DT) for i, level in enumerate(levels)]


def test_attack_and_release_smooth_a_step() -> None:
    state = MappingState(Mapping(feature='energy', out_min=0.0, out_max=1.0, attack=0.1, release=0.5))
    rising = [state.step(1.0, DT) for _ in range(6)]  # 0.2 s: two attack time constants
    assert rising == sorted(rising) and 0.8 < rising[-1] < 0.9
    falling = [state.step(0.0, DT) for _ in range(15)]  # 0.5 s: one release time constant
    assert falling == sorted(falling, reverse=True) and 0.25 < falling[-1] < 0.4
    instant = MappingState(Mapping(attack=0, release=0))
    assert instant.step(0.7, DT) == pytest.approx(0.7) and instant.step(0.1, DT) == pytest.approx(0.1)


def test_range_and_curves() -> None:
    mapping = Mapping(in_min=0.2, in_max=0.6, out_min=0.4, out_max=0.8, curve='exponential', attack=0, release=0)
    state = MappingState(mapping)
    assert state.target(0.0) == pytest.approx(0.4) and state.target(1.0) == pytest.approx(0.8)
    assert state.target(0.4) == pytest.approx(0.4 + 0.4 * 0.25)
    assert shape(0.25, 'logarithmic') == pytest.approx(0.5) and shape(0.6, 'stepped') == 0.5
    with pytest.raises(ValidationError):
        Mapping(in_min=0.5, in_max=0.5)
    with pytest.raises(ValidationError):
        Mapping(parameter='paused')  # type: ignore[arg-type]


def test_a_threshold_gate_has_hysteresis() -> None:
    state = MappingState(Mapping(threshold=0.5, hysteresis=0.2, out_min=0, out_max=1, attack=0, release=0))
    outputs = [state.target(x) > 0 for x in (0.45, 0.55, 0.4, 0.31, 0.29, 0.45, 0.5)]
    assert outputs == [False, True, True, True, False, False, True]


def test_descriptor_bands_switch_with_hysteresis_one_band_at_a_time() -> None:
    descriptor = Descriptor(name='intensity', feature='energy', smoothing=0, states=[
        BandState(words='calm'), BandState(words='flowing', enter=0.3, leave=0.2),
        BandState(words='wild', enter=0.55, leave=0.45)])
    state = DescriptorState(descriptor)
    words = [state.step(x, DT) for x in (0.25, 0.31, 0.25, 0.21, 0.19, 0.9, 0.5, 0.46, 0.44)]
    assert words == ['calm', 'flowing', 'flowing', 'flowing', 'calm', 'wild', 'wild', 'wild', 'flowing']
    with pytest.raises(ValidationError):
        Descriptor(name='bad', feature='energy', states=[BandState(), BandState(enter=0.2, leave=0.3)])


def test_tempo_words_wait_for_a_confident_tempo() -> None:
    descriptor = Descriptor(name='tempo', feature='bpm', smoothing=0, min_confidence=0.45, states=[
        BandState(words='drift'), BandState(words='drive', enter=100, leave=92)])
    state = DescriptorState(descriptor)
    assert state.step(128, DT, confidence=0.2) == 'drift'
    assert state.step(128, DT, confidence=0.9) == 'drive'
    assert state.step(60, DT, confidence=0.1) == 'drive', 'an unsure tempo holds the band'


def test_the_mapper_sends_only_changes_in_the_parameters_schema() -> None:
    mapper = ParameterMapper(BUILTIN['beat-pulse'], BASE)
    messages = run(mapper, [0.0] * 30, bass=0.0)
    assert messages[0] == {'noise_scale': 0.3}
    assert all(message == {} for message in messages[1:]), 'a steady input sends nothing more'
    pulse = mapper.step(Features(beat=True, beat_count=1), 1.0, DT)
    assert pulse == {'noise_scale': 0.7}
    decay = run(mapper, [0.0] * 10, start=1.0 + DT)
    values = [m['noise_scale'] for m in decay if m]
    assert values == sorted(values, reverse=True) and values[-1] < 0.35
    for message in [*messages, pulse, *decay]:
        assert Parameters.model_validate(message).to_message() == message


def test_soundscape_adds_words_to_the_session_prompt_with_transitions_and_a_cooldown() -> None:
    mapper = ParameterMapper(BUILTIN['soundscape'], BASE)
    messages = run(mapper, [0.0] * 5 + [0.9] * 60)
    transitions = [(i, m['transition']) for i, m in enumerate(messages) if 'transition' in m]
    first = transitions[0][1]['target_prompts'][0]['text']
    assert first.startswith('a quiet forest, calm atmosphere') and 'dark' in first
    loud = [t for _, t in transitions if 'explosive intensity' in t['target_prompts'][-1]['text']]
    assert loud, 'sustained energy reaches the top band'
    ticks = [i for i, _ in transitions]
    assert all(b - a >= 0.9 / DT - 1 for a, b in itertools.pairwise(ticks)), 'prompt changes keep 0.9 s apart'
    assert all(t['num_steps'] == 8 and t['temporal_interpolation_method'] == 'slerp' for _, t in transitions)
    for message in messages:
        Parameters.model_validate(message)
    noise = [m['noise_scale'] for m in messages if 'noise_scale' in m]
    assert 0.48 <= min(noise) and max(noise) <= 0.68 + 0.06


def test_an_energy_surge_blends_in_a_variation_then_waits_out_its_cooldown() -> None:
    preset = BUILTIN['soundscape'].model_copy(update={
        'descriptors': [], 'spikes': SpikeRule(rise=0.3, cooldown=3.0, hold=1.0, variations=['lightning', 'fire'])})
    mapper = ParameterMapper(preset, BASE)
    quiet_loud = [0.05] * 30 + [0.95] * 15 + [0.05] * 30 + [0.95] * 15 + [0.05] * 60 + [0.95] * 15
    messages = run(mapper, quiet_loud)
    targets = [(i * DT, m['transition']['target_prompts']) for i, m in enumerate(messages) if 'transition' in m]
    spikes = [(t, prompts[0]['text']) for t, prompts in targets if len(prompts) == 2]
    assert [text for _, text in spikes] == ['lightning', 'fire'], 'the second surge (within 3 s) is ignored'
    assert spikes[1][0] - spikes[0][0] >= 3.0
    first_spike = next(prompts for _, prompts in targets if len(prompts) == 2)
    assert first_spike[0]['weight'] == 0.6 and first_spike[1] == {'text': 'a quiet forest', 'weight': 0.4}
    back = [t for t, prompts in targets if prompts == [{'text': 'a quiet forest', 'weight': 1.0}]]
    assert back and back[0] - spikes[0][0] == pytest.approx(1.0, abs=0.1), 'the variation is held for 1 s'


def test_a_steady_beat_is_not_a_surge() -> None:
    preset = BUILTIN['soundscape'].model_copy(update={'descriptors': []})
    mapper = ParameterMapper(preset, BASE)
    beat = ([0.9] + [0.4] * 7 + [0.0] * 7) * 20  # a kick every half second
    assert not [m for m in run(mapper, beat) if 'transition' in m]


def test_a_prompt_from_someone_else_becomes_the_base_and_stop_restores() -> None:
    mapper = ParameterMapper(BUILTIN['soundscape'], BASE)
    run(mapper, [0.5] * 40)
    assert mapper.shown[0]['text'].startswith('a quiet forest, ')
    message = mapper.step(Features(energy=0.5), 10.0, DT, [{'text': 'a neon city', 'weight': 1.0}])
    assert message['transition']['target_prompts'][0]['text'].startswith('a neon city, ')
    restore = mapper.restore()
    assert restore['noise_scale'] == 0.7
    assert restore['transition']['target_prompts'] == [{'text': 'a neon city', 'weight': 1.0}]


def test_switching_presets_keeps_the_original_prompt() -> None:
    soundscape = ParameterMapper(BUILTIN['soundscape'], BASE)
    run(soundscape, [0.9] * 40)
    shown = {**BASE, 'prompts': soundscape.shown, 'noise_scale': 0.6}
    pulse = ParameterMapper(BUILTIN['beat-pulse'], shown, previous=soundscape)
    assert pulse.restore() == {'noise_scale': 0.7, 'transition': {
        'target_prompts': BASE['prompts'], 'num_steps': 4, 'temporal_interpolation_method': 'slerp'}}
    first = pulse.step(Features(), 0.0, DT)
    assert first['transition']['target_prompts'] == BASE['prompts'], 'beat-pulse leaves prompts alone: words go'
    assert 'transition' not in pulse.step(Features(), DT, DT) and pulse.restore() == {'noise_scale': 0.7}


def test_presets_round_trip_through_json_and_the_store(tmp_path: Path) -> None:
    for preset in BUILTIN.values():
        assert Preset.model_validate_json(preset.model_dump_json()) == preset
        json.dumps(preset.model_dump())
    service = AudioService(tmp_path / 'assets', tmp_path / 'audio_presets')
    store = service.presets
    mine = BUILTIN['beat-pulse'].model_copy(deep=True)
    mine.mappings[0].out_max = 0.9
    saved = service.save_preset('My Club Night!', mine)
    assert saved.name == 'my-club-night'
    assert (tmp_path / 'audio_presets' / 'my-club-night.json').is_file()
    assert store.get('my-club-night') == saved and store.get('My Club Night') == saved
    assert store.names() == ['soundscape', 'beat-pulse', 'my-club-night']
    with pytest.raises(PresetError):
        service.save_preset('soundscape', BUILTIN['soundscape'])
    with pytest.raises(PresetError):
        store.delete('soundscape')
    assert store.delete('my-club-night') and not store.delete('my-club-night')
    assert store.get('my-club-night') is None


@pytest.mark.parametrize('name, expected', [('../../etc/passwd', 'etc-passwd'), ('Ambient Set #2', 'ambient-set-2'),
                                            ('.hidden', 'hidden'), ('a/b\\c', 'a-b-c')])
def test_preset_names_are_sanitised(name: str, expected: str) -> None:
    assert preset_key(name) == expected


def test_an_empty_preset_name_is_refused() -> None:
    with pytest.raises(PresetError):
        preset_key('../..')
