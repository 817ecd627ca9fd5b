"""The studio page: layout, shared and view-only links, two tabs in step, who is connected and what changed."""
from __future__ import annotations

from collections.abc import Callable

from nicegui import app
from nicegui.testing import User

from ui.prompt_list import APPLY_KEY
from ui.schema_form import LabelledSlider
from ui.shortcuts import SHORTCUTS

from .studio_helpers import press
from .waiting import until

# pylint: disable=missing-function-docstring


async def test_the_studio_shows_the_live_video_and_every_panel(studio: User) -> None:
    await studio.open('/')
    await studio.should_see(marker='video')
    await studio.should_see(marker='stats')
    for tab in ('Prompt', 'Generate', 'Presets', 'Pipeline', 'LoRA', 'Media', 'Audio', 'Session'):
        await studio.should_see(tab)
    await studio.should_see('Dreamfield (CPU)')
    await studio.should_see('a dreamy nebula of soft light')


async def test_the_keyboard_shortcuts_are_listed(studio: User) -> None:
    await studio.open('/')
    studio.find('Session').click()
    for shortcut in SHORTCUTS:
        await studio.should_see(shortcut.label)
    await studio.should_see('Space')


async def test_the_audio_tab_holds_the_audio_panel(studio: User) -> None:
    await studio.open('/')
    studio.find('Audio').click()
    await studio.should_see(marker='audio-panel')


async def test_two_tabs_show_the_same_values_live(studio: User, create_user: Callable[[], User]) -> None:
    second = create_user()
    await studio.open('/')
    await second.open('/')
    studio.find(marker='prompt-0').type(', now golden').trigger(APPLY_KEY)
    await second.should_see('a dreamy nebula of soft light, now golden')
    slider = second.find(marker='control-noise_scale').elements.pop()
    assert isinstance(slider, LabelledSlider)
    slider.set_value(0.25)
    assert await until(lambda: app.state.context.sessions.studio().state.snapshot()['noise_scale'] == 0.25)
    slider = next(iter(studio.find(marker='control-noise_scale').elements))
    assert await until(lambda: slider.value == 0.25)  # type: ignore[attr-defined]


async def test_a_change_from_a_scope_client_reaches_the_controls(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.studio()
    session.update({'prompts': [{'text': 'a forest of glass trees', 'weight': 1.0}], 'paused': True}, source='scope')
    await studio.should_see('a forest of glass trees')
    await studio.should_see('Resume')
    await studio.should_see('PAUSED')


async def test_the_session_tab_shows_links_peers_and_recent_changes(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.studio()
    studio.find('Session').click()
    await studio.should_see(marker='link-control')
    await studio.should_see(marker='link-view')
    await studio.should_see('Nobody is connected over WebRTC.')
    session.update({'noise_scale': 0.33}, source='midi-desk')
    await studio.should_see('midi-desk')
    await studio.should_see('noise_scale')


async def test_a_view_only_link_shows_the_values_read_only(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.create(kind='named', name='stage')
    await studio.open(f'/s/{session.id}?token={session.tokens["view"]}')
    await studio.should_see(marker='view-only')
    await studio.should_see('a dreamy nebula of soft light')
    await studio.should_not_see(marker='tab-pipeline')
    await studio.should_not_see(marker='link-control')
    await studio.should_not_see(marker='apply-prompts')
    await studio.should_not_see(marker='raw-parameters')
    prompt = studio.find(marker='prompt-0')
    assert all('readonly' in element.props for element in prompt.elements)
    slider = next(iter(studio.find(marker='control-noise_scale').elements))
    assert slider.value == 0.7  # type: ignore[attr-defined]
    assert not any(element.enabled for element in slider.descendants()  # type: ignore[attr-defined]
                   if hasattr(element, 'enabled'))
    assert not any(element.enabled for element in studio.find(marker='pause').elements)  # type: ignore[attr-defined]
    await studio.should_see(marker='transport-view-only')
    for element in prompt.elements:
        element.value = 'something else'  # type: ignore[attr-defined]
    studio.find(marker='prompt-0').trigger(APPLY_KEY)
    assert session.state.snapshot()['prompts'][0]['text'] == 'a dreamy nebula of soft light'
    assert any('view-only link' in message for message in studio.notify.messages), 'a refused change says why'

    session.update({'prompts': [{'text': 'a lighthouse in a storm', 'weight': 1.0}], 'noise_scale': 0.4},
                   source='control-desk')
    await studio.should_see('a lighthouse in a storm')
    assert await until(lambda: slider.value == 0.4)  # type: ignore[attr-defined]


async def test_a_viewer_is_told_that_shortcuts_which_change_the_session_are_not_theirs(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.create(kind='named', name='stage')
    await studio.open(f'/s/{session.id}?token={session.tokens["view"]}')
    await studio.should_see(marker='view-only')
    await press(studio, ' ')
    assert await until(lambda: any('view-only link' in message for message in studio.notify.messages))
    assert not session.state.paused


async def test_a_shared_link_with_a_control_token_controls_that_session(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.create(kind='named', name='stage')
    await studio.open(f'/s/{session.id}?token={session.tokens["control"]}')
    await studio.should_see('stage')
    studio.find(marker='prompt-0').type(' over a lake').trigger(APPLY_KEY)
    assert await until(lambda: session.state.snapshot()['prompts'][0]['text'] ==
                       'a dreamy nebula of soft light over a lake')
    assert app.state.context.sessions.studio().state.snapshot()['prompts'][0]['text'] == 'a dreamy nebula of soft light'


async def test_a_wrong_token_or_an_ended_session_is_explained(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.create(kind='named', name='stage')
    await studio.open(f'/s/{session.id}?token=guess')
    await studio.should_see('This link is missing its token, or the token is wrong.')
    await studio.open('/s/no-such-session?token=x')
    await studio.should_see('This session has ended or never existed.')


async def test_an_ended_session_says_so_on_its_page(studio: User) -> None:
    await studio.open('/')
    session = app.state.context.sessions.create(kind='named', name='stage')
    await studio.open(f'/s/{session.id}?token={session.tokens["control"]}')
    session.close()
    assert await until(lambda: any('has ended' in message for message in studio.notify.messages))



async def test_a_daydream_streams_session_tab_shows_its_urls(studio: User) -> None:
    await studio.open('/')
    context = app.state.context
    stream = context.streams.create({'pipeline': 'streamdiffusion', 'params': {'prompt': 'a tide pool'}})
    try:
        await studio.open(f'/s/{stream.session.id}?token={stream.session.tokens["control"]}')
        await studio.should_see(f'stream {stream.id}')
        studio.find('Session').click()
        for marker, path in (('stream-whip', f'/live/video-to-video/{stream.stream_key}/whip'),
                             ('stream-whep', f'/playback/{stream.playback_id}/whep'),
                             ('stream-hls', f'/playback/{stream.playback_id}/hls/index.m3u8')):
            await studio.should_see(marker=f'link-{marker}')
            assert studio.find(marker=f'link-{marker}').elements.pop().text.endswith(path)  # type: ignore[attr-defined]
        await studio.open(f'/s/{stream.session.id}?token={stream.session.tokens["view"]}')
        studio.find('Session').click()
        await studio.should_see(marker='link-stream-whep')
        await studio.should_not_see(marker='link-stream-whip')
    finally:
        await context.streams.delete(stream)
