"""WHIP publishers and WHEP players on aiortc, the way OBS and Daydream's clients use a stream's URLs."""
from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import av
import httpx
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from pipeline.stamp import read_stamp, stamp_frame
from rtc.ice import configure_host_addresses

from .waiting import PATIENCE

configure_host_addresses(['127.0.0.1'])


class CountingCamera(VideoStreamTrack):
    """A synthetic camera at 30 fps: moving bars, with the frame's number stamped into its top row."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0
        self.sent_at: dict[int, float] = {}  # frame number -> when it was handed to the encoder

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self.count += 1
        image = np.zeros((self.height, self.width, 3), np.uint8)
        image[16:, (4 * self.count) % self.width:] = (40, 160, 220)
        stamp_frame(image, self.count)
        frame = av.VideoFrame.from_ndarray(image, format='rgb24')
        frame.pts, frame.time_base = pts, time_base
        self.sent_at[self.count] = time.time()
        return frame


class WhipPublisher:
    """Publishes a track to a WHIP endpoint (an offer with all its candidates, as OBS 30 sends it)."""

    def __init__(self, url: str, track: MediaStreamTrack | None = None, codec: str | None = None,
                 audio: bool = True) -> None:
        self.url, self.track, self.codec, self.audio = url, track or CountingCamera(), codec, audio
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.response: httpx.Response | None = None
        self.location: str | None = None

    async def offer(self) -> str:
        """The offer this publisher sends."""
        transceiver = self.pc.addTransceiver(self.track, direction='sendonly')
        if self.codec:
            codecs = RTCRtpSender.getCapabilities('video').codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in (f'video/{self.codec}',
                                                                                         'video/rtx')])
        if self.audio:
            self.pc.addTransceiver('audio', direction='sendonly')
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def publish(self, http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST the offer; on 201 apply the answer. Returns the response."""
        sdp = await self.offer()
        self.response = response = await http.post(self.url, content=sdp, headers={
            'Content-Type': 'application/sdp', **(headers or {})})
        if response.status_code == 201:
            self.location = response.headers['location']
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type='answer'))
        return response

    async def stop(self, http: httpx.AsyncClient) -> None:
        if self.location:
            with contextlib.suppress(httpx.HTTPError):
                await http.delete(self.location)
        await self.pc.close()


class WhepPlayer:
    """Plays a WHEP endpoint: a recvonly offer (video and audio), frames kept with when they arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames: list[tuple[float, np.ndarray]] = []
        self.codec: str | None = None
        self.location: str | None = None
        self._reader: asyncio.Task | None = None
        self.pc.on('track', self._on_track)

    async def play(self, http: httpx.AsyncClient, retry_for: float = PATIENCE) -> httpx.Response:
        """POST the offer, retrying while the server answers 404 with Retry-After (the output is warming up)."""
        offer = await self.offer_sdp()
        deadline = time.monotonic() + retry_for
        while True:
            response = await http.post(self.url, content=offer, headers={'Content-Type': 'application/sdp'})
            if response.status_code != 404 or 'retry-after' not in response.headers or time.monotonic() > deadline:
                break
            await asyncio.sleep(float(response.headers['retry-after']))
        if response.status_code == 201:
            self.location = response.headers['location']
            self.codec = 'h264' if 'H264/90000' in response.text.split('m=audio')[0] else 'vp8'
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type='answer'))
        return response

    async def offer_sdp(self) -> str:
        """The offer this player sends (video and audio, receive only)."""
        self.pc.addTransceiver('video', direction='recvonly')
        self.pc.addTransceiver('audio', direction='recvonly')
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def wait_frames(self, count: int, timeout: float = PATIENCE) -> list[np.ndarray]:
        """`count` more frames."""
        start = len(self.frames)
        deadline = time.monotonic() + timeout
        while len(self.frames) < start + count:
            if time.monotonic() > deadline:
                raise TimeoutError(f'only {len(self.frames) - start} of {count} frames arrived')
            await asyncio.sleep(0.05)
        return [image for _, image in self.frames[start:start + count]]

    def stamps(self) -> list[int]:
        return [read_stamp(image) for _, image in self.frames]

    async def stop(self, http: httpx.AsyncClient) -> None:
        if self._reader:
            self._reader.cancel()
        if self.location:
            with contextlib.suppress(httpx.HTTPError):
                await http.delete(self.location)
        await self.pc.close()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == 'video':
            self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame: Any = await track.recv()
            except MediaStreamError:
                return
            self.frames.append((time.time(), frame.to_ndarray(format='rgb24')))


def fragment(candidates: list[str], mid: str = '0', ufrag: str | None = None, pwd: str | None = None,
             end: bool = False) -> str:
    """A trickle ICE fragment (RFC 8840)."""
    lines = [f'a=ice-ufrag:{ufrag}'] if ufrag else []
    lines += [f'a=ice-pwd:{pwd}'] if pwd else []
    lines += ['m=audio 9 UDP/TLS/RTP/SAVPF 0', f'a=mid:{mid}', *(f'a={c}' for c in candidates)]
    lines += ['a=end-of-candidates'] if end else []
    return '\r\n'.join(lines) + '\r\n'


def strip_candidates(sdp: str) -> tuple[str, list[str]]:
    """An offer without its candidates (as OBS 30.2 sends it), and the candidates."""
    lines = sdp.split('\r\n')
    candidates = [line[2:] for line in lines if line.startswith('a=candidate:')]
    kept = [line for line in lines if not line.startswith(('a=candidate:', 'a=end-of-candidates'))]
    return '\r\n'.join(kept), candidates
