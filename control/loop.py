"""The control loop: one thread ticks every session's control engine 30 times a second, and wakes in between
exactly when a quantized change or a beat pulse is due (so beats land on time, not on the next tick)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .engine import RATE, ControlEngine

log = logging.getLogger(__name__)
EARLY = 0.0005  # a due time this close counts as now


class ControlLoop:
    """Runs `engines()` on the monotonic clock; engines the audio loop ticked this period are left to it."""

    def __init__(self, engines: Callable[[], list[ControlEngine]], rate: float = RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engines = engines
        self.period = 1.0 / rate
        self.clock = clock
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name='control-loop', daemon=True)
        self.ticks = 0
        self.failures = 0

    def start(self) -> None:
        """Start the thread (again after a stop; nothing when it runs)."""
        if self.thread.is_alive():
            return
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name='control-loop', daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _run(self) -> None:
        next_tick = self.clock()
        while not self.stop_event.is_set():
            now = self.clock()
            regular = now >= next_tick - EARLY
            if regular:
                next_tick += self.period
                if next_tick < now:  # fell behind: realign, never burst
                    next_tick = now + self.period
                self.ticks += 1
            wake = next_tick
            for engine in self.engines():
                due = engine.next_due(now)
                if due is not None and due <= now + EARLY:
                    self._tick(engine, max(now, due))  # on the dot: the beat counts as crossed
                    due = engine.next_due(max(now, due))
                elif regular and not self._audio_drives(engine, now):
                    self._tick(engine, now)
                    due = engine.next_due(now)
                if due is not None and due > now + EARLY:
                    wake = min(wake, due)
            self.stop_event.wait(max(0.0, wake - self.clock()))

    def _audio_drives(self, engine: ControlEngine, now: float) -> bool:
        ticked = engine.audio_ticked
        return ticked is not None and now - ticked < 2 * self.period

    def _tick(self, engine: ControlEngine, now: float) -> None:
        try:
            engine.tick(now)
        except Exception:  # one session's broken route must not stop the others
            self.failures += 1
            log.exception('control tick of session %s failed', engine.session.id[:8])
