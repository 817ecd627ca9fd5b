"""Audio loop benchmark: tick period and jitter, analysis CPU per tick, audio onset to the first frame showing it.

Run: `../shared/tools/loopback-only .venv/bin/python -m bench.bench_audio` (about 40 s).

How the onset-to-frame figure is measured, and why it is honest:
- A WAV of isolated clicks at irregular times (0.45 to 0.95 s apart, so no tempo lock helps) is played by the
  server as a file source with the `beat-pulse` preset and `stamp_beats`: the message that a detected beat produces
  (its noise_scale pulse) also carries `stamp` = the audio position in ms of that tick. The server runs with
  DREAMSTAGE_STAMP_FRAMES=1, so every frame rendered from that parameter state shows the stamp in its top row.
- A viewer (aiortc, on loopback) joins the session with video and audio. For each stamp, the first frame that shows
  it is taken as the first frame carrying the change; its arrival time at the viewer minus the time the click was
  played by the server (engine start + click position, both on the same machine clock) is the latency. A stamp is
  matched to the latest click at most 150 ms before it; unmatched stamps are counted as false beats.
- The same viewer records the audio it receives; the arrival time of each click in that audio, compared with the
  arrival of the frame carrying it, is the picture-to-sound offset a viewer experiences (before its own playout
  buffer, which a browser adds to sound and picture alike).
The tick figures are the server's own (monotonic wake times of the last 300 ticks) with the CPU pipeline running.
Figures depend on the machine's load; nothing here asserts.
"""
from __future__ import annotations

import argparse
import asyncio
import time
import wave
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from aiortc import MediaStreamTrack

from audio.features import SAMPLE_RATE, Analyser
from audio.signals import BeatPattern
from pipeline.stamp import read_stamp
from tests.scope_client import ScopeClient
from tests.server import RunningServer

from .figures import percentile, table

CLICK_FILE = 'bench-audio/clicks.wav'


@dataclass(slots=True)
class OnsetFigures:
    """Latencies in ms per matched click, and the engine's status at the end."""

    picture: list[float]
    detection: list[float]
    sound: list[float]
    offset: list[float]
    false_beats: int
    clicks: int
    status: dict[str, Any]


class Viewer(ScopeClient):
    """A Scope client that also records the audio it receives, with arrival times."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.audio: list[tuple[float, np.ndarray]] = []
        self.audio_task: asyncio.Task | None = None

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == 'audio':
            self.audio_task = asyncio.ensure_future(self._listen(track))
        else:
            super()._on_track(track)

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame: Any = await track.recv()
            except Exception:
                return
            self.audio.append((time.time(), frame.to_ndarray().reshape(-1, 2)[:, 0].astype(np.float32) / 32768))

    async def close(self) -> None:
        if self.audio_task:
            self.audio_task.cancel()
        await super().close()


def write_clicks(path: str, seconds: float, seed: int = 3) -> list[float]:
    """A WAV of clicks (a short kick with a noise burst) at irregular times; returns the click times in seconds."""
    rng = np.random.default_rng(seed)
    times, t = [], 1.0
    while t < seconds - 1:
        times.append(round(t, 4))
        t += rng.uniform(0.45, 0.95)
    signal = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    click = BeatPattern(60).read(0, int(0.3 * SAMPLE_RATE))[:, 0]  # one kick, no hat in its first 0.3 s
    burst_length = int(0.01 * SAMPLE_RATE)
    burst = rng.standard_normal(burst_length).astype(np.float32) * np.linspace(0.4, 0, burst_length)
    for start in times:
        i = int(start * SAMPLE_RATE)
        signal[i:i + len(click)] += click
        signal[i:i + len(burst)] += burst
    with wave.open(path, 'wb') as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(SAMPLE_RATE)
        file.writeframes((np.clip(signal, -1, 1) * 32767).astype('<i2').tobytes())
    return times


async def onset_to_frame(server: RunningServer, seconds: float, lookahead_ms: float) -> OnsetFigures:
    """Click -> first frame carrying its pulse (ms), click -> its sound at the viewer (ms), and false beats."""
    (server.assets_dir / 'bench-audio').mkdir(parents=True, exist_ok=True)
    clicks = write_clicks(str(server.assets_dir / CLICK_FILE), seconds)
    http = httpx.AsyncClient(base_url=server.url, timeout=30)
    viewer = Viewer(server.url)
    try:
        created = (await http.post('/api/v1/sessions', json={'name': 'bench-audio'})).json()
        started = (await http.post(f"/api/v1/audio/sessions/{created['id']}/start", json={
            'source': {'kind': 'file', 'path': CLICK_FILE, 'loop': False, 'lookahead_ms': lookahead_ms},
            'preset': 'beat-pulse',
            'stamp_beats': True})).json()
        await viewer.connect({'session_id': created['id'], 'session_token': created['view_token']},
                             audio_recvonly=True)
        await asyncio.sleep(seconds + 0.5)
        status = (await http.get(f"/api/v1/audio/sessions/{created['id']}")).json()
        await http.delete(f"/api/v1/sessions/{created['id']}")
    finally:
        await viewer.close()
        await http.aclose()
    origin = started['started_at']
    frames = [(t, read_stamp(image)) for t, image in viewer.frames]
    first_seen: dict[int, float] = {}
    for arrived, stamp in frames:
        if stamp and stamp not in first_seen:
            first_seen[stamp] = arrived
    picture, detection, false_beats, matched = [], [], 0, {}
    for stamp, arrived in sorted(first_seen.items()):
        candidates = [c for c in clicks if 0 <= stamp / 1000 - c <= 0.15]
        if not candidates:
            false_beats += 1
            continue
        click = candidates[-1]
        matched[click] = arrived
        picture.append(1000 * (arrived - (origin + click)))
        detection.append(stamp - 1000 * click)
    heard = sound_arrivals(viewer.audio, clicks, origin)
    offsets = [1000 * (matched[c] - heard[c]) for c in matched if c in heard]
    return OnsetFigures(picture, detection, [1000 * (heard[c] - (origin + c)) for c in heard], offsets, false_beats,
                        len(clicks), status)


def sound_arrivals(audio: list[tuple[float, np.ndarray]], clicks: list[float], origin: float) -> dict[float, float]:
    """For each click, when the viewer received the audio frame where it starts (plus its offset in the frame)."""
    found: dict[float, float] = {}
    levels = [(t, block) for t, block in audio]
    for click in clicks:
        expected = origin + click
        for arrived, block in levels:
            if arrived < expected - 0.05 or arrived > expected + 1.0:
                continue
            loud = np.flatnonzero(np.abs(block) > 0.1)
            if len(loud):
                found[click] = arrived - (len(block) - loud[0]) / SAMPLE_RATE
                break
    return found


def analysis_in_process(ticks: int = 900) -> tuple[list[float], list[float]]:
    """Analyser CPU per tick (ms) on the generated beat, without a server: all ticks, and tempo-estimate ticks."""
    pattern = BeatPattern(128)
    analyser = Analyser()
    block = SAMPLE_RATE // 30
    costs, tempo = [], []
    for i in range(ticks):
        samples = pattern.read(i * block, (i + 1) * block).mean(axis=1)
        begun = time.thread_time()
        analyser.process(samples)
        cost = 1000 * (time.thread_time() - begun)
        costs.append(cost)
        if analyser.tempo_due - analyser.envelope_frames > 95:  # an estimate just ran
            tempo.append(cost)
    return costs, tempo


async def main(seconds: float, lookahead_ms: float) -> None:
    costs, tempo_costs = analysis_in_process()
    server = RunningServer(env={'DREAMSTAGE_STAMP_FRAMES': '1'})
    try:
        server.wait_ready()
        figures = await onset_to_frame(server, seconds, lookahead_ms)
    finally:
        server.stop()
    status = figures.status
    clock = status['clock']
    picture, sound, offset = figures.picture, figures.sound, figures.offset
    rows = [
        ('tick period mean ms', f"{clock['period_mean_ms']:.3f}", '33.333'),
        ('tick jitter p99 ms', f"{clock['jitter_p99_ms']:.2f}", '<= 5'),
        ('ticks skipped', f"{clock['missed']} of {clock['ticks']}", '0'),
        ('analysis CPU/tick mean ms (server)', f"{status['analysis_ms_mean']:.3f}", '<= 1'),
        ('analysis CPU/tick p99 ms (server)', f"{status['analysis_ms_p99']:.3f}", ''),
        ('analysis CPU/tick mean ms (in-process)', f'{np.mean(costs):.3f}', '<= 1'),
        ('analysis CPU/tick max ms (in-process)', f'{max(costs):.3f}', ''),
        ('  ticks with a tempo estimate, mean ms', f'{np.mean(tempo_costs):.3f}' if tempo_costs else '-', ''),
        ('clicks detected (false beats)', f'{len(picture)} of {figures.clicks} ({figures.false_beats})', ''),
        ('onset->beat message median ms', f'{percentile(figures.detection, 50):.0f}', ''),
        ('onset->frame median ms', f'{percentile(picture, 50):.0f}', '<= 100'),
        ('onset->frame p95 ms', f'{percentile(picture, 95):.0f}', ''),
        ('onset->sound at viewer median ms', f'{percentile(sound, 50):.0f}', ''),
        ('picture minus sound median ms', f'{percentile(offset, 50):.0f}', '|x| <= 50'),
        ('picture minus sound p95 ms', f'{percentile(offset, 95):.0f}', ''),
    ]
    title = f'Audio loop: 30 Hz ticks, CPU pipeline, one aiortc viewer on loopback, {seconds:.0f} s of clicks'
    print(table(rows, title))
    print(f'Arrival times are at a Python aiortc viewer (no playout buffer); lookahead_ms {lookahead_ms:g} '
          '(0: the analyser hears the block being played now).')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seconds', type=float, default=20, help='length of the click track')
    parser.add_argument('--lookahead-ms', type=float, default=0, help="the file source's lookahead")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.lookahead_ms))
