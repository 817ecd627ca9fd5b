"""Control surfaces and the modulation matrix as a service: one control engine per session, the control loop,
OSC, MIDI and tempo wired to them, matrix presets; every change reaches a session through `Session.update`."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from audio.engine import AudioEngine
from audio.features import Features
from audio.sources import SourceSpec
from config import Config
from control.engine import ControlEngine
from control.lfo import Lfo
from control.loop import ControlLoop
from control.midi import SourceValue
from control.midi_learn import MidiLearn, route_for
from control.routes import Route
from control.sources import AUDIO_SOURCES, TEMPO_SOURCES, XY_SOURCES, SourceBoard
from control.tempo import QuantizeMode
from pipeline.manager import PipelineManager
from pipeline.registry import PipelineRegistry
from pipeline.session import Session
from pipeline.validation import InvalidParameters

from .audio import AudioService
from .errors import InvalidRequest, NotFound, Unprocessable
from .midi import MidiService
from .osc import OscService
from .presets import Look, PresetStore, preset_key
from .sessions import SessionService
from .tempo import TempoService

MAX_ROUTES = 64
MAX_LFOS = 16
RESCAN_EVERY = 2.0  # seconds between looks for MIDI ports that vanished or came back


class MatrixPreset(BaseModel):
    """A saved modulation setup: routes, LFOs and the quantize mode."""

    name: str = Field(min_length=1, max_length=64)
    routes: list[Route] = Field(default_factory=list, max_length=MAX_ROUTES)
    lfos: list[Lfo] = Field(default_factory=list, max_length=MAX_LFOS)
    quantize: QuantizeMode = 'none'


class ControlService:
    """The engines of the sessions (made when first needed, gone with their session) and what feeds them."""

    def __init__(self, config: Config, sessions: SessionService, audio: AudioService, looks: PresetStore[Look],
                 manager: PipelineManager, registry: PipelineRegistry,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions
        self.audio = audio
        self.looks = looks
        self.clock = clock
        self.board = SourceBoard(clock)
        self.engines: dict[str, ControlEngine] = {}
        self.learning: dict[str, MidiLearn] = {}
        self.lock = threading.RLock()
        self.midi = MidiService(self.board, clock)
        self.tempo = TempoService(config.assets_dir, clock, self.midi.status)
        self.osc = OscService(config, sessions, manager, registry, self.board, self.existing)
        self.presets = PresetStore(config.matrix_presets_dir, MatrixPreset)
        self.loop = ControlLoop(self.running_engines, clock=clock)
        self.midi_inputs = list(config.midi_inputs)
        self.next_rescan = 0.0
        audio.start_listeners.append(self._audio_started)
        self.midi.moved_listeners.append(self._midi_moved)
        self.midi.clock_listeners.append(self._midi_clock)
        self.midi.program_listeners.append(self._program_change)

    # --- lifecycle ---

    async def start(self) -> None:
        """Listen for OSC, open the configured MIDI inputs, start the control loop."""
        await self.osc.start()
        for name in self.midi_inputs:
            try:
                self.midi.open(name)
            except InvalidRequest:
                pass  # shown in the MIDI status (gone), reopened when it appears
        self.loop.start()

    async def stop(self) -> None:
        self.loop.stop()
        self.osc.stop()
        await asyncio.to_thread(self.midi.close_all)
        self.tempo.sync.close()

    # --- engines ---

    def engine(self, session: Session) -> ControlEngine:
        """The session's control engine (made on first use)."""
        with self.lock:
            engine = self.engines.get(session.id)
            if engine is None:
                engine = ControlEngine(session, self.tempo.sync, self.board, self.clock, recall=self.recall,
                                       looks=self.looks.names)
                engine.outputs.append(self.osc.send_out)
                self.engines[session.id] = engine
                self.learning[session.id] = MidiLearn()
                session.stop_listeners.append(lambda _error: self._forget(session.id))
            return engine

    def engine_for(self, session_id: str) -> ControlEngine:
        """The engine of a running session (NotFound)."""
        return self.engine(self.sessions.require(session_id))

    def existing(self, session: Session) -> ControlEngine | None:
        return self.engines.get(session.id)

    def running_engines(self) -> list[ControlEngine]:
        """What the control loop ticks; also notices stopped audio engines and vanished MIDI ports."""
        now = self.clock()
        engines = [engine for engine in list(self.engines.values()) if not engine.session.closed]
        for engine in engines:
            if engine.audio_preset is not None:
                audio = self.audio.get(engine.session.id)
                if audio is None or not audio.running:
                    engine.set_audio_preset(None)
                    self.tempo.audio_stopped(engine.session.id)
        ports = self.midi.ports
        if now >= self.next_rescan and (ports.ports or ports.gone):  # opening the sequencer can block: not here
            self.next_rescan = now + RESCAN_EVERY
            threading.Thread(target=self.midi.rescan, name='midi-rescan', daemon=True).start()
        return engines

    # --- the matrix ---

    def set_routes(self, session_id: str, routes: list[Route]) -> list[Route]:
        if len(routes) > MAX_ROUTES:
            raise InvalidRequest(f'at most {MAX_ROUTES} routes per session')
        if len({route.id for route in routes}) != len(routes):
            raise InvalidRequest('route ids must be unique')
        engine = self.engine_for(session_id)
        engine.set_routes(routes)
        return engine.user_routes

    def add_route(self, session_id: str, route: Route) -> list[Route]:
        engine = self.engine_for(session_id)
        routes = [r for r in engine.user_routes if r.id != route.id]
        return self.set_routes(session_id, [*routes, route])

    def delete_route(self, session_id: str, route_id: str) -> None:
        engine = self.engine_for(session_id)
        if not any(route.id == route_id for route in engine.user_routes):
            raise NotFound(f'no route {route_id!r}')
        engine.set_routes([route for route in engine.user_routes if route.id != route_id])

    def set_lfos(self, session_id: str, lfos: list[Lfo]) -> list[Lfo]:
        if len(lfos) > MAX_LFOS or len({lfo.name for lfo in lfos}) != len(lfos):
            raise InvalidRequest(f'at most {MAX_LFOS} LFOs, with different names')
        engine = self.engine_for(session_id)
        engine.set_lfos(lfos)
        return list(engine.lfos.values())

    def schedule(self, session_id: str, parameters: dict[str, Any], quantize: QuantizeMode | None,
                 source: str = 'api') -> str:
        """Apply a change now or on the next beat boundary ('applied' / 'scheduled'); Unprocessable if invalid."""
        engine = self.engine_for(session_id)
        try:
            return engine.apply(parameters, source=source, quantize=quantize)
        except InvalidParameters as error:
            raise Unprocessable(f'Invalid parameters: {error}') from None

    def set_xy(self, session_id: str, x: float, y: float) -> None:
        engine = self.engine_for(session_id)
        engine.set_source('xy.x', min(1.0, max(0.0, x)))
        engine.set_source('xy.y', min(1.0, max(0.0, y)))

    def recall(self, name: str) -> dict[str, Any] | None:
        """A look's parameters (the target of look triggers and program changes)."""
        look = self.looks.get(name)
        return dict(look.parameters) if look is not None else None

    def sources(self, session_id: str) -> dict[str, str]:
        """Every source name the session's matrix can read now, with a label."""
        engine = self.engine_for(session_id)
        names = {**AUDIO_SOURCES, **TEMPO_SOURCES, **XY_SOURCES}
        names.update({f'lfo.{name}': f'LFO {name}' for name in engine.lfos})
        names.update(self.board.labels())
        return names

    # --- MIDI learn ---

    def learn(self, session_id: str, target: str | None) -> dict[str, Any]:
        """Arm MIDI learn for a target (None: cancel); the next control moved is mapped to it."""
        engine = self.engine_for(session_id)
        learn = self.learning[session_id]
        if target is None:
            learn.cancel()
        else:
            targets = engine.targets()
            if target not in targets:
                raise InvalidRequest(f'no target {target!r} in this session; targets: {sorted(targets)}')
            learn.arm(targets[target])
        return self.learn_state(session_id)

    def map_last_moved(self, session_id: str, target: str) -> Route:
        """"Move a knob, click a control": map the control moved last to a target."""
        engine = self.engine_for(session_id)
        moved = self.learning[session_id].recent(self.clock())
        targets = engine.targets()
        if moved is None:
            raise InvalidRequest('no MIDI control moved in the last seconds: move one first')
        if target not in targets:
            raise InvalidRequest(f'no target {target!r} in this session')
        route = route_for(moved.source, targets[target])
        self.add_route(session_id, route)
        return route

    def learn_state(self, session_id: str) -> dict[str, Any]:
        learn = self.learning.get(session_id)
        if learn is None:
            return {'armed': None, 'last': None, 'learned': 0}
        last = learn.recent(self.clock())
        return {'armed': learn.armed.key if learn.armed else None, 'learned': learn.learned,
                'last': {'source': last.source, 'label': last.label} if last else None}

    # --- status ---

    def status(self, session_id: str) -> dict[str, Any]:
        """Routes with live meters, LFOs, targets, latency, pending changes, counters and the tempo."""
        engine = self.engine_for(session_id)
        now = self.clock()
        line = engine.tempo.timeline(now)
        meters = engine.meters
        routes = [{**route.model_dump(), 'meter': meters[route.id].to_dict() if route.id in meters else None}
                  for route in engine.matrix.routes]
        return {'session_id': session_id, 'routes': routes, 'lfos': [lfo.model_dump() for lfo in engine.lfos.values()],
                'targets': [target.to_dict() for target in engine.targets().values()],
                'audio_preset': engine.audio_preset.name if engine.audio_preset else None,
                'quantize': engine.quantize, 'pending': engine.quantizer.to_list(line, now, engine.latency.lead),
                'latency': engine.latency.to_dict(), 'messages_sent': engine.messages, 'refused': engine.refused,
                'refusals': [{'time': t, 'reason': reason} for t, reason in engine.refusals],
                'values': {key: round(value, 4) for key, value in engine.values.items()},
                'beats': list(engine.beats)[-8:], 'tempo': self.tempo.sync.status(),
                'learn': self.learn_state(session_id)}

    def save_preset(self, session_id: str, name: str) -> MatrixPreset:
        engine = self.engine_for(session_id)
        preset = MatrixPreset(name=preset_key(name), routes=engine.user_routes, lfos=list(engine.lfos.values()),
                              quantize=engine.quantize)
        self.presets.save(preset.name, preset)
        return preset

    def load_preset(self, session_id: str, name: str) -> MatrixPreset:
        preset = self.presets.require(name)
        engine = self.engine_for(session_id)
        engine.set_lfos(preset.lfos)
        engine.set_routes(preset.routes)
        engine.quantize = preset.quantize
        return preset

    # --- wiring ---

    def _forget(self, session_id: str) -> None:
        with self.lock:
            engine = self.engines.pop(session_id, None)
            self.learning.pop(session_id, None)
        if engine is not None:
            engine.detach()
        self.tempo.audio_stopped(session_id)  # the audio source no longer follows that session's song

    def _audio_started(self, session: Session, audio: AudioEngine, spec: SourceSpec) -> None:
        """The audio engine's numeric mappings move into this session's matrix, ticked by the audio loop."""
        engine = self.engine(session)
        audio.numeric_elsewhere = True
        audio.tick_hooks.append(self._audio_tick)
        engine.set_audio_preset(audio.preset)
        self.tempo.audio_started(session, audio, spec)

    def _audio_tick(self, audio: AudioEngine, features: Features, now: float) -> dict[str, Any]:
        engine = self.engine(audio.session)
        engine.set_audio_preset(audio.preset)
        self.tempo.audio_tick(audio.session, features, now)
        return engine.audio_tick(features, now)

    def _midi_moved(self, value: SourceValue, now: float) -> None:
        for session_id, learn in list(self.learning.items()):
            route = learn.moved(value, now)
            if route is not None and session_id in self.engines:
                self.add_route(session_id, route)

    def _midi_clock(self, message: Any, port: str, now: float) -> None:
        clock = self.tempo.midi_clock
        if clock is not None and self.tempo.sync.source is clock and clock.device in (None, port):
            clock.receive(message, now)

    def _program_change(self, channel: int, program: int) -> None:
        """Program change N recalls the N-th look (in the order the studio lists them) in the studio session,
        on the beat when it quantizes."""
        names = [look.name for look in sorted(self.looks.all(), key=lambda look: (look.saved_at, look.name))]
        studio = next((s for s in self.sessions.running() if s.kind == 'studio'), None)
        if studio is None or not 0 <= program < len(names) or (parameters := self.recall(names[program])) is None:
            return
        engine = self.engine(studio)
        try:
            engine.apply(parameters, source=f'midi program {program}')
        except InvalidParameters as error:
            engine.refuse(str(error))

