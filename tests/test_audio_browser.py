"""Chromium's fake microphone, sent over WebRTC the way a browser studio would, moves the server's audio features."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver

from .browser import console_log, missing_browser, start_chromium
from .server import RunningServer
from .waiting import wait_until

if reason := missing_browser():
    pytest.skip(reason, allow_module_level=True)

pytestmark = pytest.mark.browser

# getUserMedia (Chromium's fake device: a periodic beep), then the Scope offer with the microphone as an audio track.
SEND_MICROPHONE = '''
const [prompt, done] = arguments;
(async () => {
  const microphone = await navigator.mediaDevices.getUserMedia({audio: true, video: false});
  const pc = window.audioTestPc = new RTCPeerConnection({iceServers: []});
  pc.addTransceiver("video", {direction: "recvonly"});
  microphone.getAudioTracks().forEach((track) => pc.addTrack(track, microphone));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, 20000);  // gathering on loopback is quick; a busy machine gets time (script timeout: 30 s)
  });
  const response = await fetch("/api/v1/webrtc/offer", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({sdp: pc.localDescription.sdp, type: "offer",
                          initialParameters: {prompts: [{text: prompt, weight: 1.0}]}})});
  const answer = await response.json();
  await pc.setRemoteDescription(answer);
  return answer.sessionId;
})().then(done, (error) => done("error: " + error.message));
'''


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(tmp_path / 'chromium-profile')
    try:
        yield driver
    finally:
        try:
            driver.execute_script('if (window.audioTestPc) window.audioTestPc.close();')
        finally:
            driver.quit()


def test_the_browser_microphone_drives_the_features(server: RunningServer, browser: webdriver.Chrome) -> None:
    httpx.post(f'{server.url}/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).raise_for_status()
    server.wait_ready()
    browser.get(f'{server.url}/health')  # same origin as the API; loopback http counts as a secure context
    session_id = browser.execute_async_script(SEND_MICROPHONE, 'a quiet lake at dawn')
    assert session_id and not session_id.startswith('error'), f'{session_id}\n{console_log(browser)}'
    started = httpx.post(f'{server.url}/api/v1/audio/sessions/{session_id}/start',
                         json={'source': {'kind': 'microphone'}, 'preset': 'beat-pulse'})
    assert started.status_code == 200, started.text

    energies: list[float] = []
    status: dict = {}

    def heard() -> bool:
        """What the engine hears, looked at again: true once a second of the microphone has arrived, the meters
        have moved and the mic has moved the parameters."""
        nonlocal status
        status = httpx.get(f'{server.url}/api/v1/audio/sessions/{session_id}').json()
        energies.append(status['features']['energy'])
        return len(energies) >= 40 and max(energies) > 0.3 and min(energies) < max(energies) - 0.2 and \
            status['source']['received_seconds'] > 1 and status['messages_sent'] > 0

    wait_until(heard)
    explain = f'{status}\nconsole:\n{console_log(browser)}\nserver log:\n{server.output()[-2000:]}'
    assert status['source']['received_seconds'] > 1, 'the microphone track reaches the engine\n' + explain
    assert max(energies) > 0.3 and min(energies) < max(energies) - 0.2, f'the meters move: {energies}\n{explain}'
    assert status['messages_sent'] > 0, 'the mic moves the parameters\n' + explain
