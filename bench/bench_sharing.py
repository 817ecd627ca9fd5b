"""Shared-session benchmark: server CPU and delivered fps for 1, 4 and 8 viewers of one 512x512 session, a WebRTC
viewer's fps beside a WebSocket viewer that stopped reading, and a control change from one peer to the first frame
carrying it at the other viewers.

Run: `scripts/bench sharing` (or `../shared/tools/loopback-only .venv/bin/python -m bench.bench_sharing`).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import time

import httpx
from websockets.asyncio.client import connect as websocket_connect

from pipeline.stamp import read_stamp
from tests.scope_client import ScopeClient
from tests.server import RunningServer

from .figures import percentile, table


async def viewers_run(server: RunningServer, session: dict, count: int, seconds: float) -> tuple[float, float, float]:
    """(server CPU in cores, minimum fps over viewers, median fps) with `count` viewers."""
    clients = []
    try:
        for i in range(count):
            client = ScopeClient(server.url, keep_images=False)
            await client.connect({'session_id': session['id'], 'session_token': session['view_token'],
                                  'client_label': f'viewer{i}'})
            clients.append(client)
        for client in clients:
            await client.wait_frames(10)
        starts = [len(c.frames) for c in clients]
        cpu_before, begun = server.cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - begun
        cpu = (server.cpu_seconds() - cpu_before) / elapsed
        rates = sorted((len(c.frames) - s) / elapsed for c, s in zip(clients, starts, strict=True))
        return cpu, rates[0], percentile(rates, 50)
    finally:
        for client in clients:
            await client.close()


async def beside_a_stalled_viewer(server: RunningServer, session: dict, seconds: float) -> tuple[float, float]:
    """(fps of a WebRTC viewer alone, its fps while a WebSocket viewer of the session stops reading)."""
    watcher = ScopeClient(server.url, keep_images=False)
    try:
        await watcher.connect({'session_id': session['id'], 'session_token': session['view_token']})
        await watcher.wait_frames(10)
        alone = await frame_rate(watcher, seconds)
        query = f"session={session['id']}&token={session['view_token']}"
        url = server.url.replace('http', 'ws') + f'/api/v1/ws/video?{query}'
        async with websocket_connect(url, max_queue=1, max_size=None) as stalled:
            await stalled.recv()  # one frame, then it stops reading
            await asyncio.sleep(2)  # its buffers fill up
            beside = await frame_rate(watcher, seconds)
        return alone, beside
    finally:
        await watcher.close()


async def frame_rate(client: ScopeClient, seconds: float) -> float:
    """Frames a client receives per second, over `seconds`."""
    start, begun = len(client.frames), time.monotonic()
    await asyncio.sleep(seconds)
    return (len(client.frames) - start) / (time.monotonic() - begun)


async def change_to_other_viewers(server: RunningServer, session: dict, changes: int) -> list[float]:
    """Milliseconds from a controller's stamped change to the first frame carrying it at three other viewers."""
    controller = ScopeClient(server.url)
    await controller.connect({'session_id': session['id'], 'session_token': session['control_token']})
    viewers = []
    for _ in range(3):
        viewer = ScopeClient(server.url)
        await viewer.connect({'session_id': session['id'], 'session_token': session['view_token']})
        viewers.append(viewer)
    latencies: list[float] = []
    try:
        await asyncio.wait_for(controller.channel_open.wait(), 30)
        for viewer in viewers:
            await viewer.wait_frames(10)
        for stamp in range(1000, 1000 + changes):
            await asyncio.sleep(random.uniform(0.08, 0.16))
            marks = [len(v.frames) for v in viewers]
            sent = time.time()
            controller.send({'stamp': stamp})
            deadline = time.monotonic() + 2
            pending = set(range(len(viewers)))
            while pending and time.monotonic() < deadline:
                for index in list(pending):
                    frames = viewers[index].frames[marks[index]:]
                    arrived = next((t for t, image in frames if read_stamp(image) >= stamp), None)
                    if arrived is not None:
                        latencies.append(1000 * (arrived - sent))
                        pending.discard(index)
                await asyncio.sleep(0.002)
    finally:
        for client in (controller, *viewers):
            await client.close()
    return latencies


async def main(seconds: float) -> None:
    server = RunningServer(env={'DREAMSTAGE_STAMP_FRAMES': '1', 'DREAMSTAGE_MAX_PEERS_PER_SESSION': '32'})
    rows = []
    try:
        server.wait_ready()
        session = httpx.post(f'{server.url}/api/v1/sessions', json={'name': 'bench'}).json()
        baseline = None
        for count in (1, 4, 8):
            cpu, slowest, median = await viewers_run(server, session, count, seconds)
            baseline = baseline or cpu
            rows += [(f'{count} viewers: server CPU (cores)', f'{cpu:.2f}', ''),
                     (f'{count} viewers: CPU vs 1 viewer', f'{cpu / baseline:.2f}x', '<= 1.5x at 8'),
                     (f'{count} viewers: fps slowest / median', f'{slowest:.1f} / {median:.1f}', '>= 28')]
        alone, beside = await beside_a_stalled_viewer(server, session, seconds)
        rows += [("a viewer's fps alone / beside a stalled WebSocket viewer", f'{alone:.1f} / {beside:.1f}',
                  '>= 0.7x alone')]
        latencies = await change_to_other_viewers(server, session, changes=30)
        rows += [('change->frame at other viewers, median ms', f'{percentile(latencies, 50):.0f}', ''),
                 ('change->frame at other viewers, p95 ms', f'{percentile(latencies, 95):.0f}', '')]
    finally:
        server.stop()
    print(table(rows, f'Shared session, 512x512 VP8, aiortc viewers on loopback ({seconds:.0f} s per step)'))
    print('The viewers run in the benchmark process (not counted in server CPU); each decodes every frame.')


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seconds', type=float, default=8, help='measuring time per viewer count')
    asyncio.run(main(parser.parse_args().seconds))
