"""Control benchmark: OSC message -> first frame carrying it (beside the data channel), matrix cost per 30 Hz tick
with 32 routes, beat-to-picture error with latency compensation off and on (a click track as the source), and the
librosa beat grid against the real-time beat detection on the same file.

Run: `scripts/bench control`.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import time
import wave
from typing import Any

import httpx
import numpy as np
from pythonosc.udp_client import SimpleUDPClient

from audio.features import SAMPLE_RATE as LIVE_RATE
from audio.features import Analyser
from control.analysis import SAMPLE_RATE, analyse
from control.engine import ControlEngine
from control.lfo import SHAPES, Lfo
from control.routes import Route
from control.sources import SourceBoard
from control.tempo_sync import TempoRequest, TempoSync
from pipeline.stamp import read_stamp
from tests.control_helpers import DrivenClock, still_session
from tests.scope_client import ScopeClient
from tests.server import RunningServer

from .figures import percentile, table

PROMPT = {'prompts': [{'text': 'a dreamy nebula of soft light', 'weight': 1.0}]}
CLICK_BPM = 120.0
SIZE = 256  # the beat runs use a smaller picture: frames keep coming on a busy two-core machine
FIRING: list[float] = []  # ms between when a beat pulse was due (lead included) and when it fired, server-side
LEADS: list[float] = []


def click_track(seconds: float, rate: int, bpm: float = CLICK_BPM) -> tuple[np.ndarray, np.ndarray]:
    """Clicks on every beat from 0.5 s (accents on the downbeats), and their times."""
    samples = np.zeros(int(seconds * rate), np.float32)
    times = np.arange(0.5, seconds - 0.2, 60.0 / bpm)
    length = int(0.03 * rate)
    t = np.arange(length) / rate
    for index, at in enumerate(times):
        accent = index % 4 == 0
        tone = np.sin(2 * np.pi * (1500 if accent else 1000) * t) * np.exp(-t / 0.005) * (1.0 if accent else 0.6)
        samples[round(at * rate):round(at * rate) + length] += tone.astype(np.float32)
    return samples, times


def wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, 'wb') as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes((np.clip(samples, -1, 1) * 32767).astype('<i2').tobytes())
    return buffer.getvalue()


async def first_frame_with(client: ScopeClient, stamp: int, since: int, timeout: float = 2.0) -> float | None:
    """The arrival time of the first frame from index `since` that carries `stamp` (or a later one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived = next((t for t, image in client.frames[since:] if read_stamp(image) >= stamp), None)
        if arrived is not None:
            return arrived
        await asyncio.sleep(0.002)
    return None


async def osc_to_frame(server: RunningServer, changes: int) -> list[tuple[str, str, str]]:
    """OSC and data-channel changes, alternating, each stamped; latency to the first frame that shows it."""
    client = ScopeClient(server.url)
    osc = SimpleUDPClient('127.0.0.1', server.port)
    latencies: dict[str, list[float]] = {'osc': [], 'data channel': []}
    try:
        await client.load({'pipeline_ids': ['dreamfield']})
        await client.connect(PROMPT)
        await client.wait_frames(30)
        await asyncio.wait_for(client.channel_open.wait(), 5)
        for stamp in range(1, 2 * changes + 1):
            await asyncio.sleep(random.uniform(0.08, 0.16))
            path = 'osc' if stamp % 2 else 'data channel'
            index, sent = len(client.frames), time.time()
            if path == 'osc':
                osc.send_message('/scope/stamp', stamp)
                osc.send_message('/scope/noise_scale', random.uniform(0.2, 0.8))
            else:
                client.send({'stamp': stamp, 'noise_scale': random.uniform(0.2, 0.8)})
            arrived = await first_frame_with(client, stamp, index)
            if arrived is not None:
                latencies[path].append(1000 * (arrived - sent))
    finally:
        await client.close()
    rows = []
    for path, values in latencies.items():
        rows += [(f'{path} -> frame median ms', f'{percentile(values, 50):.0f}', 'same as data channel'),
                 (f'{path} -> frame p95 ms', f'{percentile(values, 95):.0f}', f'{len(values)} changes')]
    return rows


async def matrix_cost(ticks: int) -> list[tuple[str, str, str]]:
    """CPU time of one engine tick (sources, 8 LFOs, 32 routes, the message through Session.update)."""
    clock = DrivenClock()
    session = still_session()
    tempo = TempoSync(clock)
    tempo.enable(TempoRequest(source='internal', bpm=128))
    board = SourceBoard(clock)
    engine = ControlEngine(session, tempo, board, clock)
    engine.set_lfos([Lfo(name=f'l{i}', shape=SHAPES[i % len(SHAPES)], beats=2 ** (i % 4)) for i in range(8)])
    sources = [*(f'lfo.l{i}' for i in range(8)), 'tempo.beat', 'tempo.phase', 'xy.x', 'xy.y',
               *(f'midi.cc.1.{n}' for n in range(10)), *(f'osc.fader{n}' for n in range(10))]
    targets = ['noise_scale', 'kv_cache_attention_bias', 'vace_context_scale']
    engine.set_routes([Route(id=f'r{i}', source=sources[i % len(sources)], target=targets[i % 3], out_max=0.3,
                             attack=0.05, release=0.2, curve=('linear', 'smooth', 'exponential')[i % 3])
                       for i in range(32)])
    for n in range(10):
        board.set(f'midi.cc.1.{n}', random.random())
        board.set(f'osc.fader{n}', random.random())
    engine.set_source('xy.x', 0.3)
    engine.set_source('xy.y', 0.6)
    tick_ms, evaluate_ms = [], []
    for _ in range(ticks):
        clock.advance(1 / 30)
        begun = time.perf_counter()
        engine.tick(clock.now)
        tick_ms.append(1000 * (time.perf_counter() - begun))
        values = engine.values
        begun = time.perf_counter()
        engine.matrix.evaluate(values, 1 / 30, engine.targets())
        evaluate_ms.append(1000 * (time.perf_counter() - begun))
    session.close()
    return [('matrix tick (32 routes, 8 LFOs) median ms', f'{statistics.median(tick_ms):.3f}', '< 0.5'),
            ('matrix tick p95 ms', f'{percentile(tick_ms, 95):.3f}', ''),
            ('  of which evaluate median ms', f'{statistics.median(evaluate_ms):.3f}', '')]


async def beat_to_picture(server: RunningServer, seconds: float) -> list[tuple[str, str, str]]:
    """A click track plays into a session; the tempo follows its analysed grid; each beat pulse stamps the frame.
    Error = arrival of the first frame carrying beat k - the time beat k sounds in the playing file."""
    http = httpx.AsyncClient(base_url=server.url, timeout=60)
    samples, _ = click_track(seconds + 2, 44_100)
    upload = await http.post('/api/v1/assets', params={'filename': 'bench/clicks.wav'}, content=wav(samples, 44_100))
    upload.raise_for_status()
    analysis = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        body = (await http.get('/api/v1/tempo/analysis', params={'path': 'bench/clicks.wav'})).json()
        if body['state'] == 'done':
            analysis = body['analysis']
            break
        await asyncio.sleep(0.5)
    assert analysis is not None, 'the click track was not analysed'
    rows = []
    residual = 0.0
    for label, compensate, trim in (('off', False, 0.0), ('on', True, 0.0), ('on + trim', True, None)):
        errors = await one_beat_run(server, http, analysis, seconds, compensate,
                                    residual if trim is None else trim)
        median = percentile(errors, 50)
        if label == 'on':
            residual = median  # what is left is the transport after the frame (encode, network, decode)
        rows += [(f'beat->picture, compensation {label}, median ms', f'{median:+.0f}',
                  'within 33 (one frame)' if compensate else ''),
                 (f'beat->picture, compensation {label}, p95 |err| ms',
                  f'{percentile([abs(e) for e in errors], 95):.0f}', f'{len(errors)} beats')]
    await http.aclose()
    rows += [('beat pulse fired after its due time, median ms', f'{percentile(FIRING, 50):.1f}',
              'server-side timing of the control loop'),
             ('beat pulse fired after its due time, p95 ms', f'{percentile(FIRING, 95):.1f}', ''),
             ('lead in use (compensation on) ms', ', '.join(f'{lead:.0f}' for lead in LEADS[1:]), 'measured + trim')]
    return rows


async def one_beat_run(server: RunningServer, http: httpx.AsyncClient, analysis: dict[str, Any], seconds: float,
                       compensate: bool, trim: float) -> list[float]:
    client = ScopeClient(server.url)
    try:
        await client.load({'pipeline_ids': ['dreamfield'], 'load_params': {'width': SIZE, 'height': SIZE}})
        await client.connect(PROMPT)
        await client.wait_frames(10)
        session = client.session_id
        base = f'/api/v1/modulation/sessions/{session}'
        await http.put(f'{base}/settings', json={'compensate': compensate, 'trim_ms': trim, 'stamp_beats': True})
        await http.put(f'{base}/routes', json={'routes': [{'id': 'beat', 'source': 'tempo.beat',
                                                           'target': 'noise_scale', 'out_min': 0.3,
                                                           'out_max': 0.8, 'release': 0.1}]})
        for _ in range(30):  # warm the latency meter with a second of changes
            client.send({'noise_scale': random.uniform(0.3, 0.8)})
            await asyncio.sleep(1 / 30)
        await http.post('/api/v1/tempo/enable', json={'source': 'audio', 'session_id': session})
        started = (await http.post(f'/api/v1/audio/sessions/{session}/start', json={
            'source': {'kind': 'file', 'path': 'bench/clicks.wav', 'loop': False}, 'preset': 'beat-pulse'})).json()
        started_at = started['started_at']
        index = len(client.frames)
        await asyncio.sleep(seconds)
        frames = [(t, read_stamp(image)) for t, image in client.frames[index:]]
        status = (await http.get(base)).json()
        FIRING.extend(1000 * (beat['fired'] - (beat['due'] - beat['lead'])) for beat in status['beats'])
        LEADS.append(status['latency']['lead_ms'])
    finally:
        await http.post('/api/v1/tempo/disable')
        await client.close()
    beats, phase = analysis['beats'], analysis['downbeat_phase']
    errors, seen = [], set()
    for arrived, stamp in frames:
        if stamp in seen or stamp == 0 or not 0 <= stamp + phase < len(beats):
            continue
        seen.add(stamp)
        errors.append(1000 * (arrived - (started_at + beats[stamp + phase])))
    return errors[1:]  # the first pulse comes when the grid is picked up, not on a beat boundary crossing


def live_against_librosa(seconds: float) -> list[tuple[str, str, str]]:
    """The real-time detector (30 Hz ticks) and librosa's grid on the same click track."""
    live_samples, clicks = click_track(seconds, LIVE_RATE)
    analyser, live = Analyser(), []
    block = LIVE_RATE // 30
    for start in range(0, len(live_samples) - block, block):
        if analyser.process(live_samples[start:start + block]).beat:
            live.append((start + block) / LIVE_RATE)
    begun = time.perf_counter()
    grid = analyse(click_track(seconds, SAMPLE_RATE)[0]).beats
    took = time.perf_counter() - begun

    def errors(beats: list[float]) -> list[float]:
        return [1000 * min(abs(b - c) for c in clicks) for b in beats]

    return [('librosa grid vs clicks median |err| ms', f'{percentile(errors(grid), 50):.1f}',
             f'{len(grid)}/{len(clicks)} beats'),
            ('live detection vs clicks median |err| ms', f'{percentile(errors(live), 50):.1f}',
             f'{len(live)}/{len(clicks)} beats (it hears them late)'),
            ('librosa analysis time s', f'{took:.1f}', f'{seconds:.0f} s of audio')]


async def main(changes: int, seconds: float) -> None:
    rows = await matrix_cost(3000)
    rows += live_against_librosa(30.0)
    server = RunningServer(env={'DREAMSTAGE_STAMP_FRAMES': '1'})
    try:
        server.wait_ready()
        rows += await osc_to_frame(server, changes)
        rows += await beat_to_picture(server, seconds)
    finally:
        server.stop()
    print(table(rows, f'Control surfaces and the matrix (dreamfield; beats at {SIZE}x{SIZE}; one aiortc client)'))
    print('Beat errors: + is late. The lead is the measured change->frame latency in the session (plus the trim);')
    print('the third run sets the trim to what was left in the second (the encode/network/decode path).')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--changes', type=int, default=40, help='stamped changes per path')
    parser.add_argument('--seconds', type=float, default=16, help='seconds of click track per beat run')
    arguments = parser.parse_args()
    asyncio.run(main(arguments.changes, arguments.seconds))
