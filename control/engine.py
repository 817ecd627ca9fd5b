"""The control of one session: sources, LFOs and the matrix evaluated each tick, quantized changes, the lead."""
from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from audio.features import FEATURE_NAMES, Features
from audio.presets import Preset
from pipeline.validation import InvalidParameters, check_parameters

from .latency import LatencyMeter
from .lfo import Lfo
from .matrix import Matrix, Meter
from .quantize import Quantizer
from .routes import AUDIO_ORIGIN, Route, Target, session_targets
from .sources import SourceBoard
from .targets import prompt_weights, trigger_message
from .tempo import QuantizeMode, Timeline
from .tempo_sync import TempoSync

log = logging.getLogger(__name__)
RATE = 30.0
DEADBAND = 0.004  # smallest parameter change worth sending (as the audio presets)
Recall = Callable[[str], dict[str, Any] | None]  # a look's parameters by name


class ControlEngine:
    """Everything that steers one session besides its own clients; `tick` runs on whichever clock drives it
    (the control loop, the audio loop, or a test), and every change leaves through `Session.update`."""

    def __init__(self, session: Any, tempo: TempoSync, board: SourceBoard, clock: Callable[[], float],
                 recall: Recall | None = None, looks: Callable[[], list[str]] | None = None) -> None:
        self.session = session
        self.tempo = tempo
        self.board = board
        self.clock = clock
        self.recall = recall or (lambda name: None)
        self.looks = looks or list
        self.lock = threading.RLock()
        self.matrix = Matrix()
        self.user_routes: list[Route] = []
        self.audio_routes: list[Route] = []
        self.audio_preset: Preset | None = None
        self.lfos: dict[str, Lfo] = {}
        self.local: dict[str, float] = {}  # the XY pad, the audio features
        self.quantizer = Quantizer()
        self.quantize: QuantizeMode = 'none'  # for discrete changes from OSC, MIDI and REST
        self.latency = LatencyMeter(clock)
        self.created = clock()
        self.last_tick: float | None = None
        self.last_beat: float | None = None
        self.audio_ticked: float | None = None
        self.sent: dict[str, float] = {}
        self.sent_weights: dict[int, float] = {}
        self.start_values: dict[str, Any] = {}
        self.meters: dict[str, Meter] = {}
        self.values: dict[str, float] = {}
        self.messages = 0
        self.refused = 0
        self.refusals: deque[tuple[float, str]] = deque(maxlen=10)
        self.stamp_beats = False  # benchmarks: a beat's message carries `stamp` = the beat number
        self.beats: deque[dict[str, float]] = deque(maxlen=32)  # beat pulses fired: beat, due and fired times
        self.outputs: list[Callable[[ControlEngine], None]] = []  # after each tick (OSC out)
        session.state.add_listener(self._state_changed)
        session.bus.listeners.append(self._frame_published)

    # --- configuration ---

    def set_routes(self, routes: list[Route]) -> None:
        with self.lock:
            self.user_routes = [route for route in routes if route.origin != AUDIO_ORIGIN]
            self.matrix.set_routes([*self.user_routes, *self.audio_routes])

    def set_lfos(self, lfos: list[Lfo]) -> None:
        with self.lock:
            self.lfos = {lfo.name: lfo for lfo in lfos}

    def set_audio_preset(self, preset: Preset | None) -> None:
        """The running audio preset's mappings become routes of this matrix (None: the audio stopped)."""
        with self.lock:
            if preset is self.audio_preset:
                return
            self.audio_preset = preset
            self.audio_routes = [Route.from_mapping(m, i) for i, m in enumerate(preset.mappings)] if preset else []
            self.matrix.set_routes([*self.user_routes, *self.audio_routes])
            if preset is None:
                self.audio_ticked = None
                for name in FEATURE_NAMES:
                    self.local.pop(f'audio.{name}', None)

    def set_source(self, name: str, value: float) -> None:
        """A value of this session only (the XY pad)."""
        with self.lock:
            self.local[name] = float(value)

    # --- the tick ---

    def tick(self, now: float, send: bool = True) -> dict[str, Any]:
        """Evaluate everything once; sends the message (or returns it unsent for the audio loop to send)."""
        with self.lock:
            dt = min(0.2, now - self.last_tick) if self.last_tick is not None else 1.0 / RATE
            self.last_tick = now
            lead = self.latency.lead
            line = self.tempo.timeline(now)
            values = self._values(now, line, lead)
            snapshot = self.session.state.snapshot()
            targets = self.targets(snapshot)
            evaluation = self.matrix.evaluate(values, dt, targets)
            self.meters, self.values = evaluation.meters, values
            message: dict[str, Any] = {}
            self._continuous(evaluation.totals, targets, snapshot, message)
            discrete: dict[str, Any] = {}
            for route in evaluation.fired:
                if (change := trigger_message(route.target, self.recall)) is not None:
                    if self.quantizer.schedule(change, route.quantize, line, now, lead, self.tempo.beats_per_bar,
                                               f'route {route.id}') is None:
                        discrete.update(change)
            for pending in self.quantizer.due(line, now, lead):
                discrete.update(pending.message)
            pulse = bool(values.get('tempo.beat'))
            if self.stamp_beats and pulse:
                message['stamp'] = math.floor(self.last_beat or 0) % (1 << 24)
        if discrete:
            self.latency.timed()
            self.send(discrete, 'matrix')
        if message and pulse:
            self.latency.timed()  # the next change (sent here, or by the audio loop) is the beat's
        if send and message:
            self.send(message, 'matrix')
        for output in list(self.outputs):
            output(self)
        return message

    def audio_tick(self, features: Features, now: float) -> dict[str, Any]:
        """The audio loop's tick: its features become sources, the continuous values go back for it to send."""
        with self.lock:
            self.local.update({f'audio.{name}': features.value(name) for name in FEATURE_NAMES})
            self.audio_ticked = now
        return self.tick(now, send=False)

    def next_due(self, now: float) -> float | None:
        """When this engine next needs to run between ticks: a quantized change or a beat pulse, fired early."""
        lead = self.latency.lead
        line = self.tempo.timeline(now)
        due = self.quantizer.next_due(line, lead)
        if line is not None and any(r.enabled and r.source in ('tempo.beat', 'tempo.bar') for r in self.matrix.routes):
            # the boundary after the last one evaluated: a loop that wakes a little late still fires it at once
            reference = self.last_beat if self.last_beat is not None else line.beat_at(now + lead)
            beat = line.time_of(math.floor(reference) + 1) - lead
            due = beat if due is None else min(due, beat)
        return due

    # --- changes from OSC, MIDI and REST ---

    def apply(self, message: dict[str, Any], source: str, quantize: QuantizeMode | None = None) -> str:
        """Apply a change now, or on the next beat boundary; 'applied' or 'scheduled'. InvalidParameters when it
        does not fit the session's pipeline (checked now, and again when it fires)."""
        check_parameters(message, self.session.pipeline.info)
        now = self.clock()
        with self.lock:
            pending = self.quantizer.schedule(message, quantize or self.quantize, self.tempo.timeline(now), now,
                                              self.latency.lead, self.tempo.beats_per_bar, source)
        if pending is not None:
            return 'scheduled'
        self.session.update(message, source=source)
        return 'applied'

    def send(self, message: dict[str, Any], source: str) -> dict[str, Any]:
        """Through the one path; a refused message is counted and shown, never retried, and its good keys apply."""
        try:
            applied = self.session.update(message, source=source)
            self.messages += 1
            return applied
        except InvalidParameters as error:
            self.refuse(str(error))
        applied = {}
        if len(message) > 1:
            for key, value in message.items():
                try:
                    applied.update(self.session.update({key: value}, source=source))
                except InvalidParameters:
                    continue
        return applied

    def targets(self, snapshot: dict[str, Any] | None = None) -> dict[str, Target]:
        snapshot = self.session.state.snapshot() if snapshot is None else snapshot
        return session_targets(self.session.pipeline.info, len(snapshot.get('prompts') or []), self.looks())

    def detach(self) -> None:
        """Stop listening to the session (it ended)."""
        self.session.state.remove_listener(self._state_changed)
        if self._frame_published in self.session.bus.listeners:
            self.session.bus.listeners.remove(self._frame_published)

    # --- helpers ---

    def _values(self, now: float, line: Timeline | None, lead: float) -> dict[str, float]:
        values = self.board.values()
        values.update(self.local)
        clock_line = line or self.tempo.fallback.timeline(now)
        beat = clock_line.beat_at(now + lead) + 1e-9  # the music `lead` seconds from now: what the picture will meet
        bar = self.tempo.beats_per_bar
        if line is not None:
            crossed = self.last_beat is not None and math.floor(beat) > math.floor(self.last_beat)
            downbeat = crossed and math.floor(beat) // bar > math.floor(self.last_beat or 0) // bar
            values.update({'tempo.beat': float(crossed), 'tempo.bar': float(downbeat),
                           'tempo.phase': beat % 1.0, 'tempo.bar_phase': (beat % bar) / bar})
            if crossed:
                due = line.time_of(math.floor(beat))
                self.beats.append({'beat': math.floor(beat), 'due': due, 'fired': now, 'lead': lead})
            self.last_beat = beat
        else:
            self.last_beat = None
        seconds = now - self.created
        for lfo in self.lfos.values():
            if lfo.enabled:
                values[f'lfo.{lfo.name}'] = lfo.value(seconds, beat)
        return values

    def _continuous(self, totals: dict[str, float], targets: dict[str, Target], snapshot: dict[str, Any],
                    message: dict[str, Any]) -> None:
        weights: dict[int, float] = {}
        for key, total in totals.items():
            target = targets[key]
            if target.kind == 'prompt_weight':
                weights[int(key.rsplit('.', 1)[1])] = total
                continue
            value = round(total, 4)
            last = self.sent.get(key)
            if last is None or abs(value - last) >= DEADBAND or (value != last and value in (target.low, target.high)):
                if key not in self.start_values and key not in self._audio_targets():
                    self.start_values[key] = snapshot.get(key)
                message[key] = value
                self.sent[key] = value
        if weights and (prompts := prompt_weights(snapshot.get('prompts'), weights, self.sent_weights)) is not None:
            message['prompts'] = prompts
        for key in [key for key in self.start_values if key not in totals]:  # nothing drives it any more
            start = self.start_values.pop(key)
            self.sent.pop(key, None)
            if start is not None and key not in self._audio_targets():
                message[key] = start

    def _audio_targets(self) -> set[str]:
        return {route.target for route in self.audio_routes}

    def refuse(self, reason: str) -> None:
        self.refused += 1
        self.refusals.append((self.clock(), reason))
        log.debug('session %s refused a matrix change: %s', self.session.id[:8], reason)

    def _state_changed(self) -> None:
        self.latency.changed(self.session.state.version)

    def _frame_published(self, frame: Any) -> None:
        self.latency.frame(frame.version)
