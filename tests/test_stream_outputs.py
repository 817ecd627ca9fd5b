"""A stream's outputs beside WHEP, all from its one H.264 encode: HLS that PyAV decodes, an RTMP push that a real
nginx-rtmp server records (and that survives the server's restart), and Scope's MP4 recording endpoints."""
from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from pipeline.stamp import read_stamp
from rtc.fanout import REPEAT_AFTER

from .scope_client import ScopeClient
from .server import RunningServer, free_port
from .waiting import PATIENCE
from .whip_client import WhepPlayer, WhipPublisher

STREAM = {'pipeline': 'streamdiffusion', 'params': {'model_id': 'Lykon/dreamshaper-8'}}
RTMP_MODULE = Path('/usr/lib/nginx/modules/ngx_rtmp_module.so')


@pytest.fixture
async def http(media_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=media_server.url, timeout=30) as client:
        yield client


async def wait_for(check: Any, timeout: float = PATIENCE) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, 'the condition did not come true in time'
        await asyncio.sleep(0.2)
    return result


class LiveStream:
    """A stream with a WHIP publisher sending numbered frames (the stream passes them through)."""

    def __init__(self, http: httpx.AsyncClient, body: dict[str, Any]) -> None:
        self.http, self.body = http, body
        self.info: dict[str, Any] = {}
        self.publisher: WhipPublisher | None = None

    async def __aenter__(self) -> LiveStream:
        response = await self.http.post('/v1/streams', json=self.body)
        assert response.status_code == 201, response.text
        self.info = response.json()
        self.publisher = WhipPublisher(self.info['whip_url'])
        assert (await self.publisher.publish(self.http)).status_code == 201
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.publisher is not None:
            await self.publisher.stop(self.http)
        await self.http.delete(f'/v1/streams/{self.info["id"]}')

    async def status(self) -> dict[str, Any]:
        return (await self.http.get(f'/v1/streams/{self.info["id"]}/status')).json()


def decode(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def numbered(frames: list[av.VideoFrame]) -> list[int]:
    return [read_stamp(frame.to_ndarray(format='rgb24')) for frame in frames]


async def test_hls_playlist_and_segments_decode(http: httpx.AsyncClient, tmp_path: Path) -> None:
    async with LiveStream(http, STREAM) as live:
        url = live.info['output_hls_url']

        async def three_segments() -> httpx.Response | None:
            response = await http.get(url)
            return response if response.status_code == 200 and response.text.count('.ts') >= 3 else None

        playlist = await wait_for(three_segments)
        assert playlist.headers['content-type'] == 'application/vnd.apple.mpegurl'
        assert 'no-cache' in playlist.headers['cache-control']
        lines = playlist.text.splitlines()
        target = int(next(line for line in lines if line.startswith('#EXT-X-TARGETDURATION:')).split(':')[1])
        durations = [float(line.split(':')[1].rstrip(',')) for line in lines if line.startswith('#EXTINF')]
        assert all(0 < d and round(d) <= target for d in durations), 'segment lengths: bench/bench_daydream.py'
        name = [line for line in playlist.text.splitlines() if line.endswith('.ts')][-1]
        segment = await http.get(url.rsplit('/', 1)[0] + '/' + name)
        assert segment.status_code == 200 and segment.headers['content-type'] == 'video/mp2t'
        path = tmp_path / name
        path.write_bytes(segment.content)
        frames = decode(path)
        assert frames and (frames[0].width, frames[0].height) == (320, 240)
        stamps = numbered(frames)
        assert stamps == sorted(stamps) and stamps[-1] > 0, 'the segment holds the publisher frames, in order'
        assert (await http.get(url.rsplit('/', 1)[0] + '/../../secret')).status_code == 404
        document = await live.status()
        assert document['outputs']['hls']['active']


@pytest.fixture
def rtmp_server(tmp_path: Path) -> Iterator[NginxRtmp]:
    """A real RTMP server (Debian's nginx with its RTMP module) on a loopback port, recording what it receives."""
    if shutil.which('nginx') is None or not RTMP_MODULE.exists():
        pytest.skip('nginx with libnginx-mod-rtmp is not installed (scripts/setup --system)')
    server = NginxRtmp(tmp_path / 'nginx')
    server.start()
    yield server
    server.stop()


class NginxRtmp:
    """nginx in the foreground, in its own prefix folder, taking RTMP on one loopback port."""

    def __init__(self, prefix: Path) -> None:
        self.prefix, self.port = prefix, free_port()
        self.records = prefix / 'records'
        self.records.mkdir(parents=True)
        (prefix / 'nginx.conf').write_text(f'''
daemon off;
master_process off;
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
load_module {RTMP_MODULE};
events {{ worker_connections 64; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.port};
    application live {{
      live on;
      record all;
      record_path {self.records};
      record_unique on;
    }}
  }}
}}
''')
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f'rtmp://127.0.0.1:{self.port}/live/dreamstage'

    def start(self) -> None:
        self.process = subprocess.Popen(['nginx', '-p', str(self.prefix), '-c', str(self.prefix / 'nginx.conf'),
                                         '-e', str(self.prefix / 'error.log')], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + PATIENCE
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(('127.0.0.1', self.port)) == 0:
                    return
            assert self.process.poll() is None, (self.prefix / 'error.log').read_text()
            assert time.monotonic() < deadline, 'nginx did not start listening'
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def recordings(self) -> list[Path]:
        return sorted(self.records.glob('*.flv'))


async def test_rtmp_push_reaches_nginx_and_survives_its_restart(http: httpx.AsyncClient,
                                                                 rtmp_server: NginxRtmp) -> None:
    async with LiveStream(http, {**STREAM, 'output_rtmp_url': rtmp_server.url}) as live:
        await wait_for(lambda: _rtmp_state(live, 'live'))
        await wait_for(lambda: _recorded(rtmp_server, 1))
        rtmp_server.stop()
        broken = await wait_for(lambda: _rtmp_state(live, 'reconnecting'))
        assert broken['outputs']['rtmp']['error'] and broken['status'] == 'running'
        rtmp_server.start()
        back = await wait_for(lambda: _rtmp_state(live, 'live'))
        assert back['outputs']['rtmp']['reconnects'] >= 1
        await wait_for(lambda: _recorded(rtmp_server, 2))
    first, second = rtmp_server.recordings()[:2]
    for path in (first, second):
        frames = await asyncio.to_thread(decode, path)
        assert len(frames) >= 10 and (frames[0].width, frames[0].height) == (320, 240)
        stamps = numbered(frames)
        assert stamps[-1] > stamps[0] > 0, 'the pushed video is the publisher video, passed through'


async def _rtmp_state(live: LiveStream, state: str) -> dict[str, Any] | None:
    document = await live.status()
    rtmp = document['outputs']['rtmp']
    return document if rtmp and rtmp['state'] == state else None


async def _recorded(server: NginxRtmp, files: int) -> bool:
    recordings = server.recordings()
    return len(recordings) >= files and recordings[files - 1].stat().st_size > 50_000


async def test_an_unreachable_rtmp_server_shows_in_the_status_and_the_stream_runs_on(http: httpx.AsyncClient) -> None:
    closed = f'rtmp://127.0.0.1:{free_port()}/live/nobody-listens'
    async with LiveStream(http, {**STREAM, 'output_rtmp_url': closed}) as live:
        document = await wait_for(lambda: _rtmp_error(live))
        assert document['status'] == 'running' and 'refused' in document['outputs']['rtmp']['error'].lower()
        player = WhepPlayer(live.info['output_stream_url'])
        try:
            assert (await player.play(http)).status_code == 201
            await player.wait_frames(10)
        finally:
            await player.stop(http)


async def _rtmp_error(live: LiveStream) -> dict[str, Any] | None:
    document = await live.status()
    rtmp = document['outputs']['rtmp']
    return document if rtmp and rtmp['error'] and rtmp['attempts'] >= 2 else None


async def test_scope_recording_endpoints_record_mp4_with_the_right_duration(http: httpx.AsyncClient,
                                                                            tmp_path: Path) -> None:
    async with LiveStream(http, STREAM) as live:
        session = live.info['session_id']
        assert (await http.post(f'/api/v1/recordings/{session}/start')).json() == {'status': 'started'}
        assert (await http.post(f'/api/v1/recordings/{session}/start')).json() == {'status': 'already_recording'}
        player = WhepPlayer(live.info['output_stream_url'])
        try:
            assert (await player.play(http)).status_code == 201
            await player.wait_frames(60)  # about two seconds of video have gone by
            download = await http.get(f'/api/v1/recordings/{session}')
            assert download.status_code == 200 and download.headers['content-type'] == 'video/mp4'
            assert re.search(r'filename="?recording-\d{8}_\d{6}\.mp4', download.headers['content-disposition'])
            path = tmp_path / 'first.mp4'
            path.write_bytes(download.content)
            frames = decode(path)
            with av.open(str(path)) as container:
                duration = (container.duration or 0) / av.time_base
            first_pts, last_pts, time_base = frames[0].pts or 0, frames[-1].pts or 0, frames[0].time_base or 0
            span = float((last_pts - first_pts) * time_base)
            assert len(frames) >= 30 and abs(duration - span) < 0.2, (duration, span)
            stamps = numbered(frames)
            assert stamps == sorted(stamps), 'frames are recorded in order'
            seconds = [float((frame.pts or 0) * (frame.time_base or 0)) for frame in frames]
            repeats = [(seconds[i] - seconds[i - 1]) for i in range(1, len(frames)) if stamps[i] == stamps[i - 1]]
            assert all(gap >= 0.9 * REPEAT_AFTER for gap in repeats), \
                f'a frame was recorded twice without the source stalling: {repeats}'
            await player.wait_frames(30)
            later = await http.get(f'/api/v1/recordings/{session}')
            assert later.status_code == 200
            (tmp_path / 'second.mp4').write_bytes(later.content)
            assert numbered(decode(tmp_path / 'second.mp4'))[0] >= stamps[-1], 'each download has what came since'
        finally:
            await player.stop(http)
        assert (await http.post(f'/api/v1/recordings/{session}/stop')).json() == {'status': 'stopped'}
        assert (await http.get(f'/api/v1/recordings/{session}')).status_code == 404
        assert (await http.post(f'/api/v1/recordings/{session}/stop')).json() == {'status': 'not_recording'}
        assert (await http.post(f'/api/v1/recordings/{session}/start', params={'node_id': 'rec'})).status_code == 400
    assert (await http.get('/api/v1/recordings/no-such-session')).status_code == 404


async def test_scope_clients_record_from_the_offer_on(server: RunningServer, tmp_path: Path) -> None:
    client = ScopeClient(server.url)
    try:
        await client.connect({'prompts': [{'text': 'a quiet harbour', 'weight': 1.0}], 'recording': True})
        await client.wait_frames(45)
        download = await client.http.get(f'/api/v1/recordings/{client.session_id}')
        assert download.status_code == 200, download.text
        (tmp_path / 'scope.mp4').write_bytes(download.content)
        assert len(decode(tmp_path / 'scope.mp4')) >= 10
    finally:
        await client.close()
