"""MIDI messages as matrix sources (CC, notes, program changes, pitch bend), from raw bytes or mido messages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mido

CLOCK_TYPES = frozenset({'clock', 'start', 'stop', 'continue', 'songpos'})
MAX_BYTES = 4096  # one message from the browser carries at most this many bytes


class MidiError(ValueError):
    """MIDI input that cannot be used (bad bytes from a client, a port that cannot be opened)."""


@dataclass(frozen=True, slots=True)
class SourceValue:
    """A matrix source set by a MIDI message: its name (`midi.cc.1.74`) and its value, 0..1."""

    name: str
    value: float
    label: str  # how the studio names the control that moved ('CC 74 ch 1')
    learnable: bool = True  # knobs, faders, pads: MIDI learn binds them


class MidiStream:
    """Turns the bytes of one port into messages, keeping running status across chunks (as a port delivers them)."""

    def __init__(self) -> None:
        self.parser = mido.Parser()

    def feed(self, data: bytes | bytearray | list[int]) -> list[mido.Message]:
        """The complete messages in `data` (and in what came before it); MidiError for values that are no bytes."""
        if len(data) > MAX_BYTES:
            raise MidiError(f'too many MIDI bytes at once ({len(data)}, at most {MAX_BYTES})')
        if isinstance(data, list) and any(not isinstance(b, int) or isinstance(b, bool) or not 0 <= b <= 255
                                          for b in data):
            raise MidiError('MIDI data must be bytes (integers 0..255)')
        self.parser.feed(bytes(data))
        return list(self.parser)


def source_values(message: mido.Message) -> list[SourceValue]:
    """What a message sets in the matrix (nothing for clock and system messages)."""
    kind = message.type
    if kind == 'control_change':
        channel = message.channel + 1
        return [SourceValue(f'midi.cc.{channel}.{message.control}', message.value / 127,
                            f'CC {message.control} ch {channel}')]
    if kind in ('note_on', 'note_off'):
        channel = message.channel + 1
        velocity = message.velocity / 127 if kind == 'note_on' else 0.0
        return [SourceValue(f'midi.note.{channel}.{message.note}', velocity, f'note {message.note} ch {channel}',
                            learnable=kind == 'note_on' and message.velocity > 0)]
    if kind == 'program_change':
        channel = message.channel + 1
        return [SourceValue(f'midi.program.{channel}', message.program / 127, f'program ch {channel}',
                            learnable=False)]
    if kind == 'pitchwheel':
        channel = message.channel + 1
        return [SourceValue(f'midi.pitch.{channel}', (message.pitch + 8192) / 16383, f'pitch bend ch {channel}')]
    return []


def describe(message: mido.Message) -> dict[str, Any]:
    """A message as JSON for the studio and the API."""
    return {key: value for key, value in message.dict().items() if key != 'time'}
