"""OSC out: the analysis (audio features, beats, tempo) sent to a target, so TouchDesigner or Resolume can follow."""
from __future__ import annotations

import logging
import socket
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

from audio.features import FEATURE_NAMES

log = logging.getLogger(__name__)


class OscSender:
    """Sends `/dreamstage/<session>/audio/<feature>`, `/dreamstage/<session>/beat` and `.../bpm` to host:port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.socket = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        self.sent = 0
        self.errors = 0
        self.last_error: str | None = None

    def send(self, address: str, *args: Any) -> None:
        """One message; a full buffer or an unreachable target is counted, never raised (UDP may drop anyway)."""
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        try:
            self.socket.sendto(builder.build().dgram, (self.host, self.port))
            self.sent += 1
        except OSError as error:
            self.errors += 1
            self.last_error = str(error)

    def tick(self, session_name: str, values: dict[str, float], bpm: float | None) -> None:
        """What one control tick heard: every audio feature present, a beat when one fell, the tempo."""
        base = f'/dreamstage/{session_name}'
        for name in FEATURE_NAMES:
            value = values.get(f'audio.{name}')
            if value is not None:
                self.send(f'{base}/audio/{name}', float(value))
        if values.get('tempo.beat'):
            self.send(f'{base}/beat', float(values.get('tempo.bar_phase', 0.0)), bool(values.get('tempo.bar')))
        if bpm is not None:
            self.send(f'{base}/bpm', float(bpm))

    def to_dict(self) -> dict[str, Any]:
        return {'host': self.host, 'port': self.port, 'sent': self.sent, 'errors': self.errors,
                'last_error': self.last_error}

    def close(self) -> None:
        self.socket.close()
