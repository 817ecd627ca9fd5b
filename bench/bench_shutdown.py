"""Shutdown benchmark: SIGTERM while a WebRTC viewer watches and a client trickles a large upload; seconds until
the viewer hears `stream_stopped` and until the process has exited, and partial upload files left behind.

Run: `scripts/bench shutdown [--runs N]`.
"""
from __future__ import annotations

import argparse
import asyncio
import time

from tests.scope_client import ScopeClient
from tests.server import RunningServer
from tests.test_shutdown import SlowUpload, partial_uploads
from tests.waiting import wait_until

from .figures import percentile, table


async def one_run() -> tuple[float, float, int]:
    """(seconds to stream_stopped, seconds to exit, partial files left) of one SIGTERM."""
    server = RunningServer()
    viewer = ScopeClient(server.url, keep_images=False)
    upload: SlowUpload | None = None
    try:
        server.wait_ready(timeout=300)
        await viewer.connect({})
        await viewer.wait_frames(10, timeout=60)
        upload = SlowUpload(server, '/api/v1/assets?filename=slow.mp4', 400 * 1024 * 1024)
        wait_until(lambda: partial_uploads(server.assets_dir), 30)
        signalled = time.monotonic()
        server.process.terminate()
        await viewer.wait_message('stream_stopped', timeout=60)
        stopped = time.monotonic() - signalled
        while server.process.poll() is None:
            await asyncio.sleep(0.01)
        exited = time.monotonic() - signalled
        return stopped, exited, len(partial_uploads(server.assets_dir))
    finally:
        if upload is not None:
            upload.stop()
        await viewer.close()
        server.stop()


async def main(runs: int) -> None:
    results = [await one_run() for _ in range(runs)]
    stopped, exited, left = ([r[i] for r in results] for i in range(3))
    print(table([
        ('SIGTERM to stream_stopped at the viewer, median (max)',
         f'{percentile(stopped, 50):.2f} s ({max(stopped):.2f} s)', '-'),
        ('SIGTERM to process exit, median (max)', f'{percentile(exited, 50):.2f} s ({max(exited):.2f} s)', '< 5 s'),
        ('partial upload files left', str(sum(left)), '0'),
    ], f'Shutdown with a slow upload in flight, {runs} runs'))


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--runs', type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
