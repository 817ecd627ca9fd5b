"""Streaming core benchmark: fps, server CPU per frame, change-to-frame latency, first frame, loop lag.

Run: `scripts/bench` (or `../shared/tools/loopback-only .venv/bin/python -m bench.bench_streaming`).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import time

from pipeline.stamp import read_stamp
from tests.scope_client import ScopeClient
from tests.server import RunningServer

from .figures import frame_cost, percentile, table

PROMPT = {'prompts': [{'text': 'a dreamy nebula of soft light', 'weight': 1.0}]}


async def measure_size(server: RunningServer, width: int, height: int, seconds: float) -> list[tuple[str, str, str]]:
    """Figures of one client streaming at one size."""
    client = ScopeClient(server.url)
    try:
        await client.load({'pipeline_ids': ['dreamfield'], 'load_params': {'width': width, 'height': height}})
        await client.connect(PROMPT)
        await client.wait_frames(30)
        before = await metrics(client)
        frames_before, started = len(client.frames), time.monotonic()
        await asyncio.sleep(seconds)
        fps = (len(client.frames) - frames_before) / (time.monotonic() - started)
        after = await metrics(client)
        latencies = await change_to_frame(client, changes=40)
    finally:
        await client.close()
    cost = frame_cost(before, after)
    size = f'{width}x{height}'
    return [
        (f'{size} fps delivered', f'{fps:.1f}', '>= 30 (29.5 with timer jitter)'),
        (f'{size} server CPU (cores)', f'{cost.cpu_seconds / seconds:.2f}', '<= 1.0'),
        (f'{size} CPU/frame total ms', f'{cost.total_ms:.1f}', '<= 33'),
        (f'{size}   generate ms', f'{cost.generate_ms:.1f}', ''),
        (f'{size}   encode ms', f'{cost.encode_ms:.1f}', ''),
        (f'{size}   rest ms', f'{cost.rest_ms:.1f}', ''),
        (f'{size} change->frame median ms', f'{percentile(latencies, 50):.0f}', '<= 80'),
        (f'{size} change->frame p95 ms', f'{percentile(latencies, 95):.0f}', '<= 150'),
        (f'{size} loop lag p99 ms', f"{after['server']['loop_lag'].get('p99_ms', float('nan')):.1f}", '< 20'),
    ]


async def change_to_frame(client: ScopeClient, changes: int) -> list[float]:
    """Milliseconds from sending a stamped change to the first received frame that carries it."""
    await asyncio.wait_for(client.channel_open.wait(), 5)
    latencies = []
    for stamp in range(1, changes + 1):
        await asyncio.sleep(random.uniform(0.08, 0.16))
        index, sent = len(client.frames), time.time()
        client.send({'stamp': stamp, 'noise_scale': random.uniform(0.2, 0.8)})
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            arrived = next((t for t, image in client.frames[index:] if read_stamp(image) >= stamp), None)
            if arrived is not None:
                latencies.append(1000 * (arrived - sent))
                break
            await asyncio.sleep(0.002)
    return latencies


async def offer_to_first_frame(server: RunningServer, runs: int) -> list[float]:
    """Seconds from starting an offer to the first decoded frame."""
    durations = []
    for _ in range(runs):
        client = ScopeClient(server.url)
        try:
            begun = time.monotonic()
            await client.connect(PROMPT)
            await client.wait_frames(1)
            durations.append(time.monotonic() - begun)
        finally:
            await client.close()
        await asyncio.sleep(0.3)
    return durations


async def metrics(client: ScopeClient) -> dict:
    body = (await client.http.get('/api/v1/session/metrics')).json()
    return {'session': body['sessions'][client.session_id], 'server': body['server']}


async def main(seconds: float) -> None:
    server = RunningServer(env={'DREAMSTAGE_STAMP_FRAMES': '1'})
    try:
        server.wait_ready()
        rows = []
        for width, height in ((512, 512), (576, 320)):
            rows += await measure_size(server, width, height, seconds)
        first = await offer_to_first_frame(server, runs=5)
        rows += [('offer->first frame median s', f'{percentile(first, 50):.3f}', '<= 0.5'),
                 ('offer->first frame max s', f'{max(first):.3f}', '')]
    finally:
        server.stop()
    print(table(rows, f'Streaming core, one aiortc client on loopback, {seconds:.0f} s per size (VP8)'))
    print('Latencies are measured at a Python aiortc client, whose jitter buffer adds about one frame (33 ms).')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=10, help='measuring time per size')
    asyncio.run(main(parser.parse_args().seconds))
