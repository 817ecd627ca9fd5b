"""The studio's Render tab: a clip with a timeline, what was just performed, and cancel (NiceGUI user simulation)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from nicegui import app, ui
from nicegui.testing import User

from services.batch_request import GenerateRequest

from .studio_helpers import only, session
from .test_batch_cli import write_clip
from .waiting import until

# pylint: disable=missing-function-docstring


def last_request() -> GenerateRequest:
    generation = app.state.context.batch.current
    assert generation is not None
    return generation.request


def rendered_shape(user: User) -> tuple[int, ...]:
    """The shape of the clip the Result section links to."""
    link = only(user, 'render-download')
    assert isinstance(link, ui.link)
    output = parse_qs(urlsplit(str(link.props['href'])).query)['path'][0]
    return app.state.context.batch.output(output)[1]


async def wait_for_chunks(count: int) -> None:
    """Wait until the studio session has made `count` more chunks."""
    target = session().chunk_index + count
    assert await until(lambda: session().chunk_index >= target, interval=0.02), 'the studio session does not render'


async def test_render_a_clip_with_a_timeline(studio: User, studio_load: Callable[..., Awaitable[None]]) -> None:
    await studio.open('/')
    await studio_load('dreamfield', width=64, height=64)
    studio.find('Render').click()
    await studio.should_see(marker='render-prompt')
    assert only(studio, 'render-prompt').value == 'a dreamy nebula of soft light', 'it starts from the live prompts'
    only(studio, 'render-frames').set_value(12)
    only(studio, 'render-seed').set_value(5)
    studio.find(marker='render-add').click()
    only(studio, 'render-entry-chunk-0').set_value(6)
    only(studio, 'render-entry-prompt-0').set_value('red lava')
    only(studio, 'render-entry-steps-0').set_value(3)
    studio.find(marker='render-start').click()
    await studio.should_see(marker='render-video')
    request = last_request()
    assert request.seed == 5 and request.num_frames == 12
    assert request.chunk_specs is not None and request.chunk_specs[0].chunk == 6
    assert request.chunk_specs[0].transition_num_steps == 3
    assert request.chunk_specs[0].transition_target_prompts[0].text == 'red lava'  # type: ignore[index]
    assert rendered_shape(studio) == (12, 64, 64, 3)
    await studio.should_see('done: 12 frames')


async def test_render_what_i_just_performed(studio: User, studio_load: Callable[..., Awaitable[None]]) -> None:
    await studio.open('/')
    await studio_load('dreamfield', width=64, height=64)
    studio.find('Render').click()
    await studio.should_see(marker='render-performed')
    fire, ocean = [{'text': 'fire', 'weight': 1.0}], [{'text': 'deep ocean', 'weight': 1.0}]
    session().update({'prompts': fire}, source='studio-test')
    await wait_for_chunks(5)
    session().update({'transition': {'target_prompts': ocean, 'num_steps': 4}}, source='studio-test')
    await wait_for_chunks(5)
    studio.find(marker='render-performed').click()
    await studio.should_see(marker='render-video')
    request = last_request()
    assert request.prompt_items() == fire
    assert request.chunk_specs is not None and len(request.chunk_specs) == 1
    transition = request.chunk_specs[0]
    assert transition.chunk >= 5 and transition.transition_num_steps == 4
    assert transition.transition_target_prompts is not None and transition.transition_target_prompts[0].text == \
        'deep ocean'
    assert request.num_frames >= transition.chunk + 5
    assert rendered_shape(studio)[0] == request.num_frames


async def test_cancel_keeps_what_was_rendered(studio: User, studio_load: Callable[..., Awaitable[None]]) -> None:
    await studio.open('/')
    await studio_load('dreamfield', width=64, height=64)
    studio.find('Render').click()
    only(studio, 'render-frames').set_value(10_000)
    studio.find(marker='render-start').click()
    assert await until(lambda: (generation := app.state.context.batch.current) and generation.events,
                       interval=0.02), 'the render did not start'
    studio.find(marker='render-cancel').click()
    await studio.should_see('cancelled at')
    await studio.should_see(marker='render-video')
    frames = rendered_shape(studio)[0]
    assert 0 < frames < 10_000


async def test_an_input_video_from_the_assets(studio: User, studio_home: Path,
                                             studio_load: Callable[..., Awaitable[None]]) -> None:
    (studio_home / 'assets' / 'clips').mkdir(parents=True, exist_ok=True)
    write_clip(studio_home / 'assets' / 'clips' / 'walk.mp4')
    await studio.open('/')
    await studio_load('dreamfield', width=64, height=64)
    studio.find('Render').click()
    select = only(studio, 'render-input')
    clip = next(key for key, label in select.options.items() if label == 'clips/walk.mp4')
    select.set_value(clip)
    only(studio, 'render-frames').set_value(8)
    studio.find(marker='render-start').click()
    await studio.should_see(marker='render-video')
    assert last_request().input_path is not None
    assert rendered_shape(studio) == (8, 64, 64, 3)


async def test_a_render_explains_what_cannot_run(studio: User) -> None:
    await studio.open('/')
    studio.find('Render').click()
    only(studio, 'render-frames').set_value(0)
    studio.find(marker='render-start').click()
    await studio.should_see('Cannot render: num_frames')
