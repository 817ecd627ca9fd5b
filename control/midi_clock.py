"""MIDI clock as a tempo source: 24 pulses a quarter note, start/stop/continue and song position, tempo smoothed."""
from __future__ import annotations

from collections import deque
from typing import Any

import mido

from .tempo import TempoError, Timeline

PULSES_PER_BEAT = 24
SMOOTHING = 48  # pulse intervals averaged (two beats)
SILENT_AFTER = 0.5  # seconds without a pulse before the clock counts as stopped (a cable pulled, a port gone)


class MidiClockTempo:
    """Follows the clock pulses of one MIDI input; fed by whoever reads the port, with the time each message came."""

    name = 'midi_clock'

    def __init__(self, device: str | None = None) -> None:
        self.device = device
        self.pulses = 0  # since start (or the song position)
        self.running = True  # a clock that sends pulses without a start message still counts as playing
        self.intervals: deque[float] = deque(maxlen=SMOOTHING)
        self.last_pulse: float | None = None
        self.messages = 0

    def receive(self, message: mido.Message, t: float) -> None:
        """Take one message that arrived at monotonic time `t`."""
        kind = message.type
        self.messages += 1
        if kind == 'clock':
            if self.last_pulse is not None and 0 < t - self.last_pulse < SILENT_AFTER:
                self.intervals.append(t - self.last_pulse)
            self.last_pulse = t
            if self.running:
                self.pulses += 1
        elif kind == 'start':
            self.pulses, self.running = 0, True
        elif kind == 'continue':
            self.running = True
        elif kind == 'stop':
            self.running = False
        elif kind == 'songpos':
            self.pulses = int(message.pos) * PULSES_PER_BEAT // 4  # song position counts sixteenth notes

    @property
    def bpm(self) -> float | None:
        if len(self.intervals) < 2:
            return None
        return 60.0 / (sum(self.intervals) / len(self.intervals) * PULSES_PER_BEAT)

    def timeline(self, now: float) -> Timeline | None:
        bpm = self.bpm
        if bpm is None or self.last_pulse is None:
            return None
        if not self.playing(now):
            return None  # stopped: quantized changes apply at once, synced LFOs fall back to the internal tempo
        return Timeline(self.last_pulse, self.pulses / PULSES_PER_BEAT, bpm)

    def playing(self, now: float) -> bool:
        return self.running and self.last_pulse is not None and now - self.last_pulse < SILENT_AFTER

    def set_tempo(self, bpm: float, now: float) -> None:
        raise TempoError('a MIDI clock follows the tempo of the device that sends it; change it there')

    def info(self) -> dict[str, Any]:
        return {'device': self.device, 'messages': self.messages}

    def close(self) -> None:
        """The port belongs to the MIDI inputs; nothing to release here."""
