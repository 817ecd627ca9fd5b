"""The creator's prompts and what the audio engine adds stay apart; transition steps become seconds."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from audio.features import Features
from audio.mapper import ParameterMapper
from audio.presets import BUILTIN
from pipeline.state import ParameterState
from pipeline.worker import PipelineWorker
from ui.morph import default_steps, seconds_of
from ui.prompt_layers import additions

CITY = [{'text': 'a neon city', 'weight': 1.0}]
WITH_WORDS = [{'text': 'a neon city, dark, pulsing', 'weight': 1.0}]
DT = 1 / 30


def audio_transition(prompts: list[dict[str, Any]]) -> dict[str, Any]:
    return {'transition': {'target_prompts': prompts, 'num_steps': 8, 'temporal_interpolation_method': 'slerp'}}


def test_the_audio_engine_changes_what_renders_but_not_the_creators_prompts() -> None:
    state = ParameterState()
    state.update({'prompts': CITY}, source='studio-1')
    state.update(audio_transition(WITH_WORDS), source='audio')
    assert state.snapshot()['prompts'] == WITH_WORDS, 'the session renders the words'
    assert state.authored_prompts() == CITY, 'the creator still owns their text'
    state.update({'prompts': [{'text': 'a quiet forest', 'weight': 1.0}]}, source='scope')
    assert state.authored_prompts() == [{'text': 'a quiet forest', 'weight': 1.0}]


def test_moving_only_the_weights_of_the_rendered_prompts_keeps_the_creators_texts() -> None:
    """A matrix route moves the weights of prompts the audio engine added words to: the words are not baked in."""
    state = ParameterState()
    state.update({'prompts': [*CITY, {'text': 'rain', 'weight': 1.0}]}, source='studio-1')
    rendered = [{'text': 'a neon city, dark', 'weight': 1.0}, {'text': 'rain', 'weight': 1.0}]
    state.update(audio_transition(rendered), source='audio')
    state.update({'prompts': [{'text': 'a neon city, dark', 'weight': 0.8}, {'text': 'rain', 'weight': 0.2}]},
                 source='matrix')
    assert state.authored_prompts() == [{'text': 'a neon city', 'weight': 0.8}, {'text': 'rain', 'weight': 0.2}]


def test_the_difference_reads_as_the_engines_words_or_its_whole_blend() -> None:
    assert additions(CITY, CITY) is None
    assert additions(CITY, WITH_WORDS) == 'The audio engine adds: dark, pulsing'
    spike = [{'text': 'lightning', 'weight': 0.6}, {'text': 'a neon city, dark', 'weight': 0.4}]
    assert additions(CITY, spike) == 'The audio engine renders: lightning (60 %) · a neon city, dark (40 %)'


def test_a_mapper_started_while_words_are_shown_takes_the_creators_prompt_as_its_base() -> None:
    """A new engine (or a restart) never mistakes the last engine's words for the creator's prompt."""
    mapper = ParameterMapper(BUILTIN['soundscape'], {'prompts': WITH_WORDS}, authored=CITY)
    messages = [mapper.step(Features(energy=0.6), i * DT, DT, WITH_WORDS, CITY) for i in range(60)]
    targets = [m['transition']['target_prompts'][0]['text'] for m in messages if 'transition' in m]
    assert targets and all(text.startswith('a neon city, ') and 'dark, pulsing' not in text for text in targets)
    assert mapper.restore()['transition']['target_prompts'] == CITY


def test_applying_the_prompt_the_creator_already_has_brings_the_words_back() -> None:
    """The creator applies their (unchanged) text: the session renders it bare for a moment, the engine re-adds."""
    mapper = ParameterMapper(BUILTIN['soundscape'], {'prompts': CITY}, authored=CITY)
    shown: list[dict[str, Any]] = CITY
    for i in range(60):
        if 'transition' in (message := mapper.step(Features(energy=0.6), i * DT, DT, shown, CITY)):
            shown = message['transition']['target_prompts']
    assert shown[0]['text'].startswith('a neon city, ')
    again: dict[str, Any] = {}
    for i in range(60, 120):
        again = mapper.step(Features(energy=0.6), i * DT, DT, CITY, CITY) or again
    assert again['transition']['target_prompts'][0]['text'] == shown[0]['text']


def test_the_chunk_rate_is_measured_from_the_last_chunks_else_declared() -> None:
    session = SimpleNamespace(id='stub-session', pipeline=SimpleNamespace(info=SimpleNamespace(fps=30.0, chunk_size=4)))
    worker = PipelineWorker(session, on_fatal=lambda message: None)  # type: ignore[arg-type]
    assert worker.chunk_rate == 7.5, 'nothing measured yet: 30 fps in chunks of 4'
    worker.chunk_times.extend(100.0 + i * 0.05 for i in range(11))  # eleven chunks 50 ms apart
    assert abs(worker.chunk_rate - 20.0) < 1e-9


def test_transition_steps_are_shown_in_seconds_and_the_default_lasts_two() -> None:
    session: Any = SimpleNamespace(worker=SimpleNamespace(chunk_rate=25.0))
    assert default_steps(session) == 50
    assert seconds_of(50, session) == 2.0
    assert seconds_of(8, session) == 0.32, 'the old default of 8 steps is a third of a second: a cut'
