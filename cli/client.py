"""A client of a running server's generate API: load, upload, generate with progress events, download."""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from services.raw_video import HEADER_SIZE, read_shape

Event = tuple[str, dict[str, Any]]
UPLOAD_BLOCK = 1024 * 1024


class ApiError(RuntimeError):
    """The server refused a request; the text is its answer."""


class GenerateClient:
    """Talks to `/api/v1/pipeline/*` and `/api/v1/generate*` of one server."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        headers = {'Authorization': f'Bearer {api_key}'} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip('/'), headers=headers,
                                 timeout=httpx.Timeout(60, read=None))

    def close(self) -> None:
        self.http.close()

    def ensure_pipeline(self, wanted: str | None, load_params: dict[str, Any], timeout: float = 600) -> str:
        """The pipeline to generate with: `wanted` (loaded now if it is not), else the one the server has loaded."""
        status = self._json(self.http.get('/api/v1/pipeline/status'))
        loaded = status.get('pipeline_ids') or []
        if status.get('status') == 'loaded' and (wanted is None or wanted in loaded) and not load_params:
            return wanted or loaded[-1]
        pipeline_id = wanted or (loaded[-1] if loaded else 'dreamfield')
        self._json(self.http.post('/api/v1/pipeline/load', json={'pipeline_ids': [pipeline_id],
                                                                  'load_params': load_params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self._json(self.http.get('/api/v1/pipeline/status'))
            if status['status'] == 'loaded':
                return pipeline_id
            if status['status'] == 'error':
                raise ApiError(f'loading {pipeline_id} failed: {status.get("error")}')
            time.sleep(0.5)
        raise ApiError(f'{pipeline_id} did not load within {timeout:.0f} s')

    def upload_video(self, raw: Path) -> str:
        """Upload a raw video file (header + THWC frames) as an input video; its `input_path`."""
        frames, height, width, channels = read_shape(raw)

        def body() -> Iterator[bytes]:
            with raw.open('rb') as file:
                file.seek(HEADER_SIZE)
                while block := file.read(UPLOAD_BLOCK):
                    yield block

        headers = {'Content-Type': 'application/octet-stream', 'X-Video-Frames': str(frames),
                   'X-Video-Height': str(height), 'X-Video-Width': str(width), 'X-Video-Channels': str(channels),
                   'Content-Length': str(raw.stat().st_size - HEADER_SIZE)}
        return str(self._json(self.http.post('/api/v1/generate/upload', content=body(), headers=headers))['input_path'])

    def generate(self, request: dict[str, Any], on_progress: Callable[[dict[str, Any]], None]) -> Event:
        """Run a generation, calling `on_progress` per chunk; the last event (`complete`, `cancelled` or `error`).
        Ctrl-C cancels it on the server and waits for the `cancelled` event."""
        with self.http.stream('POST', '/api/v1/generate', json=request,
                              headers={'Accept': 'text/event-stream'}) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(_detail(response))
            lines = response.iter_lines()
            while True:
                try:
                    for name, data in read_events(lines):
                        if name == 'progress':
                            on_progress(data)
                        elif name in ('complete', 'cancelled', 'error'):
                            return name, data
                    raise ApiError('the event stream ended without a complete, cancelled or error event')
                except KeyboardInterrupt:
                    self.cancel()

    def cancel(self) -> None:
        self.http.post('/api/v1/generate/cancel')

    def download(self, output_path: str, target: Path, mp4: bool) -> None:
        """Write the result to `target`: an MP4, or Scope's raw format."""
        params = {'path': output_path, **({'format': 'mp4'} if mp4 else {})}
        partial = target.with_name(f'.{target.name}.part')
        with self.http.stream('GET', '/api/v1/generate/download', params=params) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(_detail(response))
            with partial.open('wb') as file:
                for block in response.iter_bytes():
                    file.write(block)
        partial.replace(target)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise ApiError(_detail(response))
        return response.json()


def read_events(lines: Iterator[str]) -> Iterator[Event]:
    """Server-sent events from a stream of lines: `event:` names it, `data:` lines join into its JSON, a blank line
    ends it."""
    name, data = 'message', list[str]()
    for line in lines:
        line = line.rstrip('\r')
        if not line:
            if data:
                yield name, json.loads('\n'.join(data))
            name, data = 'message', list[str]()
        elif line.startswith('event:'):
            name = line[6:].strip()
        elif line.startswith('data:'):
            data.append(line[5:].lstrip(' '))


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get('detail')
    except (ValueError, AttributeError):
        detail = response.text
    return f'{response.request.method} {response.request.url.path}: {response.status_code} {detail}'
