"""Video-to-video benchmark: a synthetic camera streams to the server, which runs Dreamfield or passthrough on it
and streams the result back. Figures: fps delivered, camera frames taken in, server CPU per frame (generate,
encode, the rest: receiving and decoding the camera, RTP, the loop), with the server pinned to one core.

Run: `scripts/bench v2v` (options: --seconds, --server-cpu, --client-cpu).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time

from tests.scope_client import ScopeClient
from tests.server import RunningServer
from tests.synthetic_video import PatternTrack

from .figures import frame_cost, table

CASES = [('dreamfield', 512, 512), ('dreamfield', 576, 320), ('passthrough', 512, 512), ('passthrough', 576, 320)]
PROMPT = [{'text': 'ink wash painting of a lighthouse in a storm', 'weight': 1.0}]


async def measure(server: RunningServer, pipeline: str, width: int, height: int,
                  seconds: float) -> list[tuple[str, str, str]]:
    """Figures of one camera client at one size."""
    client = ScopeClient(server.url, keep_images=False)
    try:
        await client.load({'pipeline_ids': [pipeline], 'load_params': {'width': width, 'height': height}})
        await client.connect({'input_mode': 'video', 'prompts': PROMPT, 'noise_scale': 0.5},
                             track=PatternTrack('bars', width=width, height=height), codecs=('VP8',))
        await client.wait_frames(30, timeout=60)
        before = await figures(client)
        frames_before, started = len(client.frames), time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        fps = (len(client.frames) - frames_before) / elapsed
        after = await figures(client)
    finally:
        await client.close()
    cost = frame_cost(before, after)
    frames_in = (after['session']['frames_in'] - before['session']['frames_in']) / elapsed
    case = f'{pipeline} {width}x{height}'
    return [(f'{case} fps delivered', f'{fps:.1f}', '>= 30 (29.5 with timer jitter)'),
            (f'{case} camera frames in/s', f'{frames_in:.1f}', '30'),
            (f'{case} server CPU (cores)', f'{cost.cpu_seconds / elapsed:.2f}', '<= 1.0'),
            (f'{case} CPU/frame total ms', f'{cost.total_ms:.1f}', '<= 33'),
            (f'{case}   generate ms', f'{cost.generate_ms:.1f}', ''),
            (f'{case}   encode ms', f'{cost.encode_ms:.1f}', ''),
            (f'{case}   rest ms (camera decode, RTP, loop)', f'{cost.rest_ms:.1f}', '')]


async def figures(client: ScopeClient) -> dict:
    body = (await client.http.get('/api/v1/session/metrics')).json()
    return {'session': body['sessions'][client.session_id], 'server': body['server']}


def parse_cases(text: str) -> list[tuple[str, int, int]]:
    """'dreamfield:512x512,passthrough:576x320' as (pipeline, width, height) cases."""
    cases = []
    for item in text.split(','):
        pipeline, size = item.split(':')
        width, height = size.split('x')
        cases.append((pipeline, int(width), int(height)))
    return cases


async def main(seconds: float, server_cpu: str, client_cpu: int | None, cases: list[tuple[str, int, int]]) -> None:
    if client_cpu is not None and hasattr(os, 'sched_setaffinity'):
        os.sched_setaffinity(0, {client_cpu})  # the camera and the receiving client stay off the server's core
    server = RunningServer(cpus=server_cpu)
    try:
        server.wait_ready()
        rows: list[tuple[str, str, str]] = []
        for pipeline, width, height in cases:
            rows += await measure(server, pipeline, width, height, seconds)
    finally:
        server.stop()
    print(table(rows, f'Video-to-video, one aiortc camera client on loopback (VP8 both ways), server on core '
                      f'{server_cpu}, {seconds:.0f} s per case'))


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=10, help='measuring time per case')
    parser.add_argument('--server-cpu', default='0', help='the core(s) the server runs on (taskset -c)')
    parser.add_argument('--client-cpu', type=int, default=1, help='the core the benchmark client runs on')
    parser.add_argument('--cases', type=parse_cases, default=CASES, help="'dreamfield:512x512,passthrough:576x320'")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.server_cpu, arguments.client_cpu, arguments.cases))
