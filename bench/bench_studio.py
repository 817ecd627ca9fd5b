"""Studio benchmark: control change to the first frame that carries it, in Chromium, and server CPU per studio tab.

Run: `scripts/bench studio` (or `../shared/tools/loopback-only .venv/bin/python -m bench.bench_studio`).

The server stamps every frame with the `stamp` parameter (DREAMSTAGE_STAMP_FRAMES=1); the page reads it back from the
presented frames (requestVideoFrameCallback + canvas). Two control paths are timed from the browser's own clock:
a studio control (the Generate tab's parameters box: NiceGUI websocket -> Python handler -> Session.update) and the
page's `parameters` data channel (what a Scope client does).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import missing_browser, start_chromium
from tests.server import RunningServer

from .figures import percentile, table

# Watch the presented frames for `stamp`; `window.dsLatency` becomes ms from `window.dsSent` to that frame (or null).
WATCH = '''
const [stamp] = arguments;
const video = document.querySelector(".ds-video");
const canvas = Object.assign(document.createElement("canvas"), {width: 192, height: 8});
const context = canvas.getContext("2d", {willReadFrequently: true});
const read = () => {
  context.drawImage(video, 0, 0, 192, 8, 0, 0, 192, 8);
  const pixels = context.getImageData(0, 0, 192, 8).data;
  let value = 0;
  for (let bit = 0; bit < 24; bit++) {
    let sum = 0;
    for (let y = 2; y < 6; y++) for (let x = bit * 8 + 2; x < bit * 8 + 6; x++) sum += pixels[(y * 192 + x) * 4 + 1];
    value = value * 2 + (sum / 16 > 127 ? 1 : 0);
  }
  return value;
};
window.dsSent = null;
window.dsLatency = undefined;
const deadline = performance.now() + 5000;
const check = (now) => {
  if (window.dsSent !== null && read() === stamp) { window.dsLatency = now - window.dsSent; return; }
  if (performance.now() > deadline) { window.dsLatency = null; return; }
  video.requestVideoFrameCallback(check);
};
video.requestVideoFrameCallback(check);
'''

# The studio's parameters box: note when Enter goes down (the moment the change leaves the keyboard), focus it.
FOCUS_BOX = '''
const box = document.querySelector(".ds-raw-parameters input");
if (!box.dataset.timed) {
  box.addEventListener("keydown", (event) => { if (event.key === "Enter") window.dsSent = performance.now(); }, true);
  box.dataset.timed = "yes";
}
box.focus();
box.select();
'''

PENDING = -1


def change_to_frame(driver: webdriver.Chrome, path: str, changes: int, first: int) -> list[float]:
    """Milliseconds from a change to the first presented frame carrying it, for `changes` changes."""
    latencies = []
    for stamp in range(first, first + changes):
        time.sleep(0.15)
        driver.execute_script(WATCH, stamp)
        if path == 'studio':  # typed into the studio control with trusted key events (NiceGUI websocket path)
            driver.execute_script(FOCUS_BOX)
            driver.execute_cdp_cmd('Input.insertText', {'text': json.dumps({'stamp': stamp})})
            for kind in ('keyDown', 'keyUp'):
                driver.execute_cdp_cmd('Input.dispatchKeyEvent', {'type': kind, 'key': 'Enter', 'code': 'Enter',
                                                                  'windowsVirtualKeyCode': 13, 'text': '\r'})
        else:  # the page's `parameters` data channel
            driver.execute_script('window.dsSent = performance.now(); window.dreamstage.send({stamp: arguments[0]});',
                                  stamp)
        deadline = time.monotonic() + 6
        latency = PENDING
        while latency == PENDING and time.monotonic() < deadline:
            time.sleep(0.02)
            latency = driver.execute_script('return window.dsLatency === undefined ? -1 : window.dsLatency')
        if isinstance(latency, int | float) and latency >= 0:
            latencies.append(float(latency))
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU use over `seconds`, as a share of one core."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


def open_studio(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url + '/')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if driver.execute_script('const v = document.querySelector(".ds-video"); return v && v.videoWidth'):
            return
        time.sleep(0.2)
    raise TimeoutError('the studio shows no video')


def main(changes: int, seconds: float) -> None:
    if reason := missing_browser():
        raise SystemExit(reason)
    # the studio session keeps rendering while nobody watches (a long idle time), so a tab's own cost can be read
    server = RunningServer(env={'DREAMSTAGE_STAMP_FRAMES': '1', 'DREAMSTAGE_IDLE_AFTER': '3600'})
    profile = Path(server.home) / 'chromium'
    driver = start_chromium(profile)
    rows: list[tuple[str, str, str]] = []
    try:
        server.wait_ready()
        pid = server.process.pid
        open_studio(driver, server.url)  # creates the studio session
        driver.get('about:blank')
        time.sleep(2)
        idle = cpu_share(pid, seconds)
        open_studio(driver, server.url)
        driver.find_element(By.XPATH, '//div[contains(@class, "q-tab ")][.//div[text()="Generate"]]').click()
        time.sleep(1)
        for path, label in (('studio', 'studio control'), ('channel', 'data channel')):
            latencies = change_to_frame(driver, path, changes, first=1 if path == 'studio' else 1 + changes)
            rows += [(f'{label} -> frame median ms', f'{percentile(latencies, 50):.0f}', '<= 100'),
                     (f'{label} -> frame p95 ms', f'{percentile(latencies, 95):.0f}', '<= 150'),
                     (f'{label} changes seen', f'{len(latencies)}/{changes}', '')]
        one = cpu_share(pid, seconds)
        overlay_fps = float(driver.execute_script('return document.querySelector(".ds-overlay").dataset.fps || "0"'))
        driver.execute_script('window.dreamstage.stop()')  # the page stays: its controls, polling and websocket
        time.sleep(2)
        page_only = cpu_share(pid, seconds)
        driver.execute_script('window.dreamstage.start()')
        for _ in range(2):
            driver.switch_to.new_window('window')
            open_studio(driver, server.url)
        time.sleep(2)
        three = cpu_share(pid, seconds)
        rows += [('frames per second the studio tab presents (stats overlay)', f'{overlay_fps:.1f}', '>= 25'),
                 ('server CPU, studio session, no tab (cores)', f'{idle:.2f}', ''),
                 ('server CPU, 1 studio tab playing (cores)', f'{one:.2f}', ''),
                 ('server CPU, 3 studio tabs playing (cores)', f'{three:.2f}', ''),
                 ('server CPU, 1 studio tab, video stopped (cores)', f'{page_only:.2f}', ''),
                 ('server CPU per studio tab (cores)', f'{one - idle:.3f}', '<= 0.10'),
                 ('  of which the page without video (cores)', f'{page_only - idle:.3f}', '<= 0.03'),
                 ('server CPU per extra tab, 1->3 (cores)', f'{(three - one) / 2:.3f}', '<= 0.10')]
    finally:
        driver.quit()
        server.stop()
    rows.append(('server CPU, studio session idle, nobody watching (cores)', f'{idle_after_leaving(seconds):.3f}',
                 '<= 0.05'))
    print(table(rows, f'Studio in headless Chromium on loopback, dreamfield 512x512 VP8, {changes} changes per path'))
    print('CPU is the server process (user + system, /proc/<pid>/stat) over '
          f'{seconds:.0f} s; for the per-tab rows the studio session keeps generating with no tab open '
          '(DREAMSTAGE_IDLE_AFTER=3600); the last row is a second server whose studio session went idle.')


def idle_after_leaving(seconds: float) -> float:
    """Server CPU once the last studio tab has gone and the session stopped rendering (DREAMSTAGE_IDLE_AFTER=2)."""
    server = RunningServer(env={'DREAMSTAGE_IDLE_AFTER': '2'})
    driver = start_chromium(Path(server.home) / 'chromium')
    try:
        server.wait_ready()
        open_studio(driver, server.url)
        driver.get('about:blank')
        deadline = time.monotonic() + 60
        while any(s['rendering'] for s in httpx.get(f'{server.url}/api/v1/sessions').json()['sessions']):
            if time.monotonic() > deadline:
                raise TimeoutError('the studio session kept rendering with nobody watching')
            time.sleep(0.5)
        return cpu_share(server.process.pid, seconds)
    finally:
        driver.quit()
        server.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--changes', type=int, default=40, help='changes timed per path')
    parser.add_argument('--seconds', type=float, default=10, help='CPU measuring time per step')
    arguments = parser.parse_args()
    main(arguments.changes, arguments.seconds)
