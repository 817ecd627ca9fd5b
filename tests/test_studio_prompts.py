"""Prompts, blends, negative prompts, transitions and presets in the studio, both ways between page and session."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nicegui import app
from nicegui.testing import User
from pydantic_core import PydanticSerializationError

from pipeline.protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream
from services.presets import Look, PresetStore
from ui.prompt_list import APPLY_KEY

from .studio_helpers import only, press, session
from .waiting import until

# pylint: disable=missing-function-docstring

INKWELL = PipelineInfo(id='inkwell', name='Inkwell', description='Grey frames; takes a negative prompt.',
                       supported_modes=['text'], default_mode='text', default_width=64, default_height=64,
                       supports_negative_prompt=True, load_params=LoadParams)


class InkwellStream(PipelineStream):
    """Grey frames."""

    def __call__(self, chunk: Chunk) -> list[Frame]:
        return [np.full((64, 64, 3), 90, np.uint8)]


class InkwellPipeline(Pipeline):
    """A pipeline with a negative prompt."""

    info = INKWELL

    def open_stream(self) -> PipelineStream:
        return InkwellStream()


def prompts() -> list[dict[str, Any]]:
    return session().state.snapshot()['prompts']


def weights(user: User) -> list[Any]:
    return [only(user, f'prompt-weight-{index}').value for index in range(2)]


async def test_enter_applies_the_prompt(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='prompt-0').clear().type('a red jellyfish in the ocean').trigger(APPLY_KEY)
    assert prompts() == [{'text': 'a red jellyfish in the ocean', 'weight': 1.0}]
    assert session().change_log[-1][1].startswith('studio-')


async def test_apply_sends_the_prompt_and_typing_alone_does_not(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='prompt-0').clear().type('city lights at night')
    await studio.should_see('edited')
    assert prompts()[0]['text'] == 'a dreamy nebula of soft light'
    studio.find(marker='apply-prompts').click()
    assert prompts()[0]['text'] == 'city lights at night'
    await studio.should_not_see('edited')


async def test_weighted_prompts_can_be_added_mixed_and_removed(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='add-prompt').click()
    studio.find(marker='prompt-1').type('a field of sunflowers').trigger(APPLY_KEY)
    assert [p['text'] for p in prompts()] == ['a dreamy nebula of soft light', 'a field of sunflowers']
    assert [p['weight'] for p in prompts()] == [0.5, 0.5]
    only(studio, 'prompt-weight-0').set_value(70)
    assert [p['weight'] for p in prompts()] == [0.7, 0.3]
    assert only(studio, 'prompt-weight-1').value == 30
    studio.find(marker='remove-prompt-0').click()
    assert prompts() == [{'text': 'a field of sunflowers', 'weight': 1.0}]


async def test_weights_changed_elsewhere_move_the_sliders(studio: User) -> None:
    await studio.open('/')
    session().update({'prompts': [{'text': 'ice', 'weight': 1}, {'text': 'fire', 'weight': 3}]}, source='scope')
    await studio.should_see('fire')
    assert await until(lambda: weights(studio) == [25, 75]), f'the sliders show {weights(studio)}'


async def test_the_blend_method_goes_both_ways(studio: User) -> None:
    await studio.open('/')
    only(studio, 'blend-method').set_value('slerp')
    assert session().state.snapshot()['prompt_interpolation_method'] == 'slerp'
    session().update({'prompt_interpolation_method': 'linear'}, source='scope')
    assert await until(lambda: only(studio, 'blend-method').value == 'linear')


async def test_a_negative_prompt_appears_where_the_pipeline_takes_one(
        studio: User, studio_load: Callable[..., Awaitable[None]]) -> None:
    app.state.context.registry.register(INKWELL, f'{__name__}:InkwellPipeline')
    await studio.open('/')
    await studio.should_not_see(marker='negative-prompt')
    await studio_load('inkwell')
    await studio.should_see(marker='negative-prompt')
    studio.find(marker='negative-prompt').type('blurry, text').trigger('keydown.enter')
    assert session().state.snapshot()['negative_prompt'] == 'blurry, text'
    session().update({'negative_prompt': 'watermark'}, source='scope')
    assert await until(lambda: only(studio, 'negative-prompt').value == 'watermark')


async def test_a_transition_morphs_to_the_target_and_shows_its_progress(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='target-0').type('a frozen waterfall')
    only(studio, 'transition-steps').set_value(240)
    only(studio, 'transition-method').set_value('linear')
    studio.find(marker='start-transition').click()
    assert prompts() == [{'text': 'a frozen waterfall', 'weight': 1.0}]
    assert 'transition' in session().change_log[-1][2]
    await studio.should_see('a frozen waterfall')  # the prompt list follows the target
    assert await until(lambda: only(studio, 'transition-progress').value > 0), 'the progress shows'
    assert 0 < only(studio, 'transition-progress').value < 1
    assert '/240' in only(studio, 'transition-status').text


async def test_the_current_prompts_can_be_copied_into_the_targets(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='copy-prompts').click()
    assert only(studio, 'target-0').value == 'a dreamy nebula of soft light'


async def test_presets_are_saved_on_the_server_and_recalled_in_one_click(studio: User, studio_home: Path) -> None:
    await studio.open('/')
    studio.find('Presets').click()
    studio.find(marker='preset-name').type('Nebula').trigger('keydown.enter')
    saved = json.loads((studio_home / 'presets' / 'nebula.json').read_text())
    assert saved['name'] == 'Nebula' and saved['parameters']['prompts'][0]['text'] == 'a dreamy nebula of soft light'
    session().update({'prompts': [{'text': 'desert dunes', 'weight': 1.0}], 'noise_scale': 0.2}, source='scope')
    studio.find(marker='preset-Nebula').click()
    assert prompts()[0]['text'] == 'a dreamy nebula of soft light'
    assert session().state.snapshot()['noise_scale'] == 0.7


async def test_a_preset_can_be_recalled_as_a_transition(studio: User) -> None:
    await studio.open('/')
    studio.find('Presets').click()
    studio.find(marker='preset-name').type('Start')
    studio.find(marker='save-preset').click()
    session().update({'prompts': [{'text': 'desert dunes', 'weight': 1.0}]}, source='scope')
    only(studio, 'preset-morph').set_value(True)
    studio.find(marker='preset-Start').click()
    assert 'transition' in session().change_log[-1][2]
    assert prompts()[0]['text'] == 'a dreamy nebula of soft light'


async def test_shortcuts_step_through_presets_and_apply(studio: User) -> None:
    await studio.open('/')
    studio.find('Presets').click()
    for name, text in (('One', 'first look'), ('Two', 'second look')):
        session().update({'prompts': [{'text': text, 'weight': 1.0}]}, source='scope')
        await studio.should_see(text)
        studio.find(marker='preset-name').type(name).trigger('keydown.enter')
    await press(studio, 'n')
    assert await until(lambda: prompts()[0]['text'] == 'first look')
    await press(studio, 'ArrowRight')
    assert await until(lambda: prompts()[0]['text'] == 'second look')
    await press(studio, '1')
    assert await until(lambda: prompts()[0]['text'] == 'first look')
    studio.find(marker='prompt-0').clear().type('typed, then Enter outside the field')
    await press(studio, 'Enter')
    assert await until(lambda: prompts()[0]['text'] == 'typed, then Enter outside the field')
    await press(studio, ' ')
    assert await until(lambda: session().state.paused)
    await press(studio, ' ')
    assert await until(lambda: not session().state.paused)


async def test_escape_drops_unapplied_edits(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='prompt-0').clear().type('half-written idea')
    await studio.should_see('edited')
    studio.find(marker='prompt-0').trigger('keydown.esc')
    await studio.should_not_see('edited')
    assert only(studio, 'prompt-0').value == 'a dreamy nebula of soft light'


async def test_a_pipeline_without_prompts_says_so(studio: User, studio_load: Callable[..., Awaitable[None]]) -> None:
    await studio.open('/')
    await studio_load('passthrough')
    await studio.should_see('Passthrough does not use prompts.')


def test_presets_saved_at_once_or_failing_leave_one_whole_file(tmp_path: Path) -> None:
    """Sixty saves of one preset at once all succeed; a save that fails keeps the last version and no partial file."""
    store = PresetStore(tmp_path / 'presets', Look)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.save('Nebula', Look(name='Nebula', parameters={'noise_scale': i / 100})),
                      range(60)))
    assert store.names() == ['nebula']
    with pytest.raises(PydanticSerializationError):
        store.save('Nebula', Look(name='Nebula', parameters={'noise_scale': 0.99, 'prompts': [{'weight': object()}]}))
    saved = store.get('Nebula')
    assert saved is not None and saved.parameters['noise_scale'] != 0.99
    assert [path.name for path in (tmp_path / 'presets').iterdir()] == ['nebula.json']
