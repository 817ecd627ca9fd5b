"""Tempo: two Ableton Link peers on loopback agree, a MIDI clock from recorded bytes, Scope's /api/v1/tempo."""
from __future__ import annotations

import asyncio
import time

import httpx
import mido
import pytest

from control.link import LinkTempo
from control.midi import MidiStream
from control.midi_clock import MidiClockTempo
from control.quantize import Quantizer
from control.tempo import next_boundary

from .control_helpers import DrivenClock, eventually

PULSE_120 = 60 / 120 / 24  # seconds between clock pulses at 120 BPM


async def peers_of(link: LinkTempo) -> int:
    return link.num_peers


async def test_two_link_peers_on_loopback_agree_on_tempo_and_beat() -> None:
    first, second = LinkTempo(120.0), LinkTempo(90.0)
    try:
        assert await eventually(lambda: _both(first, second)), 'the peers find each other (multicast on lo)'
        first.set_tempo(133.0, time.monotonic())
        assert await eventually(lambda: _agree_on_tempo(second, 133.0)), second.link.tempo
        assert await eventually(lambda: _agree_on_beat(first, second)), 'the peers share one beat and one bar grid'
    finally:
        second.close()
    assert await eventually(lambda: _alone(first)), 'a peer that leaves is noticed'
    first.close()


async def _both(first: LinkTempo, second: LinkTempo) -> bool:
    return first.num_peers >= 1 and second.num_peers >= 1


async def _agree_on_tempo(link: LinkTempo, bpm: float) -> bool:
    return abs(link.link.tempo - bpm) < 0.01


async def _agree_on_beat(first: LinkTempo, second: LinkTempo) -> bool:
    """Both peers' beat at one moment, within 0.02 beats (each peer reads its beat, then the time: a thread switched
    out in between reads a late beat, so a busy machine may need a few looks), and the same next bar."""
    now = time.monotonic()
    one, two = first.timeline(now), second.timeline(now)
    return abs(one.beat_at(now) - two.beat_at(now)) < 0.02 and next_boundary(one, now, 4.0) == \
        next_boundary(two, now, 4.0)


async def _alone(link: LinkTempo) -> bool:
    return link.num_peers == 0


def clock_bytes(pulses: int) -> bytes:
    """A recorded stream: start, then `pulses` clock ticks."""
    return bytes([0xFA] + [0xF8] * pulses)


def test_a_midi_clock_from_recorded_bytes_gives_tempo_and_beat() -> None:
    clock = DrivenClock()
    tempo = MidiClockTempo()
    stream = MidiStream()
    for message in stream.feed(clock_bytes(48)):  # two beats at 120 BPM
        tempo.receive(message, clock.now)
        if message.type == 'clock':
            clock.advance(PULSE_120)
    line = tempo.timeline(clock.now)
    assert line is not None and line.bpm == pytest.approx(120.0)
    assert line.beat_at(clock.now - PULSE_120) == pytest.approx(2.0), 'two beats counted, at the last pulse'
    quantizer = Quantizer()
    pending = quantizer.schedule({'reset_cache': True}, 'bar', line, clock.now, 0.0, 4)
    assert pending is not None and pending.boundary == 4.0
    tempo.receive(mido.Message('stop'), clock.now)
    assert tempo.timeline(clock.now) is None, 'a stopped clock has no beat: quantized changes apply at once'
    tempo.receive(mido.Message('continue'), clock.now)
    tempo.receive(mido.Message('clock'), clock.now)
    assert tempo.timeline(clock.now) is not None
    clock.advance(2.0)
    assert tempo.timeline(clock.now) is None, 'a clock whose pulses stopped (a cable pulled) counts as stopped'


def test_song_position_sets_the_beat() -> None:
    tempo = MidiClockTempo()
    tempo.receive(mido.Message('songpos', pos=32), 0.0)  # 32 sixteenths = 8 beats
    assert tempo.pulses == 8 * 24


def test_the_tempo_api_speaks_scope(api: httpx.Client) -> None:
    sources = api.get('/api/v1/tempo/sources').json()['sources']
    assert sources['link'] == {**sources['link'], 'available': True, 'name': 'Ableton Link'}
    assert {'midi_clock', 'audio', 'internal'} <= set(sources)
    assert api.get('/api/v1/tempo/status').json() == {'enabled': False, 'source': None, 'beats_per_bar': 4,
                                                      'beat_state': None}
    try:
        status = api.post('/api/v1/tempo/enable', json={'source': 'internal', 'bpm': 100, 'beats_per_bar': 3}).json()
        assert status['enabled'] and status['source']['type'] == 'internal' and status['beats_per_bar'] == 3
        assert status['beat_state']['bpm'] == 100 and 0 <= status['beat_state']['bar_position'] < 3
        assert api.post('/api/v1/tempo/set_tempo', json={'bpm': 140}).json()['beat_state']['bpm'] == 140
        assert api.post('/api/v1/tempo/set_tempo', json={'bpm': 1000}).status_code == 422
        assert api.post('/api/v1/tempo/enable', json={'source': 'radio'}).status_code == 422
        api.post('/api/v1/tempo/enable', json={'source': 'midi_clock'})
        refused = api.post('/api/v1/tempo/set_tempo', json={'bpm': 90})
        assert refused.status_code == 400 and 'MIDI clock' in refused.json()['detail']
    finally:
        assert api.post('/api/v1/tempo/disable').json()['enabled'] is False
    assert api.post('/api/v1/tempo/set_tempo', json={'bpm': 90}).status_code == 400


async def test_the_server_joins_a_link_session(api: httpx.Client) -> None:
    """A Link peer in the test and the server agree on the tempo the test sets."""
    peer = LinkTempo(128.0)
    try:
        enabled = await asyncio.to_thread(api.post, '/api/v1/tempo/enable', json={'source': 'link', 'bpm': 128})
        assert enabled.status_code == 200, enabled.text

        async def joined() -> bool:
            status = (await asyncio.to_thread(api.get, '/api/v1/tempo/status')).json()
            return (status['source'] or {}).get('num_peers', 0) >= 1 and peer.num_peers >= 1

        assert await eventually(joined)
        peer.set_tempo(97.0, time.monotonic())

        async def followed() -> bool:
            status = (await asyncio.to_thread(api.get, '/api/v1/tempo/status')).json()
            return abs(status['beat_state']['bpm'] - 97.0) < 0.01

        assert await eventually(followed)
    finally:
        peer.close()
        await asyncio.to_thread(api.post, '/api/v1/tempo/disable')
