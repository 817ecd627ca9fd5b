"""The Scope docs' quick-start page in headless Chromium, served from another origin, against a real server."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver

from .browser import MEAN_COLOUR, StaticSite, console_log, missing_browser, start_chromium
from .server import ROOT, RunningServer
from .waiting import wait_until

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser

T = TypeVar('T')
SCREENSHOT = ROOT / 'artifacts' / 'quickstart.png'
FIRE = 'fire, flames, lava, burning embers'
OCEAN = 'blue ocean, deep sea underwater'

PAGE_STATE = '''
const video = document.getElementById("video");
return {state: document.body.dataset.state || "", status: document.getElementById("status").textContent,
        error: document.getElementById("error").textContent, width: video.videoWidth, height: video.videoHeight,
        channel: window.scope.dataChannel ? window.scope.dataChannel.readyState : "none"};
'''

# Frames presented (requestVideoFrameCallback), frames decoded and media time advanced: answers once `frames` frames
# were presented and decoded, or after `ms` milliseconds with what it saw by then.
PLAYBACK = '''
const [frames, ms, done] = arguments;
const video = document.getElementById("video");
const quality = () => video.getVideoPlaybackQuality().totalVideoFrames;
const start = {time: video.currentTime, decoded: quality()};
let presented = 0, answered = false;
const answer = () => {
  if (answered) return;
  answered = true;
  done({presented, decoded: quality() - start.decoded, seconds: video.currentTime - start.time});
};
const count = () => {
  presented += 1;
  if (presented >= frames && quality() - start.decoded >= frames) answer();
  else if (!answered) video.requestVideoFrameCallback(count);
};
video.requestVideoFrameCallback(count);
setTimeout(answer, ms);
'''



@pytest.fixture
def site() -> Iterator[StaticSite]:
    """The test pages on their own loopback origin."""
    with StaticSite() as static_site:
        yield static_site


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile; its peer connection is closed before it quits."""
    driver = start_chromium(tmp_path / 'chromium-profile')
    try:
        yield driver
    finally:
        try:
            driver.execute_script('if (window.scope && window.scope.pc) window.scope.pc.close();')
        finally:
            driver.quit()


@pytest.fixture
def quickstart_server(server: RunningServer) -> Iterator[RunningServer]:
    """The shared server; the page loads `longlive`, so the shared pipeline is loaded again afterwards."""
    yield server
    httpx.post(f'{server.url}/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).raise_for_status()
    server.wait_ready()


def test_quickstart_page_streams_and_follows_prompts(quickstart_server: RunningServer, site: StaticSite,
                                                     browser: webdriver.Chrome) -> None:
    server = quickstart_server
    browser.get(site.url('quickstart.html', server=server.url, prompt=FIRE))

    def explain(what: str) -> str:
        return f'{what}\npage: {page_state(browser)}\nconsole:\n{console_log(browser)}\nserver log:\n{server.output()}'

    def video_or_error() -> dict[str, Any] | None:
        state = page_state(browser)
        return state if state['width'] > 0 or state['state'] == 'error' else None

    state = wait_until(video_or_error)
    assert state and state['width'] > 0 and state['height'] > 0 and not state['error'], \
        explain('no video from the quick-start page')

    playback = browser.execute_async_script(PLAYBACK, 10, 25_000)
    assert playback['presented'] >= 10 and playback['decoded'] >= 10, explain(f'frames do not advance: {playback}')
    # ten frames of media time (at most 30 fps); how smoothly it plays is bench/bench_streaming.py's business
    assert playback['seconds'] > 0.25, explain(f'media time does not advance: {playback}')

    before = mean_colour(browser)
    assert before[0] > before[2] + 10, explain(f'a fire prompt should look red, not {before}')

    assert wait_until(lambda: page_state(browser)['channel'] == 'open' or None), \
        explain('the parameters data channel did not open')
    browser.execute_script('window.scope.dataChannel.send(arguments[0]);',
                           json.dumps({'prompts': [{'text': OCEAN, 'weight': 1.0}]}))

    def blue() -> list[float] | None:
        colour = mean_colour(browser)
        return colour if colour[2] > colour[0] + 10 else None

    after = wait_until(blue)

    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert after, explain(f'an ocean prompt should turn the picture blue; before {before}, now {mean_colour(browser)}')
    assert not page_state(browser)['error'], explain('the page shows an error')


def page_state(driver: webdriver.Chrome) -> dict[str, Any]:
    """What the page shows: state, status and error text, video size, data channel state."""
    return driver.execute_script(PAGE_STATE)


def mean_colour(driver: webdriver.Chrome) -> list[float]:
    """The picture's mean red, green and blue (0..255)."""
    return driver.execute_async_script(MEAN_COLOUR, '#video')

