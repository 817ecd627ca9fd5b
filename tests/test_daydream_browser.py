"""A Daydream web app in headless Chromium, unchanged but for the server: Daydream's browser SDK publishes over WHIP
and plays the WHEP URL the server hands back; hls.js plays the stream's HLS."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver

from .browser import StaticSite, console_log, missing_browser, start_chromium
from .server import RunningServer
from .waiting import wait_until

TESTS = Path(__file__).resolve().parent
NODE_PACKAGES = TESTS / 'node' / 'node_modules'

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)
if not (NODE_PACKAGES / '@daydreamlive' / 'browser').is_dir() or not (NODE_PACKAGES / 'hls.js').is_dir():
    pytest.skip('the npm packages of tests/node are not installed (scripts/setup)', allow_module_level=True)

pytestmark = pytest.mark.browser
PAGE = 'return window.daydream ? JSON.parse(JSON.stringify(window.daydream)) : null;'
# What the WebRTC video element is doing (for failure messages)
VIDEO = '''
const video = document.getElementById("webrtc");
const tracks = video.srcObject ? video.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}`) : null;
return {ready: video.readyState, paused: video.paused, time: video.currentTime, width: video.videoWidth, tracks};
'''


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path / 'chromium-profile')
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def stream(media_server: RunningServer) -> Iterator[dict[str, Any]]:
    response = httpx.post(f'{media_server.url}/v1/streams', json={
        'pipeline': 'streamdiffusion', 'params': {'model_id': 'Lykon/dreamshaper-8', 'prompt': 'a browser test'}})
    assert response.status_code == 201, response.text
    yield response.json()
    httpx.delete(f'{media_server.url}/v1/streams/{response.json()["id"]}')


def test_daydreams_browser_sdk_and_hls_js_play_a_local_stream(stream: dict[str, Any], browser: webdriver.Chrome,
                                                              media_server: RunningServer) -> None:
    with StaticSite(TESTS) as site:
        browser.get(site.url('pages/daydream.html', whip=stream['whip_url'], hls=stream['output_hls_url']))

        def state() -> dict[str, Any]:
            page = browser.execute_script(PAGE) or {}
            assert not page.get('errors'), f'{page.get("errors")}\n{console_log(browser)}'
            return page

        def explain() -> str:
            page = state()
            return (f'broadcast {page.get("broadcast")}, player {page.get("player")} {page.get("playerStats")}, '
                    f'{len(page.get("webrtcStamps", []))} WebRTC and {len(page.get("hlsStamps", []))} HLS frames\n'
                    f'{browser.execute_script(VIDEO)}\n{console_log(browser)}\n{media_server.output()[-2000:]}')

        assert wait_until(lambda: len(state().get('webrtcStamps', [])) >= 30, 90), explain()
        page = state()
        assert page['whepUrl'] == stream['output_stream_url'], 'the WHEP URL came with the WHIP answer'
        stamps = page['webrtcStamps'][-20:]
        assert stamps == sorted(stamps) and 0 < stamps[-1] <= page['sent'], \
            'the player shows the canvas frames, passed through, in order'
        assert wait_until(lambda: len(state().get('hlsStamps', [])) >= 15, 90), explain()
        hls = state()['hlsStamps'][-10:]
        assert hls == sorted(hls) and 0 < hls[-1] <= state()['sent'], 'hls.js plays the same frames'
