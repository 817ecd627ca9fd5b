"""The studio in headless Chromium says what is true: the audio engine's words beside the creator's prompt, states
that agree, settings kept across reloads, panels that fit, a clean console and a precision this machine cannot run."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx
import pytest
import torch
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from .browser import console_log, missing_browser, wait_until
from .server import RunningServer, serving
from .studio_pages import (
    choose,
    chosen,
    click_button,
    field,
    is_on,
    open_studio,
    open_tab,
    preset_card,
    prompt_text,
    set_prompt,
    severe_console_lines,
    shown,
    studio_browser,
    studio_session,
    visible_text,
)

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser

# whether every text shown in the mapping cards fits its box (no select value or label cut off)
MAPPINGS_FIT = '''
const cards = [...document.querySelectorAll(".ds-mapping")].filter((card) => card.offsetParent !== null);
const cut = [...cards.flatMap((card) => [...card.querySelectorAll(".q-field__native > span, .q-field__label")])]
  .filter((text) => text.scrollWidth > text.clientWidth + 1).map((text) => text.textContent);
const panel = document.querySelector(".ds-panels");
return {cards: cards.length, cut, sideways: panel.scrollWidth - panel.clientWidth};
'''
# whether the page holds an element (shown or not) labelled `label` whose value or label is `text`: NiceGUI's element
# store on the page, since a tab kept alive while hidden is out of the document
REBUILT = '''
const [label, text] = arguments;
return Object.values(mounted_app.elements).some((e) => e.props && (label === null || e.props.label === label) &&
  (e.props.label === text || (e.props["model-value"] || {}).label === text));
'''
MORPH_SWITCH = '//div[contains(@class, "q-toggle")][.//div[normalize-space()="Morph to presets"]]'


@pytest.fixture(scope='module')
def states_server() -> Iterator[RunningServer]:
    """A server of its own: these tests start the audio engine and change the studio's values."""
    with serving() as running:
        yield running


@pytest.fixture(scope='module')
def browser(states_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    yield from studio_browser(states_server, tmp_path_factory.mktemp('chromium-profile'))


@pytest.fixture
def studio_page(browser: webdriver.Chrome, states_server: RunningServer) -> webdriver.Chrome:
    """The studio's own page, freshly loaded."""
    return open_studio(browser, states_server.url + '/')


def test_the_audio_engines_words_show_beside_the_creators_prompt_and_never_in_it(
        studio_page: webdriver.Chrome, states_server: RunningServer) -> None:
    browser = studio_page
    set_prompt(browser, 'a quiet harbour at dawn')
    with audio_engine(states_server, 'soundscape'):
        additions = wait_until(lambda: shown(browser, '.ds-additions-text'))
        assert additions and additions.text.startswith('The audio engine'), console_log(browser)
        assert prompt_text(browser) == 'a quiet harbour at dawn', "the prompt box holds the creator's words only"
        set_prompt(browser, 'a glass cathedral')
        rendered = wait_until(lambda: (p := parameters(states_server)['prompts'])[0]['text'] != 'a glass cathedral'
                              and p[0]['text'].startswith('a glass cathedral') and p)
        assert rendered, 'the engine adds its words to the newly applied prompt'
        assert prompt_text(browser) == 'a glass cathedral'
    assert wait_until(lambda: parameters(states_server)['prompts'] == [{'text': 'a glass cathedral', 'weight': 1.0}]), \
        f"the engine's words were baked in: {parameters(states_server)['prompts']}"
    assert wait_until(lambda: not shown(browser, '.ds-additions')), 'the words line stays after the engine stopped'


def test_what_the_studio_shows_agrees_with_what_happens(studio_page: webdriver.Chrome,
                                                        states_server: RunningServer) -> None:
    browser = studio_page
    open_tab(browser, 'Media')
    click_button(browser, 'Video asset')
    assert wait_until(lambda: visible_text(browser, 'Choose a video in the asset browser below'))
    assert wait_until(lambda: chosen(browser, 'Text only')), 'the toggle shows what this tab sends'
    assert not chosen(browser, 'Video asset')
    assert visible_text(browser, 'This tab sends: text only · the session generates from text')

    open_tab(browser, 'Generate')
    assert visible_text(browser, 'The seed of the running stream: a change shows at once.')
    seed = field(browser, 'Seed')
    before = parameters(states_server)['seed']
    seed.send_keys(Keys.CONTROL, 'a')
    seed.send_keys(str(before + 7))
    assert wait_until(lambda: visible_text(browser, 'Enter applies')), 'a typed seed does not say it waits'
    assert parameters(states_server)['seed'] == before
    seed.send_keys(Keys.ENTER)
    assert wait_until(lambda: parameters(states_server)['seed'] == before + 7), 'Enter did not apply the seed'
    assert wait_until(lambda: not visible_text(browser, 'Enter applies')), 'the pending hint stays after Enter'

    raw = browser.find_element(By.CSS_SELECTOR, '.ds-raw-parameters input')
    raw.send_keys('{noise_scale: 0.5}', Keys.ENTER)
    assert wait_until(lambda: visible_text(browser, 'Not JSON at character 2: keys and texts need double quotes'))
    assert not visible_text(browser, 'Expecting property name'), "Python's parser text"
    raw.send_keys(Keys.CONTROL, 'a')
    raw.send_keys('{"noise_scale": 0.45}', Keys.ENTER)
    assert wait_until(lambda: visible_text(browser, 'Applied: noise_scale'))
    assert parameters(states_server)['noise_scale'] == 0.45

    open_tab(browser, 'Pipeline')
    load_seed_hint = 'Where a freshly loaded pipeline starts; the seed in the Generate'
    assert wait_until(lambda: visible_text(browser, load_seed_hint)), 'the load seed is not told from the running one'

    open_tab(browser, 'Audio')
    assert audio_switch(browser) == ('Off', False), 'the switch says what it is'
    with audio_engine(states_server, 'beat-pulse'):
        assert wait_until(lambda: audio_switch(browser) == ('On', True)), f'{audio_switch(browser)}'
    assert wait_until(lambda: audio_switch(browser) == ('Off', False)), f'{audio_switch(browser)}'


def test_morph_to_presets_is_kept_across_a_reload(studio_page: webdriver.Chrome, states_server: RunningServer) -> None:
    browser = studio_page

    def morph_is(wanted: bool) -> bool:
        toggles = [e for e in browser.find_elements(By.XPATH, MORPH_SWITCH) if e.is_displayed()]
        return bool(toggles) and is_on(toggles[0]) == wanted

    for wanted in (True, False):
        open_tab(browser, 'Presets')
        if not morph_is(wanted):
            browser.find_element(By.XPATH, MORPH_SWITCH).click()
        assert wait_until(partial(morph_is, wanted))
        open_studio(browser, states_server.url + '/')
        open_tab(browser, 'Presets')
        assert wait_until(partial(morph_is, wanted)), \
            f'Morph {"on" if wanted else "off"} was not kept across the reload'


def test_panels_rebuilt_in_hidden_tabs_leave_a_clean_console(studio_page: webdriver.Chrome,
                                                            states_server: RunningServer) -> None:
    """The mappings (when an engine starts) and the preset list (a preset saved in another window) are rebuilt
    while their tabs are hidden: their tooltips log no "Anchor target not found"."""
    browser = studio_page
    open_tab(browser, 'Audio')
    browser.find_element(By.XPATH, '//div[contains(@class, "q-expansion-item")]//div[text()="Mappings"]').click()
    assert wait_until(lambda: shown(browser, '.ds-mapping'))
    open_tab(browser, 'Presets')
    open_tab(browser, 'Prompt')  # the Audio and Presets tabs are kept alive, out of the document
    errors = severe_console_lines(browser)
    assert not errors, '\n'.join(errors)

    with audio_engine(states_server, 'beat-pulse'):
        assert wait_until(lambda: browser.execute_script(REBUILT, 'Preset', 'beat-pulse')), \
            'the hidden mappings were not rebuilt for the running preset'
        main = browser.current_window_handle
        browser.switch_to.new_window('window')
        open_studio(browser, states_server.url + '/')
        open_tab(browser, 'Presets')
        browser.find_element(By.CSS_SELECTOR, 'input[placeholder="Name this look"]').send_keys('Quiet', Keys.ENTER)
        assert wait_until(lambda: preset_card(browser, 'Quiet'))
        browser.close()
        browser.switch_to.window(main)
        assert wait_until(lambda: browser.execute_script(REBUILT, None, 'Quiet')), \
            'the hidden preset list was not rebuilt'
        open_tab(browser, 'Audio')
        open_tab(browser, 'Presets')
        assert wait_until(lambda: preset_card(browser, 'Quiet')), 'the rebuilt preset list is not shown'
    errors = severe_console_lines(browser)
    assert not errors, '\n'.join(errors)


def test_the_mappings_fit_the_panel_without_scrolling_sideways(studio_page: webdriver.Chrome) -> None:
    browser = studio_page
    open_tab(browser, 'Audio')
    if not shown(browser, '.ds-mapping'):
        browser.find_element(By.XPATH, '//div[contains(@class, "q-expansion-item")]//div[text()="Mappings"]').click()
    assert wait_until(lambda: shown(browser, '.ds-mapping'))
    fit = browser.execute_script(MAPPINGS_FIT)
    assert fit['cards'] >= 2 and fit['sideways'] <= 0, f'the Audio tab scrolls sideways: {fit}'
    assert not fit['cut'], f'names cut off in the mappings: {fit["cut"]}'


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks a machine without CUDA')
def test_half_precision_without_cuda_is_refused_with_a_reason(studio_page: webdriver.Chrome,
                                                             states_server: RunningServer) -> None:
    browser = studio_page
    open_tab(browser, 'Pipeline')
    choose(browser, 'Pipeline', 'StreamDiffusion')
    browser.find_element(By.XPATH, '//div[contains(@class, "q-expansion-item")]//div[starts-with(text(), '
                                   '"Load parameters")]').click()
    assert wait_until(lambda: visible_text(browser, 'float16 and bfloat16 need a CUDA GPU'))
    choose(browser, 'Precision (auto: fp16 on CUDA)', 'float16')
    click_button(browser, 'Load')
    assert wait_until(lambda: visible_text(
        browser, "Cannot load 'streamdiffusion' on this machine: precision float16 needs a CUDA GPU"))
    assert httpx.get(f'{states_server.url}/api/v1/pipeline/status').json()['pipeline_ids'] == ['dreamfield']


def parameters(server: RunningServer) -> dict[str, Any]:
    """The studio session's parameters as the REST API reports them."""
    detail = studio_session(server)
    values: dict[str, Any] = detail['parameters']  # type: ignore[assignment]
    return values


@contextmanager
def audio_engine(server: RunningServer, preset: str) -> Iterator[None]:
    """The studio session's audio engine on a test beat with a preset, for the length of a `with` block."""
    url = f"{server.url}/api/v1/audio/sessions/{studio_session(server)['id']}"
    started = httpx.post(f'{url}/start', json={'source': {'kind': 'test', 'bpm': 120}, 'preset': preset})
    assert started.status_code == 200, started.text
    try:
        yield
    finally:
        httpx.post(f'{url}/stop').raise_for_status()


def audio_switch(driver: webdriver.Chrome) -> tuple[str, bool] | None:
    """The Audio tab's on/off switch: its label and whether it is on."""
    toggles = [e for e in driver.find_elements(
        By.XPATH, '//div[contains(@class, "q-toggle")][.//div[normalize-space()="On" or normalize-space()="Off"]]')
        if e.is_displayed()]
    try:
        return (toggles[0].text.strip(), is_on(toggles[0])) if toggles else None
    except StaleElementReferenceException:  # the panel re-rendered meanwhile: ask again
        return None
