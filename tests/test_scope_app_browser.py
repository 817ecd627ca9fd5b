"""Scope's app replayed in headless Chromium on the server's own origin (DREAMSTAGE_SCOPE_UI), with the browser's fake
camera: one page starts a second and a third stream after changing the input mode and the pipeline."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver

from .browser import PAGES, console_log, missing_browser, start_chromium, wait_until
from .server import RunningServer, serving

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser

START = '''
const [pipelineId, mode, done] = arguments;
window.scopeApp.start(pipelineId, mode).then((id) => done({id}), (error) => done({error: String(error)}));
'''
FRAMES = '''
const video = document.getElementById("output");
return {width: video.videoWidth, height: video.videoHeight, decoded: video.getVideoPlaybackQuality().totalVideoFrames};
'''


@pytest.fixture(scope='module')
def server() -> Iterator[RunningServer]:
    """A server that serves the replay page at /scope, as it would serve a build of Scope's app."""
    with serving(env={'DREAMSTAGE_SCOPE_UI': str(PAGES / 'scope_app')}) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path / 'chromium-profile')
    try:
        yield driver
    finally:
        driver.execute_script('window.scopeApp && window.scopeApp.stop()')
        driver.quit()


def stream(browser: webdriver.Chrome, server: RunningServer, pipeline_id: str, mode: str) -> dict[str, Any]:
    """Start a stream as the app's play button does; returns the session's figures once frames are shown."""
    started = browser.execute_async_script(START, pipeline_id, mode)
    assert 'id' in started, f'{started}\n{console_log(browser)}'
    shown = wait_until(lambda: (state := browser.execute_script(FRAMES))['decoded'] >= 10 and state, 60)
    assert shown, f'no frames from {pipeline_id} ({mode})\n{console_log(browser)}'
    metrics = httpx.get(f'{server.url}/api/v1/session/metrics').json()['sessions'][started['id']]
    browser.execute_script('window.scopeApp.stop()')
    return {**shown, **metrics}


def test_chromium_streams_again_after_changing_mode_and_pipeline(browser: webdriver.Chrome,
                                                                  server: RunningServer) -> None:
    """Camera stream, stop, text mode, start; passthrough with the camera; Dreamfield from text: each runs as chosen,
    the page gets nothing it would send back as its own, and the browser console stays clean."""
    browser.get(f'{server.url}/scope')
    runs = [stream(browser, server, pipeline_id, mode) for pipeline_id, mode in
            (('longlive', 'video'), ('longlive', 'text'), ('passthrough', 'video'), ('dreamfield', 'text'))]
    assert [(run['pipeline_id'], run['input_mode']) for run in runs] == [
        ('longlive', 'video'), ('longlive', 'text'), ('passthrough', 'video'), ('dreamfield', 'text')]
    assert [(run['width'], run['height']) for run in runs] == [(512, 512), (512, 512), (640, 480), (512, 512)]
    assert all(run['frames_in'] > 0 for run in runs if run['input_mode'] == 'video')
    app = browser.execute_script('return {overrides: scopeApp.overrides, failures: scopeApp.failures, '
                                 'updates: scopeApp.messages.filter((m) => m.type === "parameters_updated")}')
    assert app == {'overrides': {}, 'failures': [], 'updates': []}
    problems = [line for line in console_log(browser).splitlines() if line.startswith(('SEVERE', 'WARNING'))]
    assert problems == []
