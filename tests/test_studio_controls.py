"""Generation controls: generated from the pipeline schema's `ui` metadata and bound to the session, both ways."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import numpy as np
from nicegui import app
from nicegui.testing import User
from pydantic import BaseModel, Field

from pipeline.protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream
from ui.denoising_steps import PRESETS

from .studio_helpers import only, session
from .waiting import until

# pylint: disable=missing-function-docstring


class GlowControls(BaseModel):
    """Runtime controls of a pipeline the studio has never seen."""

    glow: float = Field(default=0.5, ge=0, le=1, json_schema_extra={'ui': {'order': 1, 'label': 'Glow'}})
    palette: Literal['ember', 'ice', 'moss'] = Field(default='ember', json_schema_extra={'ui': {'order': 2}})
    mirror: bool = Field(default=False, json_schema_extra={'ui': {'order': 3, 'label': 'Mirror'}})
    rings: int = Field(default=3, ge=1, le=12, json_schema_extra={'ui': {'order': 4, 'label': 'Rings'}})
    caption: str = Field(default='', json_schema_extra={'ui': {'order': 5, 'label': 'Caption'}})
    levels: list[int] = Field(default=[12, 20, 32], json_schema_extra={'ui': {'order': 6, 'label': 'Levels'}})
    negative_prompt: str = Field(default='', json_schema_extra={'ui': {'order': 7, 'label': 'Avoid'}})


GLOW = PipelineInfo(id='glow', name='Glow', description='A test pipeline with its own controls.',
                    supported_modes=['text'], default_mode='text', default_width=64, default_height=64,
                    load_params=LoadParams, runtime_params=GlowControls)


class GlowStream(PipelineStream):
    """Frames as bright as the glow."""

    def __call__(self, chunk: Chunk) -> list[Frame]:
        return [np.full((64, 64, 3), int(255 * float(chunk.params.get('glow', 0.5))), np.uint8)]


class GlowPipeline(Pipeline):
    """The test pipeline."""

    info = GLOW

    def open_stream(self) -> PipelineStream:
        return GlowStream()


def value(key: str) -> Any:
    return session().state.snapshot().get(key)


async def open_generate(user: User) -> None:
    await user.open('/')
    user.find('Generate').click()


async def test_a_new_pipeline_gets_its_controls_without_ui_code(
        studio: User, studio_load: Callable[..., Awaitable[None]]) -> None:
    app.state.context.registry.register(GLOW, f'{__name__}:GlowPipeline')
    await open_generate(studio)
    await studio_load('glow')
    for label in ('Glow', 'Palette', 'Mirror', 'Rings', 'Caption', 'Levels'):
        await studio.should_see(label)
    await studio.should_not_see('Denoising steps')
    await studio.should_not_see('Avoid')  # the prompt panel owns the negative prompt

    only(studio, 'control-glow').set_value(0.8)
    only(studio, 'control-palette').set_value('ice')
    only(studio, 'control-mirror').set_value(True)
    rings = only(studio, 'control-rings')
    rings.value = 7
    studio.find(marker='control-rings').trigger('blur')
    caption = only(studio, 'control-caption')
    caption.value = 'opening night'
    studio.find(marker='control-caption').trigger('keydown.enter')
    only(studio, 'control-levels').set_value(['10', '25'])
    assert (value('glow'), value('palette'), value('mirror'), value('rings'), value('caption'), value('levels')) == \
        (0.8, 'ice', True, 7, 'opening night', [10, 25])
    only(studio, 'control-levels').set_value(['10', 'many'])
    assert value('levels') == [10, 25]

    session().update({'glow': 0.1, 'palette': 'moss', 'mirror': False, 'rings': 2, 'caption': 'encore',
                      'levels': [5]}, source='osc')
    assert await until(lambda: only(studio, 'control-levels').value == ['5'])
    assert only(studio, 'control-glow').value == 0.1
    assert only(studio, 'control-palette').value == 'moss'
    assert only(studio, 'control-mirror').value is False
    assert only(studio, 'control-rings').value == 2
    assert only(studio, 'control-caption').value == 'encore'
    assert only(studio, 'control-levels').value == ['5']


async def test_a_number_outside_its_bounds_is_not_sent(studio: User,
                                                       studio_load: Callable[..., Awaitable[None]]) -> None:
    app.state.context.registry.register(GLOW, f'{__name__}:GlowPipeline')
    await open_generate(studio)
    await studio_load('glow')
    await studio.should_see('Rings')
    only(studio, 'control-rings').value = 40
    studio.find(marker='control-rings').trigger('keydown.enter')
    assert value('rings') is None


async def test_denoising_steps_presets_and_list(studio: User) -> None:
    await open_generate(studio)
    await studio.should_see('Denoising steps')
    presets = only(studio, 'denoising-presets')
    assert presets.value == 'balanced'
    presets.set_value('speed')
    assert value('denoising_step_list') == PRESETS['speed']
    assert only(studio, 'denoising-steps').value == ['1000', '500', '250']

    only(studio, 'denoising-steps').set_value(['300', '1000', '600'])
    assert value('denoising_step_list') == [1000, 600, 300]
    assert only(studio, 'denoising-steps').value == ['1000', '600', '300']
    assert presets.value is None

    only(studio, 'denoising-steps').set_value(['1000', 'lots'])
    assert value('denoising_step_list') == [1000, 600, 300]

    session().update({'denoising_step_list': PRESETS['quality']}, source='soundscape')
    assert await until(lambda: presets.value == 'quality')
    assert only(studio, 'denoising-steps').value == [str(step) for step in PRESETS['quality']]


async def test_noise_scale_cache_and_seed(studio: User) -> None:
    await open_generate(studio)
    only(studio, 'control-noise_scale').set_value(0.42)
    only(studio, 'control-manage_cache').set_value(False)
    seed = only(studio, 'control-seed')
    seed.value = 1234
    studio.find(marker='control-seed').trigger('keydown.enter')
    assert (value('noise_scale'), value('manage_cache'), value('seed')) == (0.42, False, 1234)

    studio.find(marker='randomize-seed').click()
    assert value('seed') != 1234

    session().update({'noise_scale': 0.9, 'manage_cache': True, 'seed': 5}, source='scope')
    assert await until(lambda: only(studio, 'control-seed').value == 5)
    assert only(studio, 'control-noise_scale').value == 0.9
    assert only(studio, 'control-manage_cache').value is True
    assert only(studio, 'control-seed').value == 5


async def test_pause_resume_and_reset_cache(studio: User) -> None:
    await studio.open('/')
    studio.find(marker='pause').click()
    assert value('paused') is True
    await studio.should_see('Resume')
    studio.find(marker='pause').click()
    assert value('paused') is False
    await studio.should_see('Pause')

    studio.find(marker='reset-cache').click()
    assert 'reset_cache' in session().change_log[-1][2]

    session().update({'paused': True}, source='scope')
    await studio.should_see('Resume')


async def test_any_parameter_can_be_sent_as_json(studio: User) -> None:
    await open_generate(studio)
    box = only(studio, 'raw-parameters')
    box.value = '{"stamp": 7, "noise_scale": 0.3}'
    studio.find(marker='raw-parameters').trigger('keydown.enter')
    assert (value('stamp'), value('noise_scale')) == (7, 0.3)

    box.value = '{"stamp": '
    studio.find(marker='send-raw-parameters').click()
    assert value('stamp') == 7
    assert 'error' in box.props


async def test_a_wrong_value_sent_as_json_is_refused_and_the_session_goes_on(studio: User) -> None:
    """A value the parameter model refuses never reaches the worker: the page says why, the stream goes on."""
    await open_generate(studio)
    only(studio, 'raw-parameters').value = '{"noise_scale": "high"}'
    studio.find(marker='send-raw-parameters').click()
    await studio.should_see('Not applied: noise_scale')
    assert value('noise_scale') == 0.7 and not session().closed
