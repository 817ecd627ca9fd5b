"""Server-side MIDI inputs (mido over python-rtmidi, ALSA on Linux): opened by name, watched for vanishing."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import mido

from .midi import MidiError

log = logging.getLogger(__name__)
Receive = Callable[[mido.Message, str], None]  # (message, port name), called on the port's own thread


def midi_status(max_age: float = 3.0) -> dict[str, Any]:
    """Whether server-side MIDI works here (an ALSA sequencer on Linux), and the input ports (looked up at most
    every `max_age` seconds: each look opens the sequencer)."""
    now = time.monotonic()
    if _status_cache and now - _status_cache[0] < (max_age if _status_cache[1]['available'] else 20 * max_age):
        return dict(_status_cache[1])
    try:
        status: dict[str, Any] = {'available': True, 'ports': list(mido.get_input_names())}
    except Exception as error:  # rtmidi raises SystemError without an ALSA sequencer (/dev/snd/seq)
        status = {'available': False, 'ports': [],
                  'reason': f'no MIDI system here ({type(error).__name__}: {error}); the studio can still use the '
                            "browser's Web MIDI"}
    _status_cache[:] = [now, status]
    return dict(status)


_status_cache: list[Any] = []


class MidiPorts:
    """The open inputs; every message goes to `receive`. A port that vanishes is closed and reopened when back."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.lock = threading.Lock()
        self.ports: dict[str, Any] = {}
        self.wanted: set[str] = set()  # reopened when they come back
        self.gone: set[str] = set()
        self.counts: dict[str, int] = {}

    def open(self, name: str, virtual: bool = False) -> None:
        """Open an input by name (or create a virtual one); MidiError when it cannot be opened."""
        with self.lock:
            if name in self.ports:
                return
        try:
            port = mido.open_input(name, virtual=virtual, callback=lambda message: self._received(name, message))
        except Exception as error:  # rtmidi errors: SystemError, OSError, IOError with a message
            raise MidiError(f'cannot open MIDI input {name!r}: {error}') from None
        with self.lock:
            self.ports[name] = port
            self.wanted.add(name)
            self.gone.discard(name)

    def close(self, name: str) -> None:
        with self.lock:
            port = self.ports.pop(name, None)
            self.wanted.discard(name)
            self.gone.discard(name)
        if port is not None:
            port.close()

    def rescan(self) -> None:
        """Close ports that vanished (a cable pulled), reopen wanted ones that came back; never raises."""
        if not self.ports and not self.gone:
            return  # nothing to watch
        status = midi_status(max_age=0.0)
        present = set(status['ports'])
        for name in list(self.ports):
            if name not in present and not name.startswith('virtual:'):
                with self.lock:
                    port = self.ports.pop(name, None)
                    self.gone.add(name)
                log.warning('MIDI input %s went away', name)
                if port is not None:
                    try:
                        port.close()
                    except Exception:
                        log.debug('closing vanished port %s failed', name, exc_info=True)
        for name in list(self.gone & present):
            try:
                self.open(name)
                log.info('MIDI input %s is back', name)
            except MidiError:
                pass

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {'open': sorted(self.ports), 'gone': sorted(self.gone), 'messages': dict(self.counts)}

    def close_all(self) -> None:
        for name in list(self.ports):
            self.close(name)

    def _received(self, name: str, message: mido.Message) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        try:
            self.receive(message, name)
        except Exception:
            log.exception('MIDI message from %s could not be handled', name)
