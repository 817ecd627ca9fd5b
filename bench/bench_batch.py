"""Batch generation benchmark: cost per frame against live streaming of the same pipeline and size, time to the
first progress event, and the server's peak memory while a 2 GiB data blob uploads.

Run: `scripts/bench batch [--size 512] [--frames 300] [--rounds 3] [--blob-gib 2]`.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.batch_wire import WireClient
from tests.scope_client import ScopeClient
from tests.server import RunningServer

from .figures import percentile, table

PROMPT = 'a dreamy nebula of soft light'
TICKS = os.sysconf('SC_CLK_TCK')


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return float('nan')


async def live_per_frame(server: RunningServer, seconds: float) -> tuple[float, float]:
    """(wall ms, CPU ms) per frame of the pipeline call in a live session's worker, over `seconds` of streaming."""
    client = ScopeClient(server.url, keep_images=False)
    try:
        await client.connect({'prompts': [{'text': PROMPT, 'weight': 1.0}]})
        await client.wait_frames(30)
        before = await session_metrics(client)
        await asyncio.sleep(seconds)
        after = await session_metrics(client)
    finally:
        await client.close()
    frames = after['frames_out'] - before['frames_out']
    wall = after['generate_ms_per_chunk'] * after['frames_out'] - before['generate_ms_per_chunk'] * before['frames_out']
    cpu = 1000 * (after['generate_cpu_seconds'] - before['generate_cpu_seconds'])
    return wall / max(1, frames), cpu / max(1, frames)


async def session_metrics(client: ScopeClient) -> dict[str, Any]:
    body = (await client.http.get('/api/v1/session/metrics')).json()
    return body['sessions'][client.session_id]


def batch_per_frame(server: RunningServer, frames: int) -> dict[str, float]:
    """Per frame of one generation with nobody streaming: wall and CPU ms of the generation thread in all and in
    the pipeline call, server CPU ms (all threads); and seconds from the POST to the first progress event."""
    wire = WireClient(server.url)
    cpu_before, started = process_cpu(server.process.pid), time.perf_counter()
    first = None
    with wire.generate({'pipeline_id': 'dreamfield', 'prompt': PROMPT, 'num_frames': frames, 'seed': 1}) as stream:
        for name, data in stream:
            if name == 'progress':
                first = first or time.perf_counter() - started
            elif name in ('complete', 'cancelled', 'error'):
                assert name == 'complete', data
                break
    cpu = process_cpu(server.process.pid) - cpu_before
    figures = wire.request('GET', '/api/v1/generate/status').json()['figures']
    count = figures['frames']
    per_frame = {name: 1000 * figures[f'{key}_seconds'] / count for name, key in (
        ('chunk_wall', 'chunk'), ('chunk_cpu', 'chunk_cpu'), ('pipeline_wall', 'pipeline'),
        ('pipeline_cpu', 'pipeline_cpu'))}
    return {**per_frame, 'server_cpu': 1000 * cpu / frames, 'first': first or float('nan')}


async def live_fps_while_rendering(server: RunningServer, seconds: float,
                                   rounds: int) -> tuple[float, float, float]:
    """Medians of (live fps of one viewer, its fps while a generation runs, the generation's fps meanwhile), over
    `rounds` alternations of `seconds` each."""
    client = ScopeClient(server.url, keep_images=False)
    wire = WireClient(server.url)
    before, during, meanwhile = [], [], []
    try:
        await client.connect({'prompts': [{'text': PROMPT, 'weight': 1.0}]})
        await client.wait_frames(30)
        for _ in range(rounds):
            before.append(await frames_per_second(client, seconds))
            rendering = asyncio.create_task(asyncio.to_thread(
                wire.run, {'pipeline_id': 'dreamfield', 'prompt': PROMPT, 'num_frames': 10_000, 'seed': 1}))
            await asyncio.sleep(1)
            during.append(await frames_per_second(client, seconds))
            status = wire.request('GET', '/api/v1/generate/status').json()
            meanwhile.append(float(status['last_event']['data'].get('fps', float('nan'))))
            wire.cancel()
            await rendering
    finally:
        await client.close()
    return statistics.median(before), statistics.median(during), statistics.median(meanwhile)


async def frames_per_second(client: ScopeClient, seconds: float) -> float:
    count, started = len(client.frames), time.monotonic()
    await asyncio.sleep(seconds)
    return (len(client.frames) - count) / (time.monotonic() - started)


def first_progress(server: RunningServer, runs: int) -> list[float]:
    """Seconds from POSTing a short generation to its first progress event."""
    return [batch_per_frame(server, 4)['first'] for _ in range(runs)]


def blob_upload(server: RunningServer, size: int) -> tuple[float, float, float]:
    """(baseline RSS MB, peak RSS MB during the upload, MB/s) of uploading `size` bytes of blob."""
    pid = server.process.pid
    baseline = rss_mb(pid)
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    block = bytes(1024 * 1024)

    def body() -> Any:
        sent = 0
        while sent < size:
            part = block[:min(len(block), size - sent)]
            sent += len(part)
            yield part

    started = time.perf_counter()
    connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=600)
    try:
        connection.request('POST', '/api/v1/generate/upload-data', body(),
                           {'Content-Length': str(size), 'Content-Type': 'application/octet-stream'})
        reply = connection.getresponse()
        answer = json.loads(reply.read())
    finally:
        connection.close()
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    assert reply.status == 200 and answer['size_bytes'] == size, answer
    return baseline, peak[0], size / 1e6 / seconds


async def main(size: int, frames: int, rounds: int, blob_gib: float) -> None:
    home = Path(tempfile.mkdtemp(prefix='dreamstage-bench-batch-'))
    server = RunningServer(pipeline='none', home=home)
    try:
        server.wait_ready(loaded=False)
        WireClient(server.url).load(['dreamfield'], {'width': size, 'height': size})
        batch_per_frame(server, 30)  # warm up: the text encoder, caches
        live, batch = [], []
        for _ in range(rounds):
            live.append(await live_per_frame(server, seconds=frames / 30))
            batch.append(batch_per_frame(server, frames))
        live_wall, live_cpu = (statistics.median(v[i] for v in live) for i in range(2))
        median = {key: statistics.median(run[key] for run in batch) for key in batch[0]}
        firsts = first_progress(server, runs=10)
        live_before, live_during, batch_meanwhile = await live_fps_while_rendering(server, seconds=6, rounds=rounds)
        baseline, peak, rate = blob_upload(server, int(blob_gib * 1024**3))
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    label = f'dreamfield {size}x{size}'
    rows = [
        (f'{label} live: pipeline call wall ms/frame', f'{live_wall:.2f}', ''),
        (f'{label} live: pipeline call CPU ms/frame', f'{live_cpu:.2f}', ''),
        (f'{label} batch: pipeline call wall ms/frame', f"{median['pipeline_wall']:.2f}", ''),
        (f'{label} batch: pipeline call CPU ms/frame', f"{median['pipeline_cpu']:.2f}", ''),
        (f'{label} batch: whole chunk wall ms/frame', f"{median['chunk_wall']:.2f}", ''),
        (f'{label} batch: whole chunk CPU ms/frame', f"{median['chunk_cpu']:.2f}", ''),
        (f'{label} batch: server CPU ms/frame (all threads)', f"{median['server_cpu']:.2f}", ''),
        ('batch chunk CPU / live pipeline CPU per frame', f"{median['chunk_cpu'] / live_cpu:.3f}", '<= 1.05'),
        ('batch chunk wall / live pipeline wall per frame', f"{median['chunk_wall'] / live_wall:.3f}", '<= 1.05'),
        ('batch path overhead: chunk CPU / its pipeline CPU', f"{median['chunk_cpu'] / median['pipeline_cpu']:.3f}",
         '<= 1.05'),
        ('batch fps (1000 / chunk wall ms)', f"{1000 / median['chunk_wall']:.1f}", ''),
        ('live viewer fps, no generation', f'{live_before:.1f}', ''),
        ('live viewer fps while a generation runs', f'{live_during:.1f}', ''),
        ('generation fps meanwhile', f'{batch_meanwhile:.1f}', ''),
        ('POST -> first progress median ms', f'{1000 * percentile(firsts, 50):.0f}', ''),
        ('POST -> first progress p90 ms', f'{1000 * percentile(firsts, 90):.0f}', ''),
        (f'{blob_gib:g} GiB blob upload: peak RSS above baseline MB', f'{peak - baseline:.1f}', '< 64'),
        (f'{blob_gib:g} GiB blob upload: baseline RSS MB', f'{baseline:.0f}', ''),
        (f'{blob_gib:g} GiB blob upload: MB/s', f'{rate:.0f}', ''),
    ]
    print(table(rows, f'Batch generation ({rounds} rounds of {frames} frames, medians)'))


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--size', type=int, default=512, help='frame width and height (default 512)')
    parser.add_argument('--frames', type=int, default=300, help='frames per batch round (default 300)')
    parser.add_argument('--rounds', type=int, default=3, help='live/batch rounds (default 3)')
    parser.add_argument('--blob-gib', type=float, default=2.0, help='blob size for the memory figure (default 2)')
    options = parser.parse_args()
    asyncio.run(main(options.size, options.frames, options.rounds, options.blob_gib))
