"""MIDI drives the matrix: CC routes, MIDI learn both ways, bad bytes refused, ports that vanish.

Where the machine has an ALSA sequencer the bytes go through a virtual port the server opens; elsewhere (as in a
container without /dev/snd) through the same parser as the browser's Web MIDI, `POST /api/v1/midi/messages`."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import mido
import pytest

from control.midi_ports import MidiPorts, midi_status

from .control_helpers import wait_for

log = logging.getLogger(__name__)
PORT = 'dreamstage-test-midi'


@pytest.fixture
def stage(api: httpx.Client) -> Iterator[str]:
    assert api.post('/api/v1/pipeline/load', json={'pipeline_ids': ['dreamfield']}).status_code == 200
    created = api.post('/api/v1/sessions', json={'name': 'midi-stage'})
    assert created.status_code == 201, created.text
    yield created.json()['id']
    api.delete(f"/api/v1/sessions/{created.json()['id']}")


@pytest.fixture
def send_midi(api: httpx.Client) -> Iterator[Callable[[list[int]], None]]:
    """Send raw MIDI bytes: through a virtual ALSA port if this machine has one, else as Web MIDI does."""
    if midi_status()['available'] and api.post('/api/v1/midi/ports', json={'name': PORT, 'virtual': True}) \
            .status_code == 200:
        output = mido.open_output(PORT)
        log.info('MIDI test through a virtual ALSA port')
        yield lambda data: output.send(mido.Message.from_bytes(data))
        output.close()
        api.delete(f'/api/v1/midi/ports/{PORT}')
        return
    log.info('no ALSA sequencer here: MIDI test through the Web MIDI path (the same parser)')
    yield lambda data: _post(api, data)


def _post(api: httpx.Client, data: list[int]) -> None:
    response = api.post('/api/v1/midi/messages', json={'data': data, 'port': 'test-controller'})
    assert response.status_code == 200, response.text


def parameter(api: httpx.Client, session_id: str, key: str) -> Any:
    return api.get(f'/api/v1/sessions/{session_id}').json()['parameters'].get(key)


def test_a_cc_route_drives_noise_scale(api: httpx.Client, stage: str, send_midi: Callable[[list[int]], None]) -> None:
    route = {'id': 'knob', 'source': 'midi.cc.1.74', 'target': 'noise_scale', 'out_min': 0.1, 'out_max': 0.9}
    assert api.post(f'/api/v1/modulation/sessions/{stage}/routes', json=route).status_code == 200
    status = api.get(f'/api/v1/modulation/sessions/{stage}').json()
    assert status['routes'][0]['meter'] in (None, {'status': 'waiting', 'source': None, 'output': None}), \
        'a knob nobody moved yet drives nothing'
    send_midi([0xB0, 74, 127])
    assert wait_for(lambda: parameter(api, stage, 'noise_scale') == 0.9), parameter(api, stage, 'noise_scale')
    send_midi([0xB0, 74, 0])
    assert wait_for(lambda: parameter(api, stage, 'noise_scale') == 0.1)
    meter = api.get(f'/api/v1/modulation/sessions/{stage}').json()['routes'][0]['meter']
    assert meter == {'status': 'ok', 'source': 0.0, 'output': 0.1}
    assert 'midi.cc.1.74' in api.get(f'/api/v1/modulation/sessions/{stage}/sources').json()


def test_midi_learn_arm_then_move_and_move_then_click(api: httpx.Client, stage: str,
                                                        send_midi: Callable[[list[int]], None]) -> None:
    learn = f'/api/v1/modulation/sessions/{stage}/learn'
    assert api.post(learn, json={'target': 'kv_cache_attention_bias'}).json()['armed'] == 'kv_cache_attention_bias'
    send_midi([0xB2, 21, 127])  # CC 21 on channel 3
    assert wait_for(lambda: api.get(f'/api/v1/modulation/sessions/{stage}').json()['learn']['armed'] is None)
    routes = api.get(f'/api/v1/modulation/sessions/{stage}/routes').json()['routes']
    assert [(r['source'], r['target'], r['out_min'], r['out_max']) for r in routes] == [
        ('midi.cc.3.21', 'kv_cache_attention_bias', 0.01, 1.0)], "the target's whole range"
    assert wait_for(lambda: parameter(api, stage, 'kv_cache_attention_bias') == 1.0)

    send_midi([0x90, 60, 100])  # a pad (note 60) moved first...
    assert wait_for(lambda: api.get(f'/api/v1/modulation/sessions/{stage}').json()['learn']['last'])
    mapped = api.post(learn, json={'target': 'trigger.reset_cache', 'last_moved': True})
    assert mapped.status_code == 200, mapped.text  # ...then the control is clicked
    routes = api.get(f'/api/v1/modulation/sessions/{stage}/routes').json()['routes']
    assert ('midi.note.1.60', 'trigger.reset_cache') in [(r['source'], r['target']) for r in routes]
    assert api.post(learn, json={'target': 'no_such_target'}).status_code == 400


def test_bad_midi_bytes_are_refused(api: httpx.Client) -> None:
    assert api.post('/api/v1/midi/messages', json={'data': [300, 1]}).status_code == 400
    assert api.post('/api/v1/midi/messages', json={'data': 'cc'}).status_code == 422
    assert api.post('/api/v1/midi/messages', json={'data': [0x42, 0x17]}).json() == {'messages': 0}, \
        'stray data bytes without a status are ignored'
    status = api.get('/api/v1/midi/status').json()
    assert status['browser'] is True and status['refused'] >= 1
    if not status['available']:
        assert 'MIDI' in status['reason'] and api.post('/api/v1/midi/ports', json={'name': 'x'}).status_code == 400


class FakePort:
    """Stands in for a hardware input on a machine without one: only `close` is called."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_port_that_vanishes_is_closed_and_reopened(monkeypatch: pytest.MonkeyPatch) -> None:
    present = ['Launch Control']
    opened: list[FakePort] = []

    def open_input(name: str, virtual: bool = False, callback: Any = None) -> FakePort:
        if name not in present:
            raise OSError(f'no port {name}')
        opened.append(FakePort())
        return opened[-1]

    monkeypatch.setattr(mido, 'get_input_names', lambda: list(present))
    monkeypatch.setattr(mido, 'open_input', open_input)
    ports = MidiPorts(lambda message, port: None)
    ports.open('Launch Control')
    present.clear()  # the cable is pulled
    ports.rescan()
    assert ports.to_dict()['gone'] == ['Launch Control'] and opened[0].closed
    ports.rescan()  # nothing to do, nothing raised
    present.append('Launch Control')  # plugged in again
    ports.rescan()
    assert ports.to_dict()['open'] == ['Launch Control'] and len(opened) == 2
