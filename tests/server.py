"""A real Dreamstage server in a subprocess, on a free loopback port, for tests and benchmarks."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from .waiting import LOADING

ROOT = Path(__file__).resolve().parent.parent


class RunningServer:
    """A server process with its own models, LoRA and assets folders."""

    def __init__(self, *, pipeline: str = 'dreamfield', env: dict[str, str] | None = None,
                 home: Path | None = None, cpus: str | None = None) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.home = home or Path(tempfile.mkdtemp(prefix='dreamstage-test-'))
        self.models_dir = self.home / 'models'
        self.assets_dir = self.home / 'assets'
        self.lora_dir = self.models_dir / 'lora'
        self.log_path = self.home / 'server.log'
        environment = {
            **os.environ,
            'DREAMSTAGE_ICE_HOSTS': '127.0.0.1',
            'DREAMSTAGE_MODELS_DIR': str(self.models_dir),
            'DREAMSTAGE_ASSETS_DIR': str(self.assets_dir),
            'HF_HUB_OFFLINE': '1',
            'PYTHONUNBUFFERED': '1',
            'DREAMSTAGE_OFFERS_PER_MINUTE': '100000',
            'DREAMSTAGE_UPLOADS_PER_MINUTE': '100000',
            **(env or {}),
        }
        for name in ('NICEGUI_USER_SIMULATION', 'PYTEST_CURRENT_TEST', 'PYTEST_VERSION'):
            environment.pop(name, None)
        self.log = self.log_path.open('w')
        pinned = ['taskset', '-c', cpus] if cpus else []  # benchmarks: the server on the given cores only
        self.process = subprocess.Popen(
            [*pinned, sys.executable, str(ROOT / 'main.py'), '-N', '--port', str(self.port), '--pipeline', pipeline],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = LOADING, loaded: bool = True) -> None:
        """Wait until /health answers (and the pre-loaded pipeline is loaded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'server exited with {self.process.returncode}:\n{self.output()}')
            try:
                if httpx.get(f'{self.url}/health', timeout=10).status_code == 200:
                    if not loaded or httpx.get(f'{self.url}/api/v1/pipeline/status',
                                               timeout=10).json()['status'] == 'loaded':
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f'server not ready after {timeout} s:\n{self.output()}')

    def rss_mb(self) -> float:
        """The server process's resident memory in MB."""
        return self._status('VmRSS') / 1024

    def threads(self) -> int:
        """The server process's threads (native ones included)."""
        return len(os.listdir(f'/proc/{self.process.pid}/task'))

    def open_files(self) -> int:
        """The server process's open file descriptors (files, sockets, pipes)."""
        return len(os.listdir(f'/proc/{self.process.pid}/fd'))

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server process has used."""
        fields = Path(f'/proc/{self.process.pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def _status(self, key: str) -> int:
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith(f'{key}:'):
                return int(line.split()[1])
        raise KeyError(key)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors='replace')[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@contextmanager
def serving(*, loaded: bool = True, **options: Any) -> Iterator[RunningServer]:
    """A server ready for the length of a `with` block (its pipeline loaded unless `loaded` is False), stopped
    however the block ends; `options` are RunningServer's."""
    running = RunningServer(**options)
    try:
        running.wait_ready(loaded=loaded)
        yield running
    finally:
        running.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
