"""MIDI as a service: server-side ports and the browser's Web MIDI, one parser, to the matrix, learn and tempo."""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import mido

from control.midi import CLOCK_TYPES, MidiError, MidiStream, SourceValue, describe, source_values
from control.midi_ports import MidiPorts, midi_status
from control.sources import SourceBoard

from .errors import InvalidRequest

log = logging.getLogger(__name__)
BROWSER_PREFIX = 'browser:'

Moved = Callable[[SourceValue, float], None]  # a learnable control moved (MIDI learn)
Clock = Callable[[mido.Message, str, float], None]  # a clock message (the MIDI clock tempo)
Program = Callable[[int, int], None]  # a program change (channel 1..16, program 0..127)


class MidiService:
    """Every MIDI message, from a port on the server or a browser, is parsed once and goes to the board (CC,
    notes, pitch bend as matrix sources), to MIDI learn, to the MIDI clock, and program changes recall looks."""

    def __init__(self, board: SourceBoard, clock: Callable[[], float]) -> None:
        self.board = board
        self.clock = clock
        self.ports = MidiPorts(self.receive)
        self.streams: dict[str, MidiStream] = {}
        self.moved_listeners: list[Moved] = []
        self.clock_listeners: list[Clock] = []
        self.program_listeners: list[Program] = []
        self.recent: deque[dict[str, Any]] = deque(maxlen=20)
        self.received = 0
        self.refused = 0
        self.lock = threading.Lock()

    def status(self) -> dict[str, Any]:
        """Server ports (if there is a MIDI system here), open ports, what came lately."""
        return {**midi_status(), 'browser': True, **self.ports.to_dict(), 'received': self.received,
                'refused': self.refused, 'recent': list(self.recent)}

    def open(self, name: str, virtual: bool = False) -> None:
        try:
            self.ports.open(name, virtual=virtual)
        except MidiError as error:
            raise InvalidRequest(str(error)) from None

    def close(self, name: str) -> None:
        self.ports.close(name)

    def receive_bytes(self, data: Any, port: str = 'browser') -> int:
        """Raw MIDI bytes from a client (Web MIDI), parsed with running status per port; how many messages."""
        if not isinstance(data, list | bytes | bytearray):
            self.refused += 1
            raise InvalidRequest('MIDI data must be a list of bytes (0..255)')
        name = port if port.startswith(BROWSER_PREFIX) else BROWSER_PREFIX + port
        with self.lock:
            stream = self.streams.setdefault(name[:80], MidiStream())
            try:
                messages = stream.feed(data)
            except MidiError as error:
                self.refused += 1
                raise InvalidRequest(str(error)) from None
        for message in messages:
            self.receive(message, name)
        return len(messages)

    def receive(self, message: mido.Message, port: str) -> None:
        """One message from any port (called on the port's thread or the event loop)."""
        now = self.clock()
        self.received += 1
        if message.type in CLOCK_TYPES:
            for on_clock in list(self.clock_listeners):
                on_clock(message, port, now)
            return
        self.recent.append({'port': port, **describe(message)})
        if message.type == 'program_change':
            for on_program in list(self.program_listeners):
                on_program(message.channel + 1, message.program)
        for value in source_values(message):
            self.board.set(value.name, value.value, value.label)
            for moved in list(self.moved_listeners):
                moved(value, now)

    def rescan(self) -> None:
        """Notice ports that vanished or came back (called every few seconds)."""
        self.ports.rescan()

    def close_all(self) -> None:
        self.ports.close_all()
