"""Chromium on a shared session: a view link beside aiortc controllers, and the WebSocket path when WebRTC fails."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver

from .browser import console_log, missing_browser, start_chromium
from .scope_client import ScopeClient
from .server import ROOT, RunningServer
from .waiting import PATIENCE, until, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(missing_browser()), reason=missing_browser() or '')]

PICTURE = '''
const done = arguments[arguments.length - 1];
const video = document.querySelector("video");
if (!video || !video.videoWidth) { done(null); return; }
const canvas = document.createElement("canvas");
canvas.width = 64; canvas.height = 64;
const context = canvas.getContext("2d");
context.drawImage(video, 0, 0, 64, 64);
const pixels = context.getImageData(0, 0, 64, 64).data;
const total = [0, 0, 0];
for (let i = 0; i < pixels.length; i += 4) {
  total[0] += pixels[i]; total[1] += pixels[i + 1]; total[2] += pixels[i + 2];
}
done({width: video.videoWidth, colour: total.map((sum) => sum / 4096),
      path: document.querySelector(".ds-path")?.textContent || "",
      state: document.querySelector(".ds-conn-state")?.textContent || ""});
'''


@pytest.fixture
def session(server: RunningServer) -> Iterator[dict]:
    """A named session on the shared server, ended afterwards."""
    created = httpx.post(f'{server.url}/api/v1/sessions', json={'name': 'browser-jam'}).json()
    yield created
    httpx.delete(f"{server.url}/api/v1/sessions/{created['id']}")


def picture(driver: webdriver.Chrome) -> dict | None:
    """The studio video's width, mean colour, video path and connection state (None before video plays)."""
    return driver.execute_async_script(PICTURE)


async def test_a_browser_viewer_follows_changes_made_by_aiortc_controllers(server: RunningServer, session: dict,
                                                                           tmp_path: Path) -> None:
    """Two aiortc controllers and a Chromium view link share a session; a controller's prompt reaches the browser."""
    clients = []
    for label in ('left', 'right'):
        client = ScopeClient(server.url)
        await client.connect({'session_id': session['id'], 'session_token': session['control_token'],
                              'client_label': label})
        await client.wait_frames(3)
        await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
        clients.append(client)
    driver = await asyncio.to_thread(start_chromium, tmp_path / 'profile')
    try:
        clients[0].send({'prompts': [{'text': 'fire, flames, burning red embers', 'weight': 1.0}]})
        await asyncio.to_thread(driver.get, session['view_url'])
        red = await asyncio.to_thread(
            wait_until, lambda: p if (p := picture(driver)) and p['colour'][0] > p['colour'][2] + 10 else None)
        assert red, f'no red picture in the viewer\n{console_log(driver)}\n{server.output()}'
        assert red['path'] == 'WebRTC'
        clients[1].send({'prompts': [{'text': 'deep blue ocean water, underwater light', 'weight': 1.0}]})
        blue = await asyncio.to_thread(
            wait_until, lambda: p if (p := picture(driver)) and p['colour'][2] > p['colour'][0] + 10 else None)
        assert blue, f'the viewer did not follow the change\n{console_log(driver)}'
        detail = httpx.get(f"{server.url}/api/v1/sessions/{session['id']}").json()
        assert (detail['controllers'], detail['viewers']) == (2, 1)
    finally:
        await asyncio.to_thread(driver.quit)
        for client in clients:
            await client.close()


def test_without_webrtc_the_studio_falls_back_to_websocket_video(server: RunningServer, session: dict,
                                                                 tmp_path: Path) -> None:
    """Where WebRTC cannot connect (no loopback candidates: like UDP blocked), frames come over the WebSocket."""
    driver = start_chromium(tmp_path / 'profile', without=('--allow-loopback-in-peer-connection',
                                                            '--use-fake-ui-for-media-stream'))
    try:
        driver.get(session['control_url'])
        # the overlay names the path when it next refreshes its figures (once a second)
        shown = wait_until(lambda: p if (p := picture(driver)) and p['width'] > 100 and p['path'] == 'WebSocket'
                           else None)
        assert shown, f'no video over the WebSocket: {picture(driver)}\n{console_log(driver)}\n{server.output()}'
        assert 'WebSocket' in shown['state']
        first = shown['colour']
        changed = wait_until(lambda: p if (p := picture(driver)) and p['colour'] != first else None)
        assert changed, 'the WebSocket video is not moving'
        (ROOT / 'artifacts').mkdir(exist_ok=True)
        driver.save_screenshot(str(ROOT / 'artifacts' / 'websocket-fallback.png'))
    finally:
        driver.quit()


async def test_the_studio_hears_the_music_the_audio_engine_plays(server: RunningServer, session: dict,
                                                                 tmp_path: Path) -> None:
    """The studio page receives an audio track; when the engine plays a test beat, full audio packets arrive (while
    nothing plays the server sends none; Opus at 96 kbit/s makes about 200 bytes a packet of the test beat and about
    15 of silence)."""
    driver = await asyncio.to_thread(start_chromium, tmp_path / 'profile')

    async def received() -> tuple[int, int]:
        """(audio bytes, audio packets) the page has received so far."""
        figures = await asyncio.to_thread(driver.execute_async_script, AUDIO_RECEIVED)
        return figures['bytes'], figures['packets']

    async def bytes_per_packet(packets: int = 50) -> float:
        """Audio bytes per packet over the next `packets` packets (one second of Opus is 50)."""
        bytes_before, packets_before = await received()

        async def enough() -> tuple[int, int] | None:
            now = await received()
            return now if now[1] >= packets_before + packets else None

        counted = await until(enough)
        assert counted, f'fewer than {packets} audio packets arrived\n{console_log(driver)}'
        return (counted[0] - bytes_before) / (counted[1] - packets_before)

    try:
        await asyncio.to_thread(driver.get, session['control_url'])
        shown = await asyncio.to_thread(wait_until, lambda: picture(driver))
        assert shown, f'no video\n{console_log(driver)}'
        tracks = driver.execute_script('return document.querySelector(".ds-video").srcObject.getAudioTracks().length')
        assert tracks == 1
        async with httpx.AsyncClient(base_url=server.url) as http:
            started = await http.post(f"/api/v1/audio/sessions/{session['id']}/start",
                                      json={'source': {'kind': 'test', 'bpm': 120}, 'preset': 'beat-pulse'})
            assert started.status_code == 200, started.text
            try:
                await bytes_per_packet(25)  # the first packets may hold the moment before the music
                playing = await bytes_per_packet()
            finally:
                await http.post(f"/api/v1/audio/sessions/{session['id']}/stop")
        assert playing > 100, f'audio bytes per packet while the music plays: {playing} (silence is about 15)'
    finally:
        await asyncio.to_thread(driver.quit)


AUDIO_RECEIVED = '''
const done = arguments[arguments.length - 1];
const pc = window.dreamstage && window.dreamstage.pc;
if (!pc) { done({bytes: 0, packets: 0}); return; }
pc.getStats().then((stats) => {
  let bytes = 0, packets = 0;
  stats.forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "audio") {
      bytes = report.bytesReceived || 0;
      packets = report.packetsReceived || 0;
    }
  });
  done({bytes, packets});
});
'''
