"""The studio as a creator meets it: the audio engine's words apart, morphs in seconds, questions before deleting,
states that agree, and feedback for every action (NiceGUI's simulated user; the browser's part is in
test_studio_views.py)."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from nicegui import app
from nicegui.testing import User

from audio.sources import SourceSpec
from ui.morph import seconds_of
from ui.prompt_list import APPLY_KEY

from .studio_helpers import only, session

# pylint: disable=missing-function-docstring

NEBULA = 'a dreamy nebula of soft light'


async def until(condition: Callable[[], Any], timeout: float = 30) -> Any:
    """The first truthy result of `condition`, polled while the app runs (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, 'the condition did not come true in time'
        await asyncio.sleep(0.05)
    return result


async def test_the_audio_engines_words_stay_out_of_the_creators_prompt(studio: User, studio_home: Path) -> None:
    await studio.open('/')
    audio = app.state.context.audio
    await asyncio.to_thread(audio.start, session(), SourceSpec(kind='test', bpm=128), 'soundscape')
    try:
        rendered = await until(lambda: (p := session().state.snapshot()['prompts'])[0]['text'] != NEBULA and p)
        assert rendered[0]['text'].startswith(f'{NEBULA}, ')
        await studio.should_see('The audio engine adds:', retries=50)
        assert only(studio, 'prompt-0').value == NEBULA, "the prompt box holds the creator's words only"

        studio.find(marker='prompt-0').clear().type('a glass cathedral').trigger(APPLY_KEY)
        assert session().state.authored_prompts() == [{'text': 'a glass cathedral', 'weight': 1.0}]
        await until(lambda: session().state.snapshot()['prompts'][0]['text'].startswith('a glass cathedral, '))
        await asyncio.sleep(0.3)
        assert only(studio, 'prompt-0').value == 'a glass cathedral'

        studio.find('Presets').click()
        studio.find(marker='preset-name').type('Cathedral').trigger('keydown.enter')
        saved = json.loads((studio_home / 'presets' / 'cathedral.json').read_text())
        assert saved['parameters']['prompts'] == [{'text': 'a glass cathedral', 'weight': 1.0}], 'no words baked in'
    finally:
        await asyncio.to_thread(audio.stop, session().id)
    await until(lambda: session().state.snapshot()['prompts'] == [{'text': 'a glass cathedral', 'weight': 1.0}])
    studio.find('Prompt').click()
    await studio.should_not_see('The audio engine adds:', retries=20)


async def test_morphs_are_shown_in_seconds_and_their_progress_wherever_they_start(studio: User) -> None:
    await studio.open('/')
    steps = only(studio, 'transition-steps')
    assert seconds_of(int(steps.value), session()) >= 1.5, 'the default morph reads as a morph, not a cut'
    await studio.should_see(marker='transition-seconds')
    steps.set_value(240)
    await until(lambda: only(studio, 'transition-seconds').text == f'≈ {seconds_of(240, session()):.1f} s')

    studio.find('Presets').click()
    studio.find(marker='preset-name').type('Start').trigger('keydown.enter')
    session().update({'prompts': [{'text': 'desert dunes at dusk', 'weight': 1.0}]}, source='scope')
    only(studio, 'preset-morph').set_value(True)
    await until(lambda: only(studio, 'preset-morph-length').text.startswith('240 steps ≈ '))
    studio.find(marker='preset-Start').click()
    status = await until(lambda: (text := only(studio, 'morph-status').text) != 'idle' and text)
    assert '/240 · ' in status and status.endswith(' s left')
    await studio.should_see(marker='stage-morph')
    assert only(studio, 'stage-morph-label').text.startswith('morph ')


async def test_deleting_a_preset_asks_first_and_says_it_is_gone(studio: User, studio_home: Path) -> None:
    await studio.open('/')
    studio.find('Presets').click()
    studio.find(marker='preset-name').type('Keep me').trigger('keydown.enter')
    file = studio_home / 'presets' / 'keep-me.json'
    assert file.is_file()
    studio.find(marker='delete-preset-Keep me').click()
    await studio.should_see('Delete the preset “Keep me”?')
    studio.find(marker='confirm-cancel').click()
    await asyncio.sleep(0.1)
    assert file.is_file(), 'Cancel keeps it'
    studio.find(marker='delete-preset-Keep me').click()
    await studio.should_see('Delete the preset “Keep me”?')
    studio.find(marker='confirm-action').click()
    await until(lambda: not file.exists())
    assert 'Preset “Keep me” deleted' in studio.notify.messages
    await studio.should_not_see(marker='preset-Keep me')


async def test_the_audio_switch_says_what_it_is(studio: User) -> None:
    await studio.open('/')
    studio.find('Audio').click()
    switch = only(studio, 'audio-switch')
    assert (switch.value, switch.text) == (False, 'Off')
    await asyncio.to_thread(app.state.context.audio.start, session(), SourceSpec(kind='test'), 'beat-pulse')
    try:
        await until(lambda: switch.value and switch.text == 'On')
    finally:
        await asyncio.to_thread(app.state.context.audio.stop, session().id)
    await until(lambda: not switch.value and switch.text == 'Off')


async def test_video_asset_without_a_video_keeps_showing_what_is_sent(studio: User) -> None:
    await studio.open('/')
    studio.find('Media').click()
    await studio.should_see('This tab sends: text only · the session generates from text', retries=20)
    only(studio, 'input-source').set_value('video')
    await studio.should_see('Choose a video in the asset browser below')
    await until(lambda: only(studio, 'input-source').value == 'none')


async def test_the_input_status_counts_frames_only_while_they_come_in(studio: User) -> None:
    await studio.open('/')
    studio.find('Media').click()
    status = only(studio, 'input-status')
    session().update({'input_mode': 'video'}, source='scope')  # a Scope client sends video

    def fed_and_counted() -> bool:
        session().receive_input(BlackFrame())
        return 'the session transforms video · ' in status.text and ' input frames so far' in status.text

    await until(fed_and_counted)
    await until(lambda: status.text.endswith('the session transforms video · no input is coming in'))
    session().update({'input_mode': 'text'}, source='scope')
    await until(lambda: status.text == 'This tab sends: text only · the session generates from text')


async def test_send_parameters_explains_bad_json_in_words_and_confirms_good(studio: User) -> None:
    await studio.open('/')
    studio.find('Generate').click()
    box = only(studio, 'raw-parameters')
    studio.find(marker='raw-parameters').type('{noise_scale: 0.5}').trigger('keydown.enter')
    assert box.props['error-message'] == ('Not JSON at character 2: keys and texts need double quotes. '
                                          'Example: {"noise_scale": 0.5}')
    studio.find(marker='raw-parameters').clear().type('{"noise_scale": 0.45}').trigger('keydown.enter')
    assert 'error' not in box.props
    assert session().state.snapshot()['noise_scale'] == 0.45
    assert 'Applied: noise_scale' in studio.notify.messages


async def test_a_typed_seed_shows_that_it_waits_for_enter(studio: User) -> None:
    await studio.open('/')
    studio.find('Generate').click()
    await studio.should_see(marker='seed-hint')
    seed = only(studio, 'control-seed')
    studio.find(marker='control-seed').clear().type('7')  # typed, not applied yet
    await until(lambda: seed.value == 7)
    assert seed.props.get('hint') == 'Enter applies' and seed.props.get('color') == 'warning'
    assert session().state.snapshot()['seed'] == 42
    studio.find(marker='control-seed').trigger('keydown.enter')
    assert session().state.snapshot()['seed'] == 7
    assert 'hint' not in seed.props
    studio.find('Pipeline').click()
    await studio.should_see('Where a freshly loaded pipeline starts; the seed in the Generate tab changes the running')


async def test_reset_stays_in_place_and_says_why_it_is_off(studio: User,
                                                          studio_load: Callable[..., Awaitable[None]]) -> None:
    await studio.open('/')
    reset = only(studio, 'reset-cache')
    assert reset.enabled
    await studio_load('passthrough')
    await until(lambda: not reset.enabled)
    assert reset.visible
    await studio.should_see('Passthrough keeps no cache to reset')
    await studio.should_see('No video input')
    await studio.should_see(marker='open-media')


async def test_share_links_say_what_they_are_for(studio: User) -> None:
    await studio.open('/')
    studio.find('Session').click()
    await studio.should_see('Control link')
    await studio.should_see('whoever has it can change everything')
    await studio.should_see('View link')
    await studio.should_see('for the audience')
    studio_session = session()
    view = only(studio, 'link-view').text
    assert view.endswith(f'/s/{studio_session.id}?token={studio_session.tokens["view"]}'), 'the whole address shows'


class BlackFrame:
    """An incoming video frame: black at any size."""

    def to_rgb(self, width: int | None, height: int | None) -> np.ndarray:
        return np.zeros((height or 64, width or 64, 3), np.uint8)
