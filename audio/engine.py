"""The audio-reactive loop of one session: source -> features -> mappings -> `session.update`, 30 times a second."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from .clock import SteadyClock, TickClock
from .features import Analyser, Features
from .mapper import ParameterMapper
from .output import AudioOutput, ensure_audio_output
from .presets import Preset
from .sources import AudioSource

log = logging.getLogger(__name__)
RATE = 30.0
MAX_CONSECUTIVE_ERRORS = 3


class AudioEngine:
    """Runs in its own thread; the only thing it does to the session is call `session.update` (at most once a tick)."""

    def __init__(self, session: Any, source: AudioSource, preset: Preset, *, rate: float = RATE,
                 stamp_beats: bool = False, previous: ParameterMapper | None = None,
                 clock: TickClock | None = None) -> None:
        """`clock`: what the loop ticks on (default: the monotonic clock at `rate`; tests drive their own)."""
        self.session = session
        self.source = source
        self.preset = preset
        self.rate = rate
        self.stamp_beats = stamp_beats  # benchmarks: a beat's message carries `stamp` = audio position in ms
        self.analyser = Analyser()
        self.mapper = ParameterMapper(preset, session.state.snapshot(), previous, session.state.authored_prompts())
        self.features = Features()
        self.clock: TickClock = clock or SteadyClock(rate)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f'audio-{session.id[:8]}', daemon=True)
        self.messages = 0
        self.last_message: dict[str, Any] = {}
        self.analysis_ms: deque[float] = deque(maxlen=300)
        self.error: str | None = None
        self.started_at: float | None = None  # wall clock (time.time) of the start, for clients
        self._pending_preset: Preset | None = None
        self._last_tick: float | None = None
        self.restore = True
        self.tick_hooks: list[Callable[[AudioEngine, Features, float], dict[str, Any]]] = []  # the control matrix
        self.numeric_elsewhere = False  # True: the matrix evaluates the preset's numeric mappings (as routes)
        self._released = False
        self._release_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.thread.is_alive() and not self.stop_event.is_set()

    def start(self) -> None:
        """Start the clock, the source on it and the loop; the engine stops by itself when the session closes."""
        self.clock.start()
        self.source.start(self.clock.now)
        if self.source.playback is not None:
            ensure_audio_output(self.session).playback = self.source.playback
        self.session.stop_listeners.append(self._on_session_stopped)
        self.started_at = time.time()
        self.thread.start()

    def stop(self, timeout: float = 2.0, restore: bool = True) -> None:
        """Stop the loop, put back what the music changed (if `restore` and the session goes on), release the source."""
        self.restore = restore
        self.stop_event.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)
        if not self.thread.is_alive():
            self._release()

    def use_preset(self, preset: Preset) -> None:
        """Switch to another preset at the next tick (prompt words carry over cleanly)."""
        self._pending_preset = self.preset = preset

    def status(self) -> dict[str, Any]:
        """What the engine hears and does now."""
        analysis = list(self.analysis_ms)  # one atomic copy: the loop thread keeps appending
        return {
            'running': self.running,
            'source': {'kind': self.source.kind, 'description': self.source.description, **self.source.details()},
            'preset': self.preset.name,
            'features': self.features.to_dict(),
            'words': list(self.mapper.words),
            'messages_sent': self.messages,
            'last_message': self.last_message,
            'clock': self.clock.figures(),
            'analysis_ms_mean': round(float(np.mean(analysis)), 4) if analysis else None,
            'analysis_ms_p99': round(float(np.percentile(analysis, 99)), 4) if analysis else None,
            'started_at': self.started_at,
            'error': self.error,
        }

    def _run(self) -> None:
        errors = 0
        try:
            while (woke := self.clock.wait(self.stop_event)) is not None:
                try:
                    self._tick(woke)
                    errors = 0
                except Exception as error:
                    errors += 1
                    log.exception('audio tick of session %s failed', self.session.id[:8])
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        self.error = f'{type(error).__name__}: {error}'
                        self.stop_event.set()
                if self.session.closed or getattr(self.source, 'ended', False):
                    self.stop_event.set()
        finally:
            self._release()

    def _tick(self, now: float) -> None:
        if self._pending_preset is not None:
            preset, self._pending_preset = self._pending_preset, None
            self.mapper = ParameterMapper(preset, self.session.state.snapshot(), previous=self.mapper)
        self.mapper.numeric = not self.numeric_elsewhere
        samples = self.source.pull(now)
        begun = time.thread_time()
        self.features = features = self.analyser.process(samples)
        state = self.session.state
        prompts, authored = (state.values.get('prompts'), state.authored_prompts()) if self.mapper.uses_prompts \
            else (None, None)
        dt = min(0.2, now - self._last_tick) if self._last_tick is not None else 1.0 / self.rate
        self._last_tick = now
        message = self.mapper.step(features, now, dt, prompts, authored)
        for hook in list(self.tick_hooks):
            message.update(hook(self, features, now))
        self.analysis_ms.append(1000 * (time.thread_time() - begun))
        if self.stamp_beats and features.beat:
            message['stamp'] = int(features.seconds * 1000) % (1 << 24)  # frames carry it (DREAMSTAGE_STAMP_FRAMES)
        if message:
            self.session.update(message, source='audio')
            self.messages += 1
            self.last_message = message

    def _release(self) -> None:
        """Once: put back what the music changed (if the session goes on), detach the output, stop the source."""
        with self._release_lock:
            if self._released:
                return
            self._released = True
        try:
            if self.restore and not self.session.closed and (restore := self.mapper.restore()):
                self.session.update(restore, source='audio')
        finally:
            output = self.session.audio_output
            if isinstance(output, AudioOutput) and output.playback is not None and \
                    output.playback is self.source.playback:
                output.playback = None  # its tracks go silent; peers joining later still get one
            if self._on_session_stopped in self.session.stop_listeners:
                self.session.stop_listeners.remove(self._on_session_stopped)
            self.source.stop()

    def _on_session_stopped(self, _error: str | None) -> None:
        self.stop_event.set()
