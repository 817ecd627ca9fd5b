"""OSC as a service: the server on the HTTP port number, which sessions an address reaches, OSC out."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from config import Config
from control.engine import ControlEngine
from control.osc_docs import render
from control.osc_out import OscSender
from control.osc_paths import paths, session_slug
from control.osc_server import OscServer
from control.sources import SourceBoard
from pipeline.manager import PipelineManager
from pipeline.parameters import PROMPT_KEYS
from pipeline.registry import PipelineRegistry
from pipeline.session import Session

from .errors import InvalidRequest
from .sessions import SessionService

log = logging.getLogger(__name__)
DISCRETE = PROMPT_KEYS | {'reset_cache', 'seed', 'denoising_step_list', 'paused', 'input_mode', 'negative_prompt',
                          'prompt_interpolation_method'}  # what a quantize mode holds for the beat


class OscService:
    """`/scope/<param>` reaches the studio session and every Scope client session; `/dreamstage/<session>/<param>`
    one shared session (by name, as `session_slug` spells it, or id); every change goes through `Session.update`."""

    def __init__(self, config: Config, sessions: SessionService, manager: PipelineManager,
                 registry: PipelineRegistry, board: SourceBoard,
                 engine_of: Callable[[Session], ControlEngine | None]) -> None:
        self.sessions = sessions
        self.manager = manager
        self.registry = registry
        self.engine_of = engine_of
        port = config.port if config.osc_port is None else config.osc_port
        self.server = OscServer(config.osc_host or config.host, port, self.resolve, self.deliver, board)
        self.wanted = port != 0
        if config.stamp_frames:  # benchmarks: OSC message -> first frame carrying it
            self.server.extra_paths.append({'key': 'stamp', 'type': 'integer', 'osc_address': '/scope/stamp',
                                            'description': 'written into frames (DREAMSTAGE_STAMP_FRAMES)'})
        self.out: OscSender | None = None
        if config.osc_out:
            self.set_out(config.osc_out)

    async def start(self) -> None:
        if self.wanted:
            await self.server.start()

    async def set_enabled(self, enabled: bool) -> None:
        """Scope's `POST /api/v1/osc/config`: listen or stop listening."""
        self.wanted = enabled
        if enabled:
            await self.server.start()
        else:
            self.server.stop()

    def stop(self) -> None:
        self.server.stop()
        if self.out is not None:
            self.out.close()

    def resolve(self, segment: str | None) -> list[Session]:
        """The sessions an address reaches."""
        running = self.sessions.running()
        if segment is None:
            return [s for s in running if s.kind in ('studio', 'ephemeral')]
        return [s for s in running
                if segment in (s.id, s.id[:8]) or (s.name is not None and segment == session_slug(s.name))]

    def deliver(self, session: Session, message: dict[str, Any]) -> None:
        """Apply (raises InvalidParameters); discrete changes wait for the beat when the session quantizes."""
        engine = self.engine_of(session)
        discrete = {key: value for key, value in message.items() if key in DISCRETE}
        if engine is not None and engine.quantize != 'none' and discrete:
            engine.apply(discrete, source='osc')
            message = {key: value for key, value in message.items() if key not in DISCRETE}
            if not message:
                return
        session.update(message, source='osc')

    def set_out(self, target: str | None) -> None:
        """Send the analysis to 'host:port' (None: stop sending)."""
        if self.out is not None:
            self.out.close()
            self.out = None
        if not target:
            return
        host, _, port = target.rpartition(':')
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidRequest(f'OSC out target {target!r} must be host:port')
        self.out = OscSender(host.strip('[]'), int(port))

    def send_out(self, engine: ControlEngine) -> None:
        """After a control tick: the session's features, beats and tempo to the OSC out target."""
        out = self.out
        if out is None:
            return
        session = engine.session
        state = engine.tempo.state(engine.last_tick or 0.0) if engine.tempo.enabled else None
        out.tick(session_slug(session.name) if session.name else session.id[:8], engine.values,
                 state.bpm if state is not None else None)

    def paths(self) -> dict[str, Any]:
        """Scope's path inventory: active (globals, the loaded pipeline, the graph inventory) and available."""
        loaded = self.manager.loaded_chain()
        active: dict[str, list[dict[str, Any]]] = {'Runtime': paths(None)}
        available: dict[str, list[dict[str, Any]]] = {}
        common = {entry['key'] for entry in paths(None)}
        for pipeline_id, spec in self.registry.specs.items():
            info = spec.info
            own = [entry for entry in paths(info) if entry['key'] not in common]
            if own:
                (active if pipeline_id in loaded else available)[pipeline_id] = [
                    {**entry, 'pipeline_id': pipeline_id} for entry in own]
        for entry in self.server.graph_inventory or []:
            active.setdefault(str(entry.get('group') or entry.get('node_id') or 'Graph'), []).append(entry)
        sessions = {'Sessions': [{'key': f'{slug}/<param>', 'type': 'any', 'description': f'a parameter of {slug}',
                                  'osc_address': f'/dreamstage/{slug}/<param>'} for slug in self.session_slugs()]}
        return {'active': active, 'available': available, 'active_pipeline_ids': loaded, 'dreamstage': sessions}

    def docs(self) -> str:
        return render(self.paths()['active'], self.server.port, self.session_slugs())

    def session_slugs(self) -> list[str]:
        return [session_slug(s.name) if s.name else s.id[:8] for s in self.sessions.running() if s.shared]

    def set_inventory(self, entries: list[dict[str, Any]]) -> int:
        """Scope's graph inventory: extra addresses (`/scope/<key>`) mapped onto parameters."""
        normalised = []
        for entry in entries:
            address = str(entry.get('osc_address') or '').strip()
            key = address[len('/scope/'):] if address.startswith('/scope/') else address.lstrip('/')
            if key:
                normalised.append({**entry, 'key': key, 'osc_address': f'/scope/{key}'})
        self.server.graph_inventory = normalised or None
        self.server.known_cache.clear()
        return len(normalised)

