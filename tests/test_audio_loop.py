"""The audio loop drives real sessions on a real server: a test beat, an uploaded file heard by viewers, a WebRTC
microphone (tests/test_audio_driven.py drives the loop's clock tick by tick)."""
from __future__ import annotations

import asyncio
import fractions
import io
import time
import wave
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from audio.signals import BeatPattern
from pipeline.parameters import Parameters

from .scope_client import ScopeClient
from .server import RunningServer
from .test_scope_flows import session_metrics
from .waiting import PATIENCE, until

OCEAN = {'prompts': [{'text': 'blue ocean, deep sea underwater', 'weight': 1.0}]}


async def audio_status(http: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await http.get(f'/api/v1/audio/sessions/{session_id}')
    assert response.status_code == 200, response.text
    return response.json()


async def start_audio(http: httpx.AsyncClient, session_id: str, source: dict[str, Any], preset: str) -> dict[str, Any]:
    response = await http.post(f'/api/v1/audio/sessions/{session_id}/start', json={'source': source, 'preset': preset})
    assert response.status_code == 200, response.text
    return response.json()


async def noise_scale(client: ScopeClient) -> float:
    return (await session_metrics(client))['parameters']['noise_scale']


async def test_a_test_beat_started_over_rest_moves_a_watched_session(client: ScopeClient) -> None:
    """beat-pulse with a test beat, started over REST on a session a client watches: noise_scale follows the beat,
    the tempo is found, the video goes on, and stopping puts noise_scale back (tests/test_audio_driven.py checks
    the beats, the pulses and the picture tick by tick)."""
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect(OCEAN)
    await client.wait_frames(10)
    session_id = client.session_id or ''
    status = await start_audio(client.http, session_id, {'kind': 'test', 'bpm': 120}, 'beat-pulse')
    assert status['running'] and status['source']['kind'] == 'test' and status['preset'] == 'beat-pulse'
    seen: set[float] = set()

    async def noise_follows_the_beat() -> bool:
        seen.add(await noise_scale(client))
        return len(seen) >= 5 and max(seen) - min(seen) > 0.2

    assert await until(noise_follows_the_beat), f'noise_scale follows the beat: {sorted(seen)}'

    async def tempo_found() -> dict[str, Any] | None:
        status = await audio_status(client.http, session_id)
        features = status['features']
        return status if 118 <= (features['bpm'] or 0) <= 122 and features['beat_count'] >= 4 else None

    status = await until(tempo_found) or await audio_status(client.http, session_id)
    assert 118 <= (status['features']['bpm'] or 0) <= 122 and status['features']['beat_count'] >= 4, status
    assert Parameters.model_validate(status['last_message']).to_message() == status['last_message']
    assert len(await client.wait_frames(10)) == 10

    stopped = (await client.http.post(f'/api/v1/audio/sessions/{session_id}/stop')).json()
    assert not stopped['running']
    assert await until(lambda: noise_back(client)), 'stopping puts noise_scale back'


async def noise_back(client: ScopeClient) -> bool:
    return await noise_scale(client) == 0.7


async def test_soundscape_words_follow_a_prompt_sent_over_the_data_channel(client: ScopeClient) -> None:
    """soundscape adds music words to the prompt; a client's new prompt gets them too; stopping takes them back."""
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect(OCEAN)
    await client.wait_frames(3)
    session_id = client.session_id or ''
    await start_audio(client.http, session_id, {'kind': 'test', 'bpm': 140}, 'soundscape')

    async def last_prompt() -> str:
        return (await session_metrics(client))['parameters']['prompts'][-1]['text']

    async def worded(start: str) -> str | None:
        prompt = await last_prompt()
        return prompt if prompt.startswith(start) and len(prompt) > len(start) + 5 else None

    assert await until(lambda: worded('blue ocean, deep sea underwater, ')), await last_prompt()
    status = await until(lambda: ticked(client.http, session_id))
    assert status and status['words'], status
    assert 0.48 <= await noise_scale(client) <= 0.74

    await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
    client.send({'prompts': [{'text': 'a neon city at night', 'weight': 1.0}]})  # the user changes the prompt
    assert await until(lambda: worded('a neon city at night, ')), await last_prompt()
    await client.http.post(f'/api/v1/audio/sessions/{session_id}/stop')
    user_prompt = [{'text': 'a neon city at night', 'weight': 1.0}]

    async def words_gone() -> bool:
        return (await session_metrics(client))['parameters']['prompts'] == user_prompt

    assert await until(words_gone), await last_prompt()


async def ticked(http: httpx.AsyncClient, session_id: str) -> dict[str, Any] | None:
    """The engine's status once it has sent a few messages over a good number of ticks."""
    status = await audio_status(http, session_id)
    return status if status['messages_sent'] > 10 and status['clock']['ticks'] >= 50 else None


async def test_an_uploaded_song_drives_a_shared_session_and_viewers_hear_it(server: RunningServer) -> None:
    """Upload a WAV, play it into a session; a viewer joining with audio gets the music and the moving picture."""
    http = httpx.AsyncClient(base_url=server.url, timeout=30)
    listener = ListeningClient(server.url)
    try:
        upload = await http.post('/api/v1/assets', params={'filename': 'audio-tests/beat.wav'}, content=wav_bytes(4.0),
                                 headers={'Content-Type': 'application/octet-stream'})
        if upload.status_code in (404, 405):  # no upload endpoint (yet): put the file in place directly
            (server.assets_dir / 'audio-tests').mkdir(parents=True, exist_ok=True)
            (server.assets_dir / 'audio-tests' / 'beat.wav').write_bytes(wav_bytes(4.0))
        else:
            assert upload.status_code == 200, upload.text
        assert 'audio-tests/beat.wav' in (await http.get('/api/v1/audio/sources')).json()['assets']
        await listener.load({'pipeline_ids': ['dreamfield']})
        created = (await http.post('/api/v1/sessions', json={'name': 'audio-test', 'initialParameters': OCEAN})).json()
        session_id = created['id']
        status = await start_audio(http, session_id, {'kind': 'file', 'path': 'audio-tests/beat.wav'}, 'beat-pulse')
        assert status['source'] == {**status['source'], 'kind': 'file', 'description': 'audio-tests/beat.wav'}

        await listener.connect({'session_id': session_id, 'session_token': created['view_token']}, audio_recvonly=True)
        await listener.wait_frames(10)

        async def looped() -> dict[str, Any] | None:
            status = await audio_status(http, session_id)
            return status if status['source']['position_seconds'] > 4.5 and \
                118 <= (status['features']['bpm'] or 0) <= 122 else None

        status = await until(looped) or await audio_status(http, session_id)
        assert status['running'] and status['source']['position_seconds'] > 4.5, 'past the end of the file: it loops'
        assert 118 <= (status['features']['bpm'] or 0) <= 122, status

        async def noise_moved() -> bool:
            metrics = (await http.get('/api/v1/session/metrics')).json()['sessions'][session_id]
            return bool(metrics['parameters']['noise_scale'] != 0.7)

        assert await until(noise_moved), 'the music moves noise_scale'
        assert await until(lambda: len(listener.audio) > 150), 'audio frames reach the viewer'
        assert await until(lambda: max(listener.audio_levels()) > 1000), 'the viewer hears the music, not silence'
        assert len(await listener.wait_frames(10)) == 10
        await http.delete(f'/api/v1/sessions/{session_id}')

        async def engine_gone() -> bool:
            engines = (await http.get('/api/v1/audio/sessions')).json()
            return session_id not in [engine['session_id'] for engine in engines]

        assert await until(engine_gone), 'the engine ends with its session'
    finally:
        await listener.close()
        await http.aclose()


async def test_a_webrtc_microphone_track_moves_the_features(server: RunningServer) -> None:
    """A peer sends a beat as its microphone; the session's engine listens to it."""
    http = httpx.AsyncClient(base_url=server.url, timeout=30)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        await http.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']})
        pc.addTransceiver('video', direction='recvonly')
        pc.addTrack(BeatTrack(120))
        await pc.setLocalDescription(await pc.createOffer())
        answer = (await http.post('/api/v1/webrtc/offer', json={
            'sdp': pc.localDescription.sdp, 'type': 'offer', 'initialParameters': OCEAN})).json()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer['sdp'], type=answer['type']))
        session_id = answer['sessionId']
        await start_audio(http, session_id, {'kind': 'microphone'}, 'beat-pulse')

        async def beats_heard() -> dict[str, Any] | None:
            """The engine's status once it has heard three seconds of the beat and found its tempo."""
            status = await audio_status(http, session_id)
            return status if status['features']['beat_count'] > 4 and status['source']['received_seconds'] > 3 and \
                118 <= (status['features']['bpm'] or 0) <= 122 and status['messages_sent'] > 10 else None

        status = await until(beats_heard) or await audio_status(http, session_id)
        assert status['source']['kind'] == 'microphone' and status['source']['received_seconds'] > 3
        assert 118 <= status['features']['bpm'] <= 122
        assert status['messages_sent'] > 10
    finally:
        await pc.close()
        await http.aclose()


class ListeningClient(ScopeClient):
    """A Scope client that also keeps the audio it receives."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.audio: list[np.ndarray] = []
        self._audio_reader: asyncio.Task | None = None

    def audio_levels(self) -> list[float]:
        """The RMS level of each received audio frame (s16 scale)."""
        return [float(np.sqrt(np.mean(block.astype(np.float64) ** 2))) for block in self.audio]

    async def close(self) -> None:
        if self._audio_reader:
            self._audio_reader.cancel()
        await super().close()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == 'audio':
            self._audio_reader = asyncio.ensure_future(self._listen(track))
        else:
            super()._on_track(track)

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            self.audio.append(frame.to_ndarray())  # type: ignore[union-attr]


class BeatTrack(MediaStreamTrack):
    """A microphone that hears the generated beat, 20 ms at a time, in real time."""

    kind = 'audio'

    def __init__(self, bpm: float) -> None:
        super().__init__()
        self.pattern = BeatPattern(bpm)
        self.sent = 0
        self.started: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.started is None:
            self.started = time.monotonic()
        await asyncio.sleep(max(0.0, self.started + self.sent / 48_000 - time.monotonic()))
        block = (self.pattern.read(self.sent, self.sent + 960) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format='s16', layout='stereo')
        frame.sample_rate, frame.pts, frame.time_base = 48_000, self.sent, fractions.Fraction(1, 48_000)
        self.sent += 960
        return frame


def wav_bytes(seconds: float, bpm: float = 120) -> bytes:
    """A 44.1 kHz mono 16-bit WAV of the generated beat (resampled by the server's decoder)."""
    pattern = BeatPattern(bpm)
    samples = pattern.read(0, int(seconds * 48_000))[:, 0]
    resampled = np.interp(np.arange(0, len(samples), 48_000 / 44_100), np.arange(len(samples)), samples)
    buffer = io.BytesIO()
    with wave.open(buffer, 'wb') as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(44_100)
        file.writeframes((resampled * 32767).astype('<i2').tobytes())
    return buffer.getvalue()


def strongest_period(levels: list[float]) -> int:
    """The lag (in frames) of the strongest repetition in a level sequence, between 10 and 60 frames."""
    x = np.asarray(levels[-250:]) - np.mean(levels[-250:])
    ac = np.correlate(x, x, 'full')[len(x) - 1:]
    return int(10 + np.argmax(ac[10:60]))
