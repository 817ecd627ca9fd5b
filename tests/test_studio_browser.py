"""The studio in headless Chromium against a real server: video, prompts, uploads, pipelines, webcam, reconnects."""
from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import av
import httpx
import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from .browser import MEAN_COLOUR, console_log, missing_browser, start_chromium, viewport, wait_until
from .server import RunningServer, serving
from .studio_pages import button, choose, click_button, open_tab, page_text, png, screenshot, set_prompt, settle, shown

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser

T = TypeVar('T')
FIRE = 'fire, flames, lava, burning embers'
OCEAN = 'blue ocean, deep sea underwater'

# Frames presented (requestVideoFrameCallback) and media time advanced: answers once `frames` frames were presented
# and media time moved on by more than 0.1 s, or after `ms` milliseconds with what it saw by then.
PLAYBACK = '''
const [frames, ms, done] = arguments;
const video = document.querySelector(".ds-video");
const start = video.currentTime;
let presented = 0, answered = false;
const answer = () => {
  if (answered) return;
  answered = true;
  done({presented, seconds: video.currentTime - start, width: video.videoWidth, height: video.videoHeight});
};
const count = () => {
  presented += 1;
  if (presented >= frames && video.currentTime - start > 0.1) answer();
  else if (!answered) video.requestVideoFrameCallback(count);
};
video.requestVideoFrameCallback(count);
setTimeout(answer, ms);
'''


# The phone test's figures: viewport width, how far the page overflows it, and whether the video comes first.
PHONE_LAYOUT = '''
const video = document.querySelector(".ds-video").getBoundingClientRect();
const tabs = document.querySelector(".ds-tabs").getBoundingClientRect();
return {width: innerWidth, overflow: document.documentElement.scrollWidth - innerWidth,
        video_first: video.width > 350 && tabs.top > video.bottom - 1};
'''

# A snapshot, or a recording of the next `frames` presented frames.
BLOB = '''
const [what, frames, done] = arguments;
const studio = window.dreamstageStudio;
const video = document.querySelector(".ds-video");
const read = (blob) => { const reader = new FileReader(); reader.onload = () => done({type: blob.type,
  size: blob.size, data: reader.result.split(",")[1].slice(0, 64)}); reader.readAsDataURL(blob); };
if (what === "snapshot") studio.snapshotBlob().then(read);
else {
  studio.toggleRecording(read);
  let presented = 0;
  const count = () => {
    presented += 1;
    if (presented >= frames) studio.toggleRecording(); else video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
}
'''


@pytest.fixture(scope='module')
def studio_server() -> Iterator[RunningServer]:
    """A server of its own: these tests load other pipelines and upload assets."""
    with serving() as running:
        yield running


@pytest.fixture(scope='module')
def browser(studio_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a 1280x720 viewport, showing the studio."""
    driver = start_chromium(tmp_path_factory.mktemp('chromium-profile'))
    try:
        viewport(driver, 1280, 720)
        driver.get(studio_server.url + '/')
        yield driver
    finally:
        try:
            driver.execute_script('if (window.dreamstage) window.dreamstage.stop();')
        finally:
            driver.quit()


@pytest.fixture
def explain(browser: webdriver.Chrome, studio_server: RunningServer) -> Callable[[str], str]:
    """A failure message with the page's state, its console and the server log."""

    def message(what: str) -> str:
        state = browser.execute_script('return document.querySelector(".ds-conn-state")?.textContent')
        return f'{what}\nconnection: {state}\nconsole:\n{console_log(browser)}\nserver log:\n{studio_server.output()}'

    return message


def test_the_studio_plays_video_and_a_prompt_changes_the_picture(browser: webdriver.Chrome,
                                                                 explain: Callable[[str], str]) -> None:
    assert wait_until(lambda: playing(browser)), explain('no video in the studio')
    assert wait_until(lambda: connection(browser) == 'connected' or None), explain('not connected')
    set_prompt(browser, FIRE)
    red = wait_until(lambda: colour if (colour := mean_colour(browser))[0] > colour[2] + 10 else None)
    assert red, explain(f'a fire prompt should look red, not {mean_colour(browser)}')
    set_prompt(browser, OCEAN)
    blue = wait_until(lambda: colour if (colour := mean_colour(browser))[2] > colour[0] + 10 else None)
    assert blue, explain(f'an ocean prompt should turn the picture blue; before {red}, now {mean_colour(browser)}')
    assert sum(abs(a - b) for a, b in zip(red, blue, strict=True)) > 40
    screenshot(browser, 'studio.png')


def test_the_stats_overlay_snapshot_and_recording_work(browser: webdriver.Chrome,
                                                       explain: Callable[[str], str]) -> None:
    """The overlay shows the frame rate (bench/bench_studio.py reports its figure), size, latency and connection."""
    assert wait_until(lambda: playing(browser)), explain('no video')
    stats = wait_until(lambda: overlay if float((overlay := overlay_figures(browser))['fps']) > 0 else None)
    assert stats and stats['width'] == '512', explain(f'stats overlay: {overlay_figures(browser)}')
    assert 'fps' in stats['text'] and 'ms' in stats['text'] and 'connected' in stats['text']
    snapshot = browser.execute_async_script(BLOB, 'snapshot', 0)
    assert snapshot['type'] == 'image/png' and base64.b64decode(snapshot['data'])[:8] == b'\x89PNG\r\n\x1a\n'
    recording = browser.execute_async_script(BLOB, 'recording', 30)
    assert recording['type'] == 'video/webm' and recording['size'] > 1000, explain(f'recording: {recording}')


def test_shortcuts_pause_and_resume(browser: webdriver.Chrome, studio_server: RunningServer,
                                    explain: Callable[[str], str]) -> None:
    body = browser.find_element(By.TAG_NAME, 'body')
    browser.execute_script('document.activeElement && document.activeElement.blur()')
    body.send_keys(' ')
    assert wait_until(lambda: button(browser, 'Resume')), explain('space did not pause')
    assert studio_parameters(studio_server)['paused'] is True
    body.send_keys(' ')
    assert wait_until(lambda: button(browser, 'Pause')), explain('space did not resume')
    assert wait_until(lambda: playing(browser)), explain('no video after resuming')


def test_an_asset_upload_appears_in_the_browser(browser: webdriver.Chrome, studio_server: RunningServer,
                                                tmp_path: Path, explain: Callable[[str], str]) -> None:
    open_tab(browser, 'Media')
    image = tmp_path / 'sunrise.png'
    image.write_bytes(png(48, 32, (250, 170, 60)))
    field = browser.find_element(By.CSS_SELECTOR, '.ds-upload input[type=file]')
    field.send_keys(str(image))
    thumb = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, 'img[src="/api/v1/assets/sunrise.png"]'))
    assert thumb, explain('the uploaded image is not in the asset browser')
    assert (studio_server.assets_dir / 'sunrise.png').read_bytes() == image.read_bytes()
    assert wait_until(lambda: thumb[0].get_property('naturalWidth') == 48 or None), explain('no thumbnail')


def test_another_pipeline_loads_and_the_webcam_feeds_it(browser: webdriver.Chrome, studio_server: RunningServer,
                                                        explain: Callable[[str], str]) -> None:
    open_tab(browser, 'Pipeline')
    choose(browser, 'Pipeline', 'Passthrough')
    click_button(browser, 'Load')
    assert wait_until(lambda: 'Passthrough' in header_pipeline(browser) or None), explain('passthrough not loaded')
    open_tab(browser, 'Media')
    click_button(browser, 'Webcam')
    camera = wait_until(lambda: p if (p := playing(browser)) and p['width'] == 640 else None)
    assert camera, explain(f'the fake webcam does not come back through passthrough: {playing(browser)}')
    assert wait_until(lambda: 'the session transforms video' in page_text(browser) or None), \
        explain('not in video mode')

    httpx.post(f'{studio_server.url}/api/v1/assets', params={'filename': 'green.webm'},
               content=webm(320, 240, (40, 200, 80))).raise_for_status()
    use = ('//video[contains(@src, "green.webm")]/ancestor::div[contains(@class, "ds-asset")]'
           '//button[.//i[text()="input"]]')
    buttons = wait_until(lambda: browser.find_elements(By.XPATH, use))
    assert buttons, explain('the uploaded video is not in the asset browser')
    buttons[0].click()
    clip = wait_until(lambda: p if (p := playing(browser)) and p['width'] == 320 else None)
    assert clip, explain(f'the video asset does not come back through passthrough: {playing(browser)}')
    colour = mean_colour(browser)
    assert colour[1] > colour[0] + 60 and colour[1] > colour[2] + 60, explain(f'not the green clip: {colour}')

    click_button(browser, 'Text only')
    assert wait_until(lambda: 'the session transforms video · no input is coming in' in page_text(browser) or None), \
        explain('a count of frames that stopped coming reads as live')
    open_tab(browser, 'Pipeline')
    choose(browser, 'Pipeline', 'Dreamfield (CPU)')
    choose(browser, 'Resolution', '16:9 · 576x320')
    click_button(browser, 'Load')
    wide = wait_until(lambda: p if (p := playing(browser)) and p['width'] == 576 else None)
    assert wide and wide['height'] == 320, explain(f'dreamfield at 576x320 does not play: {playing(browser)}')
    httpx.post(f'{studio_server.url}/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).raise_for_status()
    assert wait_until(lambda: p if (p := playing(browser)) and p['width'] == 512 else None)
    open_tab(browser, 'Media')
    assert wait_until(lambda: 'This tab sends: text only · the session generates from text' in page_text(browser)
                      or None), explain('back in text mode, the status still speaks of video input')


def test_a_dropped_connection_reconnects_by_itself(browser: webdriver.Chrome, studio_server: RunningServer,
                                                   explain: Callable[[str], str]) -> None:
    assert wait_until(lambda: connection(browser) == 'connected' or None), explain('not connected')
    peer = browser.execute_script('return window.dreamstage.sessionId')
    httpx.delete(f'{studio_server.url}/api/v1/webrtc/offer/{peer}').raise_for_status()
    assert wait_until(lambda: (browser.execute_script('return window.dreamstage.sessionId') or peer) != peer or None), \
        explain('the stream did not reconnect')
    assert wait_until(lambda: connection(browser) == 'connected' or None), explain('not connected again')
    assert wait_until(lambda: playing(browser)), explain('no video after the reconnect')


def test_the_studio_fits_a_phone(browser: webdriver.Chrome, explain: Callable[[str], str]) -> None:
    """390x844 with touch: video first, the transport bar in one row, every tab in view, words for fingers, song
    box and mappings within the width."""
    try:
        browser.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                                {'width': 390, 'height': 844, 'deviceScaleFactor': 2, 'mobile': True})
        browser.execute_cdp_cmd('Emulation.setTouchEmulationEnabled', {'enabled': True, 'maxTouchPoints': 5})
        browser.get(browser.current_url)
        assert wait_until(lambda: playing(browser)), explain('no video on the phone')
        overflow = browser.execute_script('return document.documentElement.scrollWidth - innerWidth')
        video = browser.find_element(By.CSS_SELECTOR, '.ds-video').rect
        tabs = browser.find_element(By.CSS_SELECTOR, '.ds-tabs').rect
        assert overflow <= 0, explain(f'the page is {overflow} px wider than a phone')
        assert video['width'] > 350 and tabs['y'] > video['y'] + video['height'] - 1, 'the video should come first'
        transport = [b.rect for b in browser.find_elements(By.CSS_SELECTOR, '.ds-transport .q-btn')]
        middles = [rect['y'] + rect['height'] / 2 for rect in transport]
        assert max(middles) - min(middles) < 12, f'the transport bar wraps: button middles at {middles}'
        assert all(rect['height'] <= 40 for rect in transport), f'labels wrap inside the buttons: {transport}'
        for tab in browser.find_elements(By.CSS_SELECTOR, '.ds-tabs .q-tab'):
            rect = tab.rect
            assert tab.is_displayed() and rect['x'] >= 0 and rect['x'] + rect['width'] <= 391, \
                f'the tab {tab.text!r} is cut off at {rect}'
        open_tab(browser, 'Media')
        assert 'Tap + to add images, videos or audio' in page_text(browser), 'a phone cannot drop files'
        open_tab(browser, 'Audio')
        song_box = next(e for e in browser.find_elements(By.CSS_SELECTOR, '.ds-upload-title') if e.is_displayed())
        assert song_box.text == 'Tap + to add a song' and song_box.rect['height'] < 30, \
            f'the song drop box wraps: {song_box.text!r} in {song_box.rect}'
        browser.find_element(By.XPATH, '//div[contains(@class, "q-expansion-item")]//div[text()="Mappings"]').click()
        assert wait_until(lambda: shown(browser, '.ds-mapping')), 'no mappings shown'
        assert browser.execute_script('return document.documentElement.scrollWidth - innerWidth') <= 0, \
            'the mappings make the page scroll sideways'
        assert all(e.rect['x'] + e.rect['width'] <= 391 for e in browser.find_elements(By.CSS_SELECTOR, '.ds-mapping'))
        open_tab(browser, 'Prompt')
        browser.execute_script('window.scrollTo(0, 0)')
        settle(driver=browser)
        screenshot(browser, 'studio-phone.png')
    finally:
        browser.execute_cdp_cmd('Emulation.setTouchEmulationEnabled', {'enabled': False})
        browser.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
        viewport(browser, 1280, 720)
        browser.get(browser.current_url)


def test_a_screenshot_for_the_readme(browser: webdriver.Chrome, studio_server: RunningServer,
                                     explain: Callable[[str], str]) -> None:
    open_tab(browser, 'Prompt')
    set_prompt(browser, 'liquid gold and violet smoke, a slow nebula')
    fields_before = len(browser.find_elements(By.CSS_SELECTOR, '.ds-prompt textarea'))  # prompts, then targets
    click_button(browser, 'Add prompt', index=0)
    fields = wait_until(lambda: prompt_fields(browser, fields_before + 1))
    assert fields, explain('no second prompt')
    fields[1].send_keys('deep teal ocean light')
    fields[1].send_keys(Keys.ENTER)
    fields[2].send_keys('a storm of embers')  # the transition's target, left unsent
    assert wait_until(lambda: [p['text'] for p in studio_parameters(studio_server)['prompts']] ==
                      ['liquid gold and violet smoke, a slow nebula', 'deep teal ocean light'] or None), \
        explain(f'the prompts are not applied: {studio_parameters(studio_server)["prompts"]}')
    assert playing(browser, frames=60), explain('no video for the screenshot')  # two seconds of the new look
    screenshot(browser, 'studio.png')


def playing(driver: webdriver.Chrome, frames: int = 3) -> dict[str, Any] | None:
    """Playback figures once `frames` more frames are presented and media time advances (None if not within 20 s)."""
    figures = driver.execute_async_script(PLAYBACK, frames, 20_000)
    return figures if figures['presented'] >= frames and figures['seconds'] > 0.1 else None


def prompt_fields(driver: webdriver.Chrome, count: int) -> list[WebElement] | None:
    """The prompt text fields, once there are `count` of them."""
    fields = driver.find_elements(By.CSS_SELECTOR, '.ds-prompt textarea')
    return fields if len(fields) >= count else None


def mean_colour(driver: webdriver.Chrome) -> list[float]:
    return driver.execute_async_script(MEAN_COLOUR, '.ds-video')


def connection(driver: webdriver.Chrome) -> str:
    return driver.execute_script('return document.querySelector(".ds-conn-state").textContent')


def overlay_figures(driver: webdriver.Chrome) -> dict[str, str]:
    return driver.execute_script('const o = document.querySelector(".ds-overlay");'
                                 'return {fps: o.dataset.fps || "0", width: o.dataset.width, text: o.textContent};')


def header_pipeline(driver: webdriver.Chrome) -> str:
    return driver.execute_script('return document.querySelector(".ds-pipeline-chip").textContent')


def studio_parameters(server: RunningServer) -> dict[str, Any]:
    sessions = httpx.get(f'{server.url}/api/v1/sessions').json()['sessions']
    studio = next(s for s in sessions if s['name'] == 'studio')
    return httpx.get(f'{server.url}/api/v1/sessions/{studio["id"]}').json()['parameters']


def webm(width: int, height: int, colour: tuple[int, int, int], frames: int = 60) -> bytes:
    """A two-second VP8 clip: a coloured field with a white bar moving across."""
    buffer = io.BytesIO()
    with av.open(buffer, 'w', format='webm') as container:
        stream = container.add_stream('libvpx', rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        for index in range(frames):
            image = np.empty((height, width, 3), np.uint8)
            image[:] = colour
            x = index * 5 % width
            image[:, x:x + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()

