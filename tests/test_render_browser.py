"""The Render tab in headless Chromium against a real server: render a clip, watch it play, download the MP4."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from .batch_wire import WireClient
from .browser import console_log, missing_browser, start_chromium
from .server import RunningServer
from .test_batch_api import decode_mp4
from .waiting import wait_until

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser

RENDER_TAB = '//div[contains(@class, "q-tab ")][.//div[text()="Render"]]'
# The rendered clip's element once it can play: its size, length and whether it advances.
VIDEO_STATE = '''
const video = document.querySelector("video.ds-render-video");
if (!video || video.readyState < 2) return null;
return {width: video.videoWidth, height: video.videoHeight, duration: video.duration, time: video.currentTime,
        paused: video.paused, src: video.currentSrc};
'''


@pytest.fixture(scope='module')
def render_server() -> Iterator[RunningServer]:
    """A server of its own with dreamfield at 64x64 (renders are quick)."""
    running = RunningServer(pipeline='none')
    try:
        running.wait_ready(loaded=False)
        WireClient(running.url).load(['dreamfield'], {'width': 64, 'height': 64})
        yield running
    finally:
        running.stop()


@pytest.fixture(scope='module')
def browser(render_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path_factory.mktemp('chromium-profile'))
    try:
        driver.get(render_server.url + '/')
        yield driver
    finally:
        try:
            driver.execute_script('if (window.dreamstage) window.dreamstage.stop();')
        finally:
            driver.quit()


def test_the_render_tab_renders_a_clip_that_plays_and_downloads(browser: webdriver.Chrome,
                                                                render_server: RunningServer) -> None:
    tab = wait_until(lambda: browser.find_elements(By.XPATH, RENDER_TAB))
    assert tab, f'no Render tab\n{console_log(browser)}'
    tab[0].click()
    frames = wait_until(lambda: [f for f in browser.find_elements(By.CSS_SELECTOR, '.ds-render-frames input')
                                 if f.is_displayed()])
    assert frames
    frames[0].send_keys(Keys.CONTROL, 'a')
    frames[0].send_keys('24', Keys.TAB)
    browser.find_element(By.CSS_SELECTOR, '.ds-render-start').click()
    state: dict[str, Any] | None = wait_until(lambda: browser.execute_script(VIDEO_STATE), 60)
    assert state, f'no rendered clip\n{console_log(browser)}\n{render_server.output()}'
    assert state['width'] == 64 and state['height'] == 64 and state['duration'] > 0.5
    advanced = wait_until(lambda: (s := browser.execute_script(VIDEO_STATE)) and not s['paused']
                          and s['time'] > 0.05)
    assert advanced, f'the clip does not play: {browser.execute_script(VIDEO_STATE)}'
    assert 'done: 24 frames' in browser.find_element(By.CSS_SELECTOR, '.ds-render-status').text
    link = browser.find_element(By.CSS_SELECTOR, 'a.ds-render-download').get_attribute('href')
    assert link is not None
    mp4 = httpx.get(link, timeout=30)
    assert mp4.status_code == 200 and mp4.headers['content-type'] == 'video/mp4'
    assert len(decode_mp4(mp4.content)) == 24
