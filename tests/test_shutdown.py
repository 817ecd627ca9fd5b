"""SIGTERM ends the server cleanly: uploads in flight are cut short without a trace, viewers hear `stream_stopped`."""
from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path

import httpx

from .scope_client import ScopeClient
from .server import RunningServer
from .waiting import LOADING, PATIENCE, wait_until


async def test_sigterm_during_a_slow_upload_stops_viewers_and_leaves_no_partial_file() -> None:
    """A client trickling a 400 MB upload does not hold the server up; the WebRTC viewer is told the stream stopped."""
    server = RunningServer()
    viewer = ScopeClient(server.url)
    upload: SlowUpload | None = None
    try:
        server.wait_ready()
        await viewer.connect({})
        await viewer.wait_frames(3)
        upload = SlowUpload(server, '/api/v1/assets?filename=slow.mp4', 400 * 1024 * 1024)  # minutes at this pace
        assert wait_until(lambda: partial_uploads(server.assets_dir)), 'the upload did not start'
        server.process.terminate()
        stopped = await viewer.wait_message('stream_stopped')
        assert 'error_message' not in stopped, 'a shutdown is not an error of the stream'
        # it exits (how soon: bench/bench_shutdown.py); uvicorn re-raises the signal
        assert server.process.wait(PATIENCE) in (0, -signal.SIGTERM), server.output()
        assert not partial_uploads(server.assets_dir)
        assert not (server.assets_dir / 'slow.mp4').exists()
    finally:
        if upload is not None:
            upload.stop()
        await viewer.close()
        server.stop()


def test_uploads_cut_short_earlier_are_removed_at_start(tmp_path: Path) -> None:
    """Partial files a killed server left in the assets and LoRA folders are gone once it is back; nothing else is."""
    leftovers = [tmp_path / 'assets' / '.upload-abc123.part', tmp_path / 'assets' / 'clips' / '.upload-x.part',
                 tmp_path / 'models' / 'lora' / 'styles' / '.upload-y.part']
    kept = [tmp_path / 'assets' / 'cat.png', tmp_path / 'assets' / 'notes.part', tmp_path / 'assets' / '.upload-z',
            tmp_path / 'models' / 'lora' / 'styles' / 'ink.safetensors']
    for path in leftovers + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'data')
    server = RunningServer(pipeline='none', home=tmp_path)
    try:
        server.wait_ready(LOADING, loaded=False)
        assert httpx.get(f'{server.url}/health').status_code == 200
        assert [path for path in leftovers if path.exists()] == []
        assert [path for path in kept if not path.exists()] == []
    finally:
        server.stop()


class SlowUpload:
    """A raw upload that declares `size` bytes and sends them slowly from a thread until told to stop or cut off."""

    def __init__(self, server: RunningServer, path: str, size: int) -> None:
        self.sock = socket.create_connection(('127.0.0.1', server.port), timeout=30)
        self.sock.sendall(f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n'
                          f'Content-Length: {size}\r\n\r\n'.encode())
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def _send(self) -> None:
        block = bytes(64 * 1024)
        try:
            while not self.stopped.wait(0.05):
                self.sock.sendall(block)
        except OSError:  # the server went away
            pass

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(10)
        self.sock.close()


def partial_uploads(folder: Path) -> list[Path]:
    return list(folder.rglob('.upload-*.part')) if folder.exists() else []
