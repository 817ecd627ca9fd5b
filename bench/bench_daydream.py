"""Daydream streams benchmark: glass-to-glass latency WHIP in -> WHEP out (passthrough and dreamfield), HLS latency
and segment lengths, the server CPU of one stream with WHEP + HLS + RTMP + recording against WHEP alone (one H.264
encode for all), and the publisher's connection quality as the status reports it (jitter, loss).

Run: `scripts/bench daydream [--seconds 15]` (needs nginx with libnginx-mod-rtmp for the RTMP part).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np

from pipeline.stamp import read_stamp, stamp_frame
from tests.server import RunningServer
from tests.test_stream_outputs import RTMP_MODULE, NginxRtmp
from tests.whip_client import CountingCamera, WhepPlayer, WhipPublisher

from .figures import percentile, table

SIZE = (512, 512)
STREAM = {'pipeline': 'streamdiffusion', 'params': {'prompt': 'a lighthouse at dusk', 'width': 512, 'height': 512}}


class FlashCamera(CountingCamera):
    """Numbered frames that are all dark or all bright; the benchmark flips them and times the output's answer."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self.bright = False
        self.flips: list[tuple[float, bool]] = []  # (time the first frame of the new state was sent, bright)
        self._shown = False

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self.count += 1
        image = np.full((self.height, self.width, 3), 230 if self.bright else 20, np.uint8)
        stamp_frame(image, self.count)
        frame = av.VideoFrame.from_ndarray(image, format='rgb24')
        frame.pts, frame.time_base = pts, time_base
        now = time.time()
        self.sent_at[self.count] = now
        if self.bright != self._shown:
            self._shown = self.bright
            self.flips.append((now, self.bright))
        return frame


async def glass_to_glass(server: RunningServer, seconds: float, method: str) -> tuple[list[float], float]:
    """Milliseconds from a publisher frame leaving the client to the viewer frame made from it, and the viewer fps."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        stream = await running_stream(http)
        camera = FlashCamera(*SIZE)
        publisher, player = WhipPublisher(stream['whip_url'], camera), WhepPlayer(stream['output_stream_url'])
        try:
            await publisher.publish(http)
            await player.play(http)
            await player.wait_frames(30)
            begun, first = time.monotonic(), len(player.frames)
            while time.monotonic() - begun < seconds:
                await asyncio.sleep(0.6)
                camera.bright = not camera.bright
            fps = (len(player.frames) - first) / (time.monotonic() - begun)
        finally:
            await player.stop(http)
            await publisher.stop(http)
            await http.delete(f'/v1/streams/{stream["id"]}')
    frames = player.frames[first:]
    if method == 'stamp':
        latencies = [1000 * (arrived - camera.sent_at[stamp]) for arrived, image in frames
                     if (stamp := read_stamp(image)) in camera.sent_at]
    else:
        latencies = step_latencies(camera.flips, [(arrived, float(image.mean())) for arrived, image in frames])
    return latencies, fps


def step_latencies(flips: list[tuple[float, bool]], brightness: list[tuple[float, float]]) -> list[float]:
    """For each flip of the input, milliseconds until the output's brightness crosses halfway to its new level."""
    settled: dict[bool, list[float]] = {True: [], False: []}
    for (at, bright), (until, _) in itertools.pairwise(flips):
        settled[bright] += [level for t, level in brightness if at + 0.35 < t < until]
    if not settled[True] or not settled[False]:
        return []
    high, low = statistics.median(settled[True]), statistics.median(settled[False])
    middle = (high + low) / 2
    latencies = []
    for at, bright in flips[1:]:
        crossed = next((t for t, level in brightness if t > at and (level > middle) == (bright == (high > low))), None)
        if crossed is not None and crossed - at < 0.6:
            latencies.append(1000 * (crossed - at))
    return latencies


async def answer_while_loading(server: RunningServer, runs: int = 3) -> list[float]:
    """Seconds from a WHIP offer to its answer, sent the moment a stream is created (its pipeline still loading)."""
    durations = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for run in range(runs):
            size = 384 + 64 * run  # a size no stream loaded yet: a fresh load each time
            stream = (await http.post('/v1/streams', json={**STREAM, 'params': {'width': size, 'height': size}})).json()
            publisher = WhipPublisher(stream['whip_url'], CountingCamera(*SIZE))
            offer = await publisher.offer()
            begun = time.monotonic()
            response = await http.post(stream['whip_url'], content=offer, headers={'Content-Type': 'application/sdp'})
            durations.append(time.monotonic() - begun)
            loading = (await http.get(f'/v1/streams/{stream["id"]}/status')).json()['status'] == 'starting'
            assert response.status_code == 201 and loading, 'the answer came while the pipeline loaded'
            publisher.location = response.headers['location']
            await publisher.stop(http)
            await http.delete(f'/v1/streams/{stream["id"]}')
    return durations


async def hls_latency(server: RunningServer, seconds: float) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds from a frame leaving the publisher to its segment being listed: for the segment's last frame
    (the newest a player can have) and its first frame; and the listed segments' durations in seconds."""
    newest, oldest, durations = [], [], {}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        stream = await running_stream(http)
        camera = CountingCamera(*SIZE)
        publisher = WhipPublisher(stream['whip_url'], camera)
        folder = Path(tempfile.mkdtemp(prefix='bench-hls-'))
        try:
            await publisher.publish(http)
            playlist = stream['output_hls_url']
            seen = set(segments((await http.get(playlist)).text))  # listed before we watch: not timed
            begun = time.monotonic()
            while time.monotonic() - begun < seconds:
                text = (await http.get(playlist)).text
                listed = time.time()
                durations.update(segment_durations(text))
                for name in segments(text):
                    if name in seen:
                        continue
                    seen.add(name)
                    path = folder / name
                    path.write_bytes((await http.get(playlist.rsplit('/', 1)[0] + '/' + name)).content)
                    stamps = [read_stamp(frame.to_ndarray(format='rgb24')) for frame in decode(path)]
                    stamps = [stamp for stamp in stamps if stamp in camera.sent_at]
                    if stamps:
                        newest.append(1000 * (listed - camera.sent_at[stamps[-1]]))
                        oldest.append(1000 * (listed - camera.sent_at[stamps[0]]))
                await asyncio.sleep(0.05)
        finally:
            await publisher.stop(http)
            await http.delete(f'/v1/streams/{stream["id"]}')
            shutil.rmtree(folder, ignore_errors=True)
    return newest, oldest, [durations[name] for name in sorted(durations) if name in seen]


def segment_durations(playlist: str) -> dict[str, float]:
    """Each listed segment's #EXTINF duration, by its name."""
    lines = playlist.splitlines()
    return {name: float(line.split(':')[1].rstrip(',')) for line, name in itertools.pairwise(lines)
            if line.startswith('#EXTINF') and name.endswith('.ts')}


async def cpu_of_outputs(server: RunningServer, seconds: float) -> list[tuple[str, str, str]]:
    """Server CPU (its process and the RTMP relay it starts) for one stream: WHEP alone, then WHEP + HLS + RTMP +
    recording, with the same publisher and viewer."""
    rtmp = NginxRtmp(Path(tempfile.mkdtemp(prefix='bench-nginx-'))) if shutil.which('nginx') and \
        RTMP_MODULE.exists() else None
    rows: list[tuple[str, str, str]] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        body = {**STREAM, 'output_rtmp_url': rtmp.url} if rtmp else STREAM
        if rtmp:
            rtmp.start()
        stream = await running_stream(http, body)
        publisher, player = WhipPublisher(stream['whip_url'], CountingCamera(*SIZE)), None
        try:
            await publisher.publish(http)
            player = WhepPlayer(stream['output_stream_url'])
            await player.play(http)
            await player.wait_frames(30)
            if rtmp:  # the push runs while the publisher does: stop it for the baseline
                await http.patch(f'/v1/streams/{stream["id"]}', json={'output_rtmp_url': None})
            await asyncio.sleep(2)
            alone = await cpu_over(server, http, seconds)
            if rtmp:
                await http.patch(f'/v1/streams/{stream["id"]}', json={'output_rtmp_url': rtmp.url})
            await http.post(f'/api/v1/recordings/{stream["session_id"]}/start')
            hls_reader = asyncio.ensure_future(read_hls(http, stream['output_hls_url']))
            await asyncio.sleep(4)  # HLS, RTMP and the recording are under way
            everything = await cpu_over(server, http, seconds)
            hls_reader.cancel()
            status = (await http.get(f'/v1/streams/{stream["id"]}/status')).json()
            await http.post(f'/api/v1/recordings/{stream["session_id"]}/stop')
        finally:
            if player is not None:
                await player.stop(http)
            await publisher.stop(http)
            await http.delete(f'/v1/streams/{stream["id"]}')
            if rtmp:
                rtmp.stop()
    outputs = 'WHEP + HLS + RTMP + recording' if rtmp else 'WHEP + HLS + recording (no nginx: no RTMP)'
    rows += [('WHEP alone: server CPU (cores)', f'{alone["cores"]:.2f}', ''),
             (f'{outputs}: server CPU (cores)', f'{everything["cores"]:.2f}', ''),
             ('ratio', f'{everything["cores"] / max(alone["cores"], 1e-6):.2f}', '<= 1.3'),
             ('H.264 encodes per output frame, WHEP alone', f'{alone["encodes_per_frame"]:.2f}', '1'),
             ('H.264 encodes per output frame, all outputs', f'{everything["encodes_per_frame"]:.2f}', '1'),
             ('RTMP push state', str((status['outputs']['rtmp'] or {}).get('state')), 'live')]
    ingest = status['data']['gateway_status']['ingest_metrics']['stats']
    video: dict[str, Any] = next((track for track in ingest['track_stats'] if track['type'] == 'video'), {})
    rows += [('publisher connection quality (status)', ingest['conn_quality'], 'good'),
             ('publisher video jitter ms / packet loss %',
              f'{1000 * video.get("jitter", 0):.1f} / {video.get("packet_loss_pct", 0):.2f}', '< 50 / < 2')]
    return rows


async def read_hls(http: httpx.AsyncClient, playlist: str) -> None:
    """Fetch the playlist and each new segment, as a player does."""
    seen: set[str] = set()
    while True:
        for name in segments((await http.get(playlist)).text):
            if name not in seen:
                seen.add(name)
                await http.get(playlist.rsplit('/', 1)[0] + '/' + name)
        await asyncio.sleep(0.5)


async def cpu_over(server: RunningServer, http: httpx.AsyncClient, seconds: float) -> dict[str, float]:
    """Cores the server process tree used, and encoded frames per frame made, over `seconds`."""
    before, metrics_before, started = process_tree_cpu(server.process.pid), await metrics(http), time.monotonic()
    await asyncio.sleep(seconds)
    after, metrics_after = process_tree_cpu(server.process.pid), await metrics(http)
    made = sum(s['frames_out'] for s in metrics_after['sessions'].values()) - \
        sum(s['frames_out'] for s in metrics_before['sessions'].values() if s)
    encoded = metrics_after['server']['encode_frames'] - metrics_before['server']['encode_frames']
    return {'cores': (after - before) / (time.monotonic() - started), 'encodes_per_frame': encoded / max(1, made)}


async def metrics(http: httpx.AsyncClient) -> dict[str, Any]:
    return (await http.get('/api/v1/session/metrics')).json()


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the RTMP relay), from /proc."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0.0
    for candidate in [pid, *children(pid)]:
        try:
            fields = Path(f'/proc/{candidate}/stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f'/proc/{pid}/task').iterdir():
        with open(task / 'children') as listing:
            found += [int(child) for child in listing.read().split()]
    return found


async def running_stream(http: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    stream = (await http.post('/v1/streams', json=body or STREAM)).json()
    deadline = time.monotonic() + 120
    while (await http.get(f'/v1/streams/{stream["id"]}/status')).json()['status'] != 'running':
        assert time.monotonic() < deadline, 'the stream did not start'
        await asyncio.sleep(0.2)
    return stream


def segments(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line.endswith('.ts')]


def decode(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def latency_rows(label: str, values: list[float], target: str) -> list[tuple[str, str, str]]:
    return [(f'{label} median ms', f'{percentile(values, 50):.0f}', target),
            (f'{label} p95 ms', f'{percentile(values, 95):.0f}', ''),
            (f'{label} samples', str(len(values)), '')]


async def main(seconds: float) -> None:
    rows: list[tuple[str, str, str]] = []
    passthrough = RunningServer(pipeline='none', env={'DREAMSTAGE_PIPELINE_ALIASES': 'streamdiffusion=passthrough'})
    try:
        passthrough.wait_ready(loaded=False)
        latencies, fps = await glass_to_glass(passthrough, seconds, 'stamp')
        rows += latency_rows('passthrough WHIP->WHEP (frame number)', latencies, '')
        rows.append(('passthrough viewer fps', f'{fps:.1f}', '30'))
        newest, oldest, durations = await hls_latency(passthrough, seconds)
        rows += latency_rows('HLS: newest frame -> listed', newest, '')
        rows += latency_rows('HLS: segment start -> listed', oldest, '')
        rows.append(('HLS segment seconds: median / min / max', f'{percentile(durations, 50):.2f} / '
                     f'{min(durations, default=0):.2f} / {max(durations, default=0):.2f}', '1 (0.5 .. 2.5)'))
        rows += await cpu_of_outputs(passthrough, seconds)
    finally:
        passthrough.stop()
    dreamfield = RunningServer(pipeline='none')
    try:
        dreamfield.wait_ready(loaded=False)
        latencies, fps = await glass_to_glass(dreamfield, seconds, 'step')
        rows += latency_rows('dreamfield WHIP->WHEP (brightness step)', latencies, '')
        rows.append(('dreamfield viewer fps', f'{fps:.1f}', '30'))
        answers = await answer_while_loading(dreamfield)
        rows.append(('WHIP answer while the pipeline loads, max s', f'{max(answers):.2f}', '< 5'))
    finally:
        dreamfield.stop()
    print(table(rows, f'Daydream streams on loopback, {SIZE[0]}x{SIZE[1]}, aiortc publisher and viewer, '
                      f'{seconds:.0f} s per figure'))
    print('The aiortc viewer adds about one frame (33 ms) of its own; the publisher side is timed when its encoder '
          'takes the frame. Dreamfield restyles its input, so its latency is timed on brightness steps (the input '
          'flips dark/bright; the output crossing halfway), not on frame numbers.')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=15, help='measuring time per figure')
    asyncio.run(main(parser.parse_args().seconds))
