"""A Scope API client built on aiortc that follows real clients' flows (docs quick start, Soundscape, Scope's UI)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from rtc.ice import configure_host_addresses

from .waiting import LOADING, PATIENCE

configure_host_addresses(['127.0.0.1'])

# How the client sends its ICE candidates: 'none' in the offer, 'after'/'before' applying the answer, 'one-by-one'
# request each; 'never' (a half-open offer): none in the offer, none sent, the answer not applied, as a client that
# crashed between its offer and ICE.
Trickle = Literal['none', 'after', 'before', 'one-by-one', 'never']


class ScopeClient:
    """One client of a Dreamstage (or Scope) server: REST calls, a peer connection, frames and messages."""

    def __init__(self, base_url: str, keep_images: bool = True) -> None:
        self.base_url = base_url
        self.keep_images = keep_images  # False: count frames without converting them (cheaper for load tests)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.pc: RTCPeerConnection | None = None
        self.channel: Any = None
        self.session_id: str | None = None
        self.frames: list[tuple[float, np.ndarray]] = []
        self.messages: list[dict[str, Any]] = []
        self.new_frame = asyncio.Event()
        self.channel_open = asyncio.Event()
        self._reader: asyncio.Task | None = None

    async def load(self, body: dict[str, Any], timeout: float = LOADING) -> dict[str, Any]:
        """POST a load request and poll the status every 0.2 s until it is loaded (raises on error)."""
        response = await self.http.post('/api/v1/pipeline/load', json=body)
        response.raise_for_status()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = (await self.http.get('/api/v1/pipeline/status')).json()
            if status['status'] == 'loaded':
                return status
            if status['status'] == 'error':
                raise RuntimeError(status['error'])
            await asyncio.sleep(0.2)
        raise TimeoutError('pipeline did not load')

    async def connect(self, initial_parameters: dict[str, Any] | None = None, *, track: MediaStreamTrack | None = None,
                      video_direction: str = 'sendrecv', codecs: tuple[str, ...] | None = None,
                      audio_recvonly: bool = False, trickle: Trickle = 'after') -> dict[str, Any]:
        """Offer a connection the way browser clients do; returns the answer."""
        ice = (await self.http.get('/api/v1/webrtc/ice-servers')).json()
        assert ice['iceServers'] == [], 'tests must not be told about outside servers'
        self.pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = pc.createDataChannel('parameters', ordered=True)
        self.channel.on('message', self._on_message)
        self.channel.on('open', self.channel_open.set)
        if track is not None:
            transceiver = pc.addTransceiver(track, direction='sendrecv')
        else:
            transceiver = pc.addTransceiver('video', direction=video_direction)
        if codecs:
            available = RTCRtpSender.getCapabilities('video').codecs
            transceiver.setCodecPreferences([c for c in available if c.mimeType.split('/')[1] in (*codecs, 'rtx')])
        if audio_recvonly:
            pc.addTransceiver('audio', direction='recvonly')
        pc.on('track', self._on_track)
        await pc.setLocalDescription(await pc.createOffer())
        offer_sdp = pc.localDescription.sdp
        candidates = _candidates(offer_sdp)
        if trickle != 'none':
            offer_sdp = _without_candidates(offer_sdp)
        response = await self.http.post('/api/v1/webrtc/offer', json={
            'sdp': offer_sdp, 'type': 'offer', 'initialParameters': initial_parameters or {}})
        response.raise_for_status()
        answer = response.json()
        self.session_id = answer['sessionId']
        if trickle == 'never':
            return answer
        if trickle in ('before', 'one-by-one'):
            await self._trickle(candidates, one_by_one=trickle == 'one-by-one')
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer['sdp'], type=answer['type']))
        if trickle == 'after':
            await self._trickle(candidates, one_by_one=False)
        return answer

    async def _trickle(self, candidates: list[dict[str, Any]], one_by_one: bool) -> None:
        batches = [[c] for c in candidates] if one_by_one else [candidates]
        for batch in batches:
            response = await self.http.patch(f'/api/v1/webrtc/offer/{self.session_id}', json={'candidates': batch})
            assert response.status_code == 204, response.text

    def send(self, parameters: dict[str, Any]) -> None:
        self.channel.send(json.dumps(parameters))

    async def wait_frames(self, count: int, timeout: float = PATIENCE) -> list[np.ndarray]:
        """Wait until `count` more frames arrive; returns them."""
        start = len(self.frames)
        deadline = time.monotonic() + timeout
        while len(self.frames) < start + count:
            self.new_frame.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f'only {len(self.frames) - start} of {count} frames arrived')
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.new_frame.wait(), remaining)
        return [image for _, image in self.frames[start:start + count]]

    async def latest_frame(self, settle: int = 3) -> np.ndarray:
        """A frame that arrived after `settle` more frames (so recent changes have landed)."""
        return (await self.wait_frames(settle))[-1]

    async def frame_unlike(self, before: np.ndarray, threshold: float, timeout: float = PATIENCE) -> np.ndarray | None:
        """The first frame from now on whose mean absolute pixel difference from `before` is above `threshold`
        (None if none comes within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        seen = len(self.frames)
        while time.monotonic() < deadline:
            for _, image in self.frames[seen:]:
                if np.abs(image.astype(np.int16) - before.astype(np.int16)).mean() > threshold:
                    return image
            seen = len(self.frames)
            self.new_frame.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.new_frame.wait(), max(0.0, deadline - time.monotonic()))
        return None

    async def wait_message(self, message_type: str, timeout: float = PATIENCE) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message.get('type') == message_type:
                    return message
            await asyncio.sleep(0.02)
        raise TimeoutError(f'no {message_type} message; got {self.messages[-5:]}')

    async def wait_parameters(self, check: Callable[[dict[str, Any]], bool],
                              timeout: float = PATIENCE) -> dict[str, Any]:
        """The parameters of the first `parameters_updated` message that passes `check`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message.get('type') == 'parameters_updated' and check(message['parameters']):
                    return message['parameters']
            await asyncio.sleep(0.02)
        raise TimeoutError(f'no such parameters_updated message; got {self.messages[-5:]}')

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self.pc:
            await self.pc.close()
        await self.http.aclose()

    def _on_message(self, raw: str) -> None:
        self.messages.append(json.loads(raw))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == 'video':
            self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            image = frame.to_ndarray(format='rgb24') if self.keep_images else _EMPTY  # type: ignore[union-attr]
            self.frames.append((time.time(), image))
            self.new_frame.set()


_EMPTY = np.zeros((0, 0, 3), np.uint8)


async def visit(base_url: str, frames: int = 3) -> None:
    """A short visit: offer a connection (a new session), receive a few frames, disconnect."""
    client = ScopeClient(base_url, keep_images=False)
    try:
        await client.connect()
        await client.wait_frames(frames)
    finally:
        await client.close()


def _candidates(sdp: str) -> list[dict[str, Any]]:
    found, mid, index = [], None, -1
    for line in sdp.splitlines():
        if line.startswith('m='):
            index += 1
        elif line.startswith('a=mid:'):
            mid = line[len('a=mid:'):]
        elif line.startswith('a=candidate:') and index == 0:
            found.append({'candidate': line[2:], 'sdpMid': mid, 'sdpMLineIndex': index})
    return found


def _without_candidates(sdp: str) -> str:
    lines = [line for line in sdp.split('\r\n') if not line.startswith(('a=candidate:', 'a=end-of-candidates'))]
    return '\r\n'.join(lines)
