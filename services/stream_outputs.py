"""A stream's HLS and RTMP outputs: HLS while players ask for it, RTMP while the stream is live; members of its
session's audience (so the session renders while they run), all fed by the session's one H.264 encode."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from media.hls import HlsOutput
from media.rtmp import RtmpPush
from rtc.peers import SessionPeers

HLS_IDLE = 30.0  # seconds an HLS output started by a player keeps running after its last request
PLAYLIST_WAIT = 10.0  # seconds a first playlist request waits for the first segment


class StreamOutputs:
    """The HLS muxer (started by the first playlist request, stopped when players stop asking) and the RTMP push
    (while a publisher is connected)."""

    def __init__(self, stream_id: str, audience: SessionPeers) -> None:
        self.stream_id = stream_id
        self.audience = audience
        self.hls: HlsOutput | None = None
        self.hls_requested = 0.0  # time.monotonic() of the last HLS request
        self.rtmp: RtmpPush | None = None
        self.rtmp_last: dict[str, Any] | None = None  # the state of the last push, after it stopped
        self._lock = asyncio.Lock()

    async def reconcile(self, live: bool, rtmp_url: str | None) -> None:
        """Run what should run now: HLS while players ask for it, RTMP to `rtmp_url` while live."""
        async with self._lock:
            wants_hls = time.monotonic() - self.hls_requested < HLS_IDLE
            if wants_hls and self.hls is None:
                self._start_hls()
            elif not wants_hls and self.hls is not None:
                await self._stop_hls()
            if self.rtmp is not None and (not live or self.rtmp.url != rtmp_url):
                await self._stop_rtmp()
            if live and rtmp_url and self.rtmp is None:
                self.rtmp = RtmpPush(rtmp_url)
                self.audience.add_member(self._member('rtmp'), 'rtmp')
                self.rtmp.start(self.audience.encoders)

    async def playlist(self) -> Path | None:
        """The HLS playlist, started on demand; waits for the first segment (None if none comes in time)."""
        self.hls_requested = time.monotonic()
        async with self._lock:
            if self.hls is None:
                self._start_hls()
        hls = self.hls
        deadline = time.monotonic() + PLAYLIST_WAIT
        while hls is not None and not hls.playlist.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return hls.playlist if hls is not None and hls.playlist.exists() else None

    def segment(self, name: str) -> Path | None:
        """An HLS segment file by name (None: no such segment)."""
        self.hls_requested = time.monotonic()
        path = self.hls.segment(name) if self.hls is not None else None
        return path if path is not None and path.exists() else None

    def describe(self) -> dict[str, Any]:
        """The outputs' state for the status document."""
        rtmp = self.rtmp.describe() if self.rtmp is not None else self.rtmp_last
        hls = self.hls
        return {'hls': {'active': hls is not None, 'dropped_frames': hls.dropped if hls else 0,
                        'error': hls.error if hls else None},
                'rtmp': rtmp}

    async def close(self) -> None:
        async with self._lock:
            await self._stop_hls()
            await self._stop_rtmp()

    def _start_hls(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix=f'dreamstage-hls-{self.stream_id}-'))
        self.hls = HlsOutput(folder)
        self.audience.add_member(self._member('hls'), 'hls')
        self.hls.start(self.audience.encoders)

    async def _stop_hls(self) -> None:
        hls, self.hls = self.hls, None
        if hls is None:
            return
        self.audience.remove_member(self._member('hls'))
        await hls.stop()
        await asyncio.to_thread(shutil.rmtree, hls.folder, True)

    async def _stop_rtmp(self) -> None:
        rtmp, self.rtmp = self.rtmp, None
        if rtmp is None:
            return
        self.audience.remove_member(self._member('rtmp'))
        await rtmp.stop()
        self.rtmp_last = rtmp.describe()

    def _member(self, kind: str) -> str:
        return f'{kind}-{self.stream_id}'
