"""A batch client written from seed 004's wire contract alone: raw HTTP (http.client), SSE parsed by hand, the
20-byte video header unpacked by hand. It imports nothing of the project, as a ComfyUI node would not."""
from __future__ import annotations

import http.client
import json
import struct
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import numpy as np

from .waiting import LOADING


@dataclass
class Reply:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class EventStream:
    """The SSE answer of a generate request, read as it comes."""

    status: int
    headers: dict[str, str]
    response: http.client.HTTPResponse
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events as the seed describes them: `event:` names, `data:` lines joined, a blank line dispatches."""
        name, data = 'message', list[str]()
        while True:
            raw = self.response.readline()
            if not raw:
                return
            line = raw.decode().rstrip('\n').rstrip('\r')
            if line == '':
                if data:
                    event = (name, json.loads('\n'.join(data)))
                    self.events.append(event)
                    yield event
                name, data = 'message', list[str]()
            elif line.startswith('event:'):
                name = line[len('event:'):].strip()
            elif line.startswith('data:'):
                data.append(line[len('data:'):].strip())

    def until_end(self) -> list[tuple[str, dict[str, Any]]]:
        """Every remaining event up to the first of complete, cancelled or error."""
        for name, _ in self:
            if name in ('complete', 'cancelled', 'error'):
                break
        return self.events


class WireClient:
    """Talks to `/api/v1/generate*` (or `/api/v1/batch*`) of a server."""

    def __init__(self, base_url: str, prefix: str = '/api/v1/generate') -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or '127.0.0.1', parts.port or 80
        self.prefix = prefix

    def request(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def post_json(self, path: str, payload: dict[str, Any]) -> Reply:
        return self.request('POST', path, json.dumps(payload).encode(), {'Content-Type': 'application/json'})

    def load(self, pipeline_ids: list[str], load_params: dict[str, Any], timeout: float = LOADING) -> None:
        """Load pipelines and poll the status until they are loaded."""
        reply = self.post_json('/api/v1/pipeline/load', {'pipeline_ids': pipeline_ids, 'load_params': load_params})
        assert reply.status == 200, reply.body
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.request('GET', '/api/v1/pipeline/status').json()
            if status['status'] == 'loaded' and status['pipeline_ids'] == pipeline_ids:
                return
            assert status['status'] != 'error', status
            time.sleep(0.1)
        raise TimeoutError(f'{pipeline_ids} did not load')

    def upload_video(self, video: np.ndarray, headers: dict[str, str] | None = None) -> Reply:
        """POST raw uint8 THWC bytes with the X-Video-* headers (or the headers given instead)."""
        frames, height, width, channels = video.shape
        sent = headers if headers is not None else {
            'X-Video-Frames': str(frames), 'X-Video-Height': str(height), 'X-Video-Width': str(width),
            'X-Video-Channels': str(channels)}
        return self.request('POST', f'{self.prefix}/upload', video.tobytes(),
                            {'Content-Type': 'application/octet-stream', **sent})

    def upload_data(self, blob: bytes | Iterable[bytes], headers: dict[str, str] | None = None) -> Reply:
        return self.request('POST', f'{self.prefix}/upload-data', blob,
                            {'Content-Type': 'application/octet-stream', **(headers or {})})

    @contextmanager
    def generate(self, payload: dict[str, Any]) -> Iterator[EventStream]:
        """POST a GenerateRequest and read the answer as it streams; closing the connection ends it."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request('POST', self.prefix, json.dumps(payload).encode(),
                               {'Content-Type': 'application/json', 'Accept': 'text/event-stream'})
            response = connection.getresponse()
            yield EventStream(response.status, {k.lower(): v for k, v in response.getheaders()}, response)
        finally:
            connection.close()

    def run(self, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """A whole generation: its events up to the last one (asserting the stream opened)."""
        with self.generate(payload) as stream:
            assert stream.status == 200, stream.response.read()
            return stream.until_end()

    def cancel(self) -> Reply:
        return self.request('POST', f'{self.prefix}/cancel')

    def download(self, output_path: str, video_format: str | None = None) -> Reply:
        query = {'path': output_path, **({'format': video_format} if video_format else {})}
        return self.request('GET', f'{self.prefix}/download?{urlencode(query)}')


def parse_raw(body: bytes) -> np.ndarray:
    """The downloaded video: u32 LE ndim, then ndim u32 LE sizes, then uint8 data in that shape."""
    (ndim,) = struct.unpack_from('<I', body, 0)
    shape = struct.unpack_from(f'<{ndim}I', body, 4)
    start = 4 + 4 * ndim
    return np.frombuffer(body, np.uint8, offset=start).reshape(shape)
