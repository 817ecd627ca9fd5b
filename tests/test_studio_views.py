"""The studio in headless Chromium as a creator and their audience meet it: the view link, a pipeline waiting for
input, uploads the server refuses, the song list, deleting presets, morphs and share links."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from .browser import console_log, missing_browser, viewport, wait_until
from .server import RunningServer, serving
from .studio_pages import (
    active_tab,
    click_button,
    field,
    file_input,
    is_on,
    load,
    open_studio,
    open_tab,
    png,
    preset_card,
    prompt_text,
    screenshot,
    set_prompt,
    settle,
    shown,
    silence_wav,
    studio_browser,
    switch,
    visible_panel,
    visible_text,
)

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture(scope='module')
def views_server() -> Iterator[RunningServer]:
    """A server of its own: these tests load pipelines, upload files and save presets."""
    with serving() as running:
        yield running


@pytest.fixture(scope='module')
def browser(views_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    yield from studio_browser(views_server, tmp_path_factory.mktemp('chromium-profile'))


@pytest.fixture
def studio_page(browser: webdriver.Chrome, views_server: RunningServer) -> webdriver.Chrome:
    """The studio's own page, freshly loaded."""
    return open_studio(browser, views_server.url + '/')


def test_the_view_link_shows_the_controllers_values_live_and_read_only(browser: webdriver.Chrome,
                                                                      views_server: RunningServer) -> None:
    jam = httpx.post(f'{views_server.url}/api/v1/sessions', json={'name': 'jam'}).json()
    controller = browser.current_window_handle
    try:
        open_studio(browser, jam['control_url'])
        set_prompt(browser, 'a lighthouse in a storm')
        browser.switch_to.new_window('window')
        viewer = browser.current_window_handle
        viewport(browser, 1440, 900)
        open_studio(browser, jam['view_url'])
        assert wait_until(lambda: prompt_text(browser) == 'a lighthouse in a storm' or None), \
            f'the viewer does not see the prompt: {prompt_text(browser)!r}\n{console_log(browser)}'
        assert visible_text(browser, 'view only')
        assert wait_until(lambda: visible_text(browser, '1 controlling · 1 watching')), 'who is connected'
        pause = browser.find_element(By.XPATH, '//button[.//span[normalize-space()="Pause"]]')
        assert pause.get_attribute('disabled') is not None, 'a viewer cannot pause'
        assert browser.find_element(By.XPATH, '//button[.//span[normalize-space()="Reset"]]') \
            .get_attribute('disabled') is not None, 'a viewer cannot reset'
        assert browser.find_element(By.CSS_SELECTOR, '.ds-view-only-note').is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, '.ds-prompt textarea').get_attribute('readonly') is not None

        browser.switch_to.window(controller)
        set_prompt(browser, 'a field of paper lanterns')
        browser.switch_to.window(viewer)
        assert wait_until(lambda: prompt_text(browser) == 'a field of paper lanterns' or None), 'not live'
        browser.execute_script('document.activeElement && document.activeElement.blur()')
        browser.find_element(By.TAG_NAME, 'body').send_keys(' ')
        assert wait_until(lambda: visible_text(browser, 'This is a view-only link')), 'Space says nothing'
        assert httpx.get(f"{views_server.url}/api/v1/sessions/{jam['id']}").json()['parameters']['paused'] is False

        browser.switch_to.window(controller)
        target = browser.find_elements(By.CSS_SELECTOR, '.ds-prompt textarea')[-1]
        target.send_keys('a desert of glass at noon')
        steps = field(browser, 'Steps')
        steps.send_keys(Keys.CONTROL, 'a')
        steps.send_keys('1000')
        click_button(browser, 'Transition')
        browser.switch_to.window(viewer)
        morph = wait_until(lambda: shown(browser, '.ds-stage-morph'))
        assert morph and '/1000' in morph.text, 'the viewer does not see the morph a controller started'
        assert wait_until(lambda: visible_text(browser, 's left')), "the viewer's Prompt tab shows its progress"
        settle(driver=browser)
        screenshot(browser, 'view-link.png')
        open_studio(browser, jam['view_url'])
        assert wait_until(lambda: prompt_text(browser) == 'a desert of glass at noon' or None), \
            f'after a reload the viewer sees {prompt_text(browser)!r}'

        open_tab(browser, 'Generate')
        assert wait_until(lambda: visible_text(browser, 'Noise scale')), 'the viewer sees the generate values'
        sliders = [s for s in browser.find_elements(By.CSS_SELECTOR, '.q-slider') if s.is_displayed()]
        assert sliders and all(s.get_attribute('aria-disabled') == 'true' for s in sliders), 'sliders a viewer moves'
        open_tab(browser, 'Session')
        assert wait_until(lambda: visible_text(browser, 'this tab')), 'the viewer sees who is connected'
        browser.close()
    finally:
        browser.switch_to.window(controller)
        httpx.delete(f"{views_server.url}/api/v1/sessions/{jam['id']}")


def test_passthrough_without_input_points_to_the_media_tab(studio_page: webdriver.Chrome,
                                                           views_server: RunningServer) -> None:
    browser = studio_page
    load(views_server, 'passthrough')
    try:
        hint = wait_until(lambda: shown(browser, '.ds-stage-hint'))
        assert hint and 'No video input' in hint.text and 'Media tab' in hint.text, console_log(browser)
        reset = browser.find_element(By.XPATH, '//button[.//span[normalize-space()="Reset"]]')
        assert reset.is_displayed() and reset.get_attribute('disabled') is not None, 'Reset stays, disabled'
        click_button(browser, 'Open Media')
        assert wait_until(lambda: active_tab(browser) == 'Media' or None), f'now on {active_tab(browser)}'
    finally:
        load(views_server, 'dreamfield')
    assert wait_until(lambda: not shown(browser, '.ds-stage-hint')), 'the hint stays after the input need is gone'


def test_a_rejected_upload_shows_as_failed_and_a_stored_one_leaves_the_list(studio_page: webdriver.Chrome,
                                                                            tmp_path: Path) -> None:
    browser = studio_page
    open_tab(browser, 'LoRA')
    fake = tmp_path / 'fake.safetensors'
    fake.write_bytes(b'not a tensor file at all')
    file_input(browser).send_keys(str(fake))
    failed = wait_until(lambda: shown(browser, '.q-uploader__file--failed'))
    assert failed and 'fake.safetensors' in failed.text, console_log(browser)
    assert wait_until(lambda: visible_text(browser, 'fake.safetensors: Not a safetensors file'))
    assert not browser.find_elements(By.CSS_SELECTOR, '.q-uploader__file--uploaded'), 'never a green tick'

    open_tab(browser, 'Media')
    image = tmp_path / 'dawn.png'
    image.write_bytes(png(40, 30, (240, 160, 60)))
    file_input(browser).send_keys(str(image))
    assert wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, 'img[src="/api/v1/assets/dawn.png"]'))
    assert wait_until(lambda: not shown(browser, '.q-uploader__file')), 'the stored file left the drop zone'
    panel = visible_panel(browser).text
    assert '0.00%' not in panel and '0.0B' not in panel, 'an empty drop zone shows no byte counter'


def test_a_song_uploaded_in_media_appears_in_the_audio_tab_without_a_reload(studio_page: webdriver.Chrome,
                                                                            tmp_path: Path) -> None:
    browser = studio_page
    open_tab(browser, 'Audio')
    open_tab(browser, 'Media')
    song = tmp_path / 'night-drive.wav'
    song.write_bytes(silence_wav())
    file_input(browser).send_keys(str(song))
    assert wait_until(lambda: visible_text(browser, 'night-drive.wav uploaded')), console_log(browser)
    open_tab(browser, 'Audio')
    browser.find_element(By.XPATH, '//label[contains(@class, "q-select")][.//div[text()="Song (audio asset)"]]').click()
    assert wait_until(lambda: [i for i in browser.find_elements(By.CSS_SELECTOR, '.q-menu .q-item')
                               if i.text.strip() == 'night-drive.wav']), 'the song list is stale'
    browser.find_element(By.TAG_NAME, 'body').send_keys(Keys.ESCAPE)


def test_deleting_a_preset_asks_first(studio_page: webdriver.Chrome) -> None:
    browser = studio_page
    open_tab(browser, 'Presets')
    browser.find_element(By.CSS_SELECTOR, 'input[placeholder="Name this look"]').send_keys('Keep me', Keys.ENTER)
    preset = wait_until(lambda: preset_card(browser, 'Keep me'))
    assert preset
    preset.find_element(By.XPATH, './/button[.//i[text()="delete_outline"]]').click()
    question = 'Delete the preset “Keep me”?'
    assert wait_until(lambda: (dialog := shown(browser, '.q-dialog')) and question in dialog.text), \
        'no question before deleting'
    click_button(browser, 'Cancel')
    assert wait_until(lambda: not shown(browser, '.q-dialog'))
    kept = preset_card(browser, 'Keep me')
    assert kept, 'Cancel keeps the preset'
    kept.find_element(By.XPATH, './/button[.//i[text()="delete_outline"]]').click()
    assert wait_until(lambda: (dialog := shown(browser, '.q-dialog')) and 'Delete' in dialog.text)
    click_button(browser, 'Delete')
    assert wait_until(lambda: not preset_card(browser, 'Keep me')), 'the confirmed delete did not happen'
    assert wait_until(lambda: visible_text(browser, 'Preset “Keep me” deleted')), 'no word that it is gone'


def test_a_morph_to_a_preset_shows_its_seconds_and_progress_over_the_video(studio_page: webdriver.Chrome) -> None:
    browser = studio_page
    open_tab(browser, 'Prompt')
    steps = field(browser, 'Steps')
    steps.send_keys(Keys.CONTROL, 'a')
    steps.send_keys('240')
    assert wait_until(lambda: (text := visible_text(browser, '≈')) and ' s' in text), 'no duration in seconds'
    open_tab(browser, 'Presets')
    browser.find_element(By.CSS_SELECTOR, 'input[placeholder="Name this look"]').send_keys('Calm', Keys.ENTER)
    assert wait_until(lambda: preset_card(browser, 'Calm'))
    set_prompt(browser, 'fire, flames, burning embers')
    open_tab(browser, 'Presets')
    if not is_on(switch(browser, 'Morph to presets')):
        switch(browser, 'Morph to presets').click()
    assert wait_until(lambda: visible_text(browser, '240 steps ≈')), 'the morph length is not shown'
    calm = preset_card(browser, 'Calm')
    assert calm
    calm.find_element(By.XPATH, './/button[.//span[normalize-space()="Calm"]]').click()
    morph = wait_until(lambda: shown(browser, '.ds-stage-morph'))
    assert morph and morph.text.startswith('morph ') and '/240' in morph.text, console_log(browser)
    assert wait_until(lambda: visible_text(browser, 's left')), 'the Presets tab shows the progress too'


def test_share_links_say_what_they_are_and_confirm_the_copy(studio_page: webdriver.Chrome,
                                                             views_server: RunningServer) -> None:
    browser = studio_page
    open_tab(browser, 'Session')
    assert wait_until(lambda: visible_text(browser, 'Control link') and visible_text(browser, 'View link'))
    urls = [e.text for e in browser.find_elements(By.CSS_SELECTOR, '.ds-share-url') if e.is_displayed()]
    assert len(urls) == 2 and all(url.startswith(views_server.url + '/s/') and '?token=' in url for url in urls)
    click_button(browser, 'Copy', index=0)
    assert wait_until(lambda: visible_text(browser, 'Control link copied')), console_log(browser)
    assert browser.find_elements(By.XPATH, '//button[.//span[normalize-space()="Copied"]]')
    copied = browser.execute_async_script('navigator.clipboard.readText().then(arguments[0], () => arguments[0](null))')
    assert copied in (urls[0], None)  # None: this headless build does not let a page read the clipboard back
