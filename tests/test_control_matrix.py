"""LFOs, the matrix and the control engine on a clock the test drives (no wall-clock timing)."""
from __future__ import annotations

import math

import pytest

from audio.features import Features
from audio.mapper import ParameterMapper
from audio.presets import BUILTIN
from control.engine import ControlEngine
from control.latency import LatencyMeter
from control.lfo import Lfo, wave
from control.matrix import Matrix
from control.routes import Route, Target, session_targets
from control.sources import SourceBoard
from control.tempo_sync import TempoRequest, TempoSync

from .control_helpers import DrivenClock, still_session

NOISE = {'noise_scale': Target('noise_scale', 'noise scale', 'parameter', 0.0, 1.0)}


def test_lfo_shapes_over_one_cycle() -> None:
    quarter = [0.0, 0.25, 0.5, 0.75]
    assert [round(wave('sine', p), 3) for p in quarter] == [0.5, 1.0, 0.5, 0.0]
    assert [wave('triangle', p) for p in quarter] == [0.0, 0.5, 1.0, 0.5]
    assert [wave('saw', p) for p in quarter] == quarter
    assert [wave('square', p) for p in quarter] == [1.0, 1.0, 0.0, 0.0]
    assert wave('exp_decay', 0.0) == 1.0 and wave('exp_decay', 0.15) == pytest.approx(1 / math.e)
    assert wave('exp_decay', 1.0) == 1.0, 'the pulse comes back at the start of every cycle'
    held = [wave('random', 3 + p, seed=7) for p in quarter]
    assert len(set(held)) == 1 and 0 <= held[0] < 1, 'random holds one value per cycle'
    assert wave('random', 4.0, seed=7) != held[0] and wave('random', 3.5, seed=8) != held[0]


def test_a_synced_lfo_follows_the_beat_and_a_free_one_the_clock() -> None:
    bar = Lfo(name='bar', shape='saw', beats=4)
    assert [bar.value(seconds=99, beat=b) for b in (0, 1, 2, 3)] == [0.0, 0.25, 0.5, 0.75]
    free = Lfo(name='free', shape='saw', sync=False, hz=2.0, phase=0.5)
    assert free.value(seconds=0.0, beat=123) == 0.5 and free.value(seconds=0.125, beat=0) == 0.75


def test_routes_to_one_target_add_up_and_clamp() -> None:
    matrix = Matrix([Route(id='a', source='x', target='noise_scale', out_min=0.2, out_max=0.6),
                     Route(id='b', source='y', target='noise_scale', out_min=0.0, out_max=0.6)])
    assert matrix.evaluate({'x': 0.5, 'y': 0.0}, 0.033, NOISE).totals == {'noise_scale': pytest.approx(0.4)}
    assert matrix.evaluate({'x': 1.0, 'y': 1.0}, 0.033, NOISE).totals == {'noise_scale': 1.0}, 'clamped'


def test_one_source_drives_many_targets_with_their_own_range_and_curve() -> None:
    targets = {**NOISE, 'vace_context_scale': Target('vace_context_scale', 'vace', 'parameter', 0.0, 2.0)}
    matrix = Matrix([Route(id='a', source='x', target='noise_scale'),
                     Route(id='b', source='x', target='vace_context_scale', out_max=2.0, curve='exponential')])
    totals = matrix.evaluate({'x': 0.5}, 0.033, targets).totals
    assert totals == {'noise_scale': 0.5, 'vace_context_scale': 0.5}


def test_attack_and_release_smooth_over_driven_time() -> None:
    matrix = Matrix([Route(id='a', source='x', target='noise_scale', attack=0.1, release=1.0)])
    rise = matrix.evaluate({'x': 1.0}, 0.1, NOISE).totals['noise_scale']
    assert rise == pytest.approx(1 - math.exp(-1))
    fall = matrix.evaluate({'x': 0.0}, 0.1, NOISE).totals['noise_scale']
    assert fall == pytest.approx(rise * math.exp(-0.1))


def test_routes_that_cannot_run_are_shown_not_errors() -> None:
    matrix = Matrix([Route(id='gone', source='x', target='guidance_scale'),
                     Route(id='quiet', source='midi.cc.1.74', target='noise_scale'),
                     Route(id='off', source='x', target='noise_scale', enabled=False)])
    evaluation = matrix.evaluate({'x': 1.0}, 0.033, NOISE)
    assert evaluation.totals == {}
    assert {key: meter.status for key, meter in evaluation.meters.items()} == {
        'gone': 'missing target', 'quiet': 'waiting', 'off': 'disabled'}


def test_an_audio_preset_is_a_special_case_of_the_matrix() -> None:
    """The beat-pulse preset's mappings as routes give exactly what the audio mapper computes."""
    preset = BUILTIN['beat-pulse']
    mapper = ParameterMapper(preset, {'noise_scale': 0.7})
    matrix = Matrix([Route.from_mapping(m, i) for i, m in enumerate(preset.mappings)])
    for tick in range(90):
        features = Features(bass=abs(math.sin(tick / 7)), onset=(tick % 15) / 15, beat=tick % 15 == 0)
        expected = mapper.step(features, tick / 30, 1 / 30).get('noise_scale')
        values = {f'audio.{name}': features.value(name) for name in ('bass', 'beat', 'onset')}
        total = round(matrix.evaluate(values, 1 / 30, NOISE).totals['noise_scale'], 4)
        if expected is not None:
            assert total == expected, f'tick {tick}'


def test_targets_come_from_the_catalog_and_the_session() -> None:
    targets = session_targets(None, prompt_count=2, looks=['calm'])
    assert (targets['noise_scale'].low, targets['noise_scale'].high) == (0.0, 1.0)
    assert targets['kv_cache_attention_bias'].low == 0.01
    assert {'prompt_weight.0', 'prompt_weight.1', 'trigger.reset_cache', 'trigger.look.calm',
            'trigger.transition.calm'} <= set(targets)
    assert 'paused' not in targets and 'seed' not in targets, 'only what the schema marks modulatable'


def engine_for(session: object, clock: DrivenClock, bpm: float = 120.0, **kwargs: object) -> ControlEngine:
    tempo = TempoSync(clock)
    tempo.enable(TempoRequest(source='internal', bpm=bpm))
    return ControlEngine(session, tempo, SourceBoard(clock), clock, **kwargs)  # type: ignore[arg-type]


async def test_a_synced_lfo_moves_noise_scale_beat_by_beat() -> None:
    clock = DrivenClock()
    session = still_session()
    engine = engine_for(session, clock)
    engine.set_lfos([Lfo(name='swell', shape='triangle', beats=4)])
    engine.set_routes([Route(source='lfo.swell', target='noise_scale', out_min=0.2, out_max=0.6)])
    seen = []
    for _ in range(5):  # one beat is 0.5 s at 120 BPM
        engine.tick(clock.now)
        seen.append(session.state.values['noise_scale'])
        clock.advance(0.5)
    assert seen == [0.2, 0.4, 0.6, 0.4, 0.2]
    assert session.state._changed['noise_scale'] == 'matrix'
    engine.set_routes([])
    engine.tick(clock.now)
    assert session.state.values['noise_scale'] == 0.7, 'a target nobody drives goes back to where it was'


async def test_beats_pulse_early_by_the_measured_latency() -> None:
    clock = DrivenClock()
    session = still_session()
    engine = engine_for(session, clock)
    engine.set_routes([Route(source='tempo.beat', target='noise_scale', out_min=0.1, out_max=0.9)])
    for version_delay in (0.08, 0.1, 0.12):  # the pipeline shows a change 100 ms later (median)
        engine.latency.changed(session.state.version + 1)
        clock.advance(version_delay)
        engine.latency.frame(session.state.version + 1)
    assert engine.latency.measured_ms == 100.0 and engine.latency.lead_ms == 100.0
    line = engine.tempo.timeline(clock.now)
    assert line is not None
    next_beat = math.floor(line.beat_at(clock.now + 0.1)) + 1
    due = engine.next_due(clock.now)
    assert due is not None and due == pytest.approx(line.time_of(next_beat) - 0.1)
    engine.tick(clock.now)
    clock.now = due
    engine.tick(clock.now)
    assert session.state.values['noise_scale'] == 0.9, 'the pulse fires 100 ms before its beat'
    assert engine.beats[-1]['beat'] == next_beat
    engine.latency.compensate, engine.latency.trim_ms = False, 20.0
    assert engine.latency.lead_ms == 20.0, 'without compensation only the manual trim is left'


async def test_a_quantized_change_waits_for_the_bar() -> None:
    clock = DrivenClock()
    session = still_session()
    engine = engine_for(session, clock)
    engine.quantize = 'bar'
    line = engine.tempo.timeline(clock.now)
    assert line is not None
    clock.now = line.time_of(1.25)  # a quarter into the second beat of the first bar
    assert engine.apply({'reset_cache': True, 'noise_scale': 0.3}, source='osc') == 'scheduled'
    assert session.state.values['noise_scale'] == 0.7
    assert engine.next_due(clock.now) == pytest.approx(line.time_of(4.0))
    clock.now = line.time_of(3.99)
    engine.tick(clock.now)
    assert session.state.values['noise_scale'] == 0.7
    clock.now = line.time_of(4.0)
    engine.tick(clock.now)
    assert session.state.values['noise_scale'] == 0.3 and engine.quantizer.fired == 1
    assert engine.apply({'noise_scale': 0.4}, source='osc', quantize='none') == 'applied'


async def test_a_look_that_does_not_fit_is_refused_once_and_counted() -> None:
    clock = DrivenClock()
    session = still_session()
    looks = {'wild': {'noise_scale': 5.0, 'seed': 3}}
    engine = engine_for(session, clock, recall=looks.get, looks=lambda: list(looks))
    engine.set_routes([Route(source='osc.button', target='trigger.look.wild')])
    engine.board.set('osc.button', 1.0)
    for _ in range(10):
        engine.tick(clock.advance(1 / 30))
    assert engine.refused == 1 and 'noise_scale' in engine.refusals[-1][1]
    assert session.state.values['seed'] == 3, 'the keys that fit still apply'
    assert session.state.values['noise_scale'] == 0.7


async def test_prompt_weights_blend_two_prompts() -> None:
    clock = DrivenClock()
    session = still_session(prompts=[{'text': 'forest', 'weight': 1.0}, {'text': 'city', 'weight': 0.0}])
    engine = engine_for(session, clock)
    engine.set_routes([Route(source='xy.x', target='prompt_weight.1')])
    engine.set_source('xy.x', 0.75)
    engine.tick(clock.now)
    assert session.state.values['prompts'] == [{'text': 'forest', 'weight': 0.571429},
                                               {'text': 'city', 'weight': 0.428571}], '1 : 0.75, normalised'
    version = session.state.version
    engine.tick(clock.advance(1 / 30))
    assert session.state.version == version, 'the same blend is not sent again'
    engine.set_source('xy.x', 0.0)
    engine.tick(clock.advance(1 / 30))
    assert session.state.values['prompts'] == [{'text': 'forest', 'weight': 1.0}, {'text': 'city', 'weight': 0.0}]


def test_timed_changes_set_the_lead_once_there_are_enough() -> None:
    clock = DrivenClock()
    meter = LatencyMeter(clock)
    version = 0
    for timed, delay in [(False, 0.005)] * 10 + [(True, 0.04)] * 4:
        version += 1
        if timed:
            meter.timed()
        meter.changed(version)
        clock.advance(delay)
        meter.frame(version)
    assert meter.measured_ms == 5.0, 'changes in step with the worker, until enough beats were measured'
    version += 1
    meter.timed()
    meter.changed(version)
    clock.advance(0.04)
    meter.frame(version)
    assert meter.measured_ms == 40.0 and meter.to_dict()['timed'] is True
