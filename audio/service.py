"""The audio engines of one server: at most one per session, started and stopped by REST or the studio."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import AudioEngine
from .presets import Preset, PresetNotFound, PresetStore
from .sources import SourceSpec, open_source

if TYPE_CHECKING:
    from api.context import ServerContext

PRESETS_FOLDER = 'audio_presets'


class AudioService:
    """Starts, swaps and stops engines by session id, and keeps the preset store."""

    def __init__(self, assets_dir: Path, presets_dir: Path) -> None:
        self.assets_dir = assets_dir
        self.presets = PresetStore(presets_dir)
        self.engines: dict[str, AudioEngine] = {}
        self.lock = threading.Lock()

    def start(self, session: Any, spec: SourceSpec, preset: Preset | str | None = None,
              stamp_beats: bool = False) -> AudioEngine:
        """Start (or restart) a session's engine with a source and a preset (blocking: a file is opened)."""
        chosen = self.preset(preset) if not isinstance(preset, Preset) else preset
        source = open_source(spec, session, self.assets_dir)
        with self.lock:
            previous = self.engines.pop(session.id, None)
        if previous is not None:
            previous.stop(restore=False)  # the new engine takes over its prompt words and start values
        engine = AudioEngine(session, source, chosen, stamp_beats=stamp_beats,
                             previous=previous.mapper if previous is not None else None)
        with self.lock:
            self.engines[session.id] = engine
        engine.start()
        return engine

    def stop(self, session_id: str) -> AudioEngine | None:
        """Stop a session's engine (blocking for at most a tick); the stopped engine, or None if none ran."""
        with self.lock:
            engine = self.engines.pop(session_id, None)
        if engine is not None:
            engine.stop()
        return engine

    def get(self, session_id: str) -> AudioEngine | None:
        """The session's engine, running or stopped by itself (at the end of a file, or when its session closed)."""
        with self.lock:
            return self.engines.get(session_id)

    def forget(self, session_id: str) -> None:
        """Drop a stopped engine of a session that is gone."""
        with self.lock:
            engine = self.engines.get(session_id)
            if engine is not None and not engine.running:
                del self.engines[session_id]

    def preset(self, name: str | None) -> Preset:
        """A preset by name (default: soundscape); PresetNotFound when there is none."""
        preset = self.presets.get(name or 'soundscape')
        if preset is None:
            raise PresetNotFound(f'no preset {name!r}')
        return preset

    def stop_all(self) -> None:
        for session_id in list(self.engines):
            self.stop(session_id)


_services: dict[int, AudioService] = {}


def audio_service(context: ServerContext) -> AudioService:
    """The server's audio service (one per server context); presets live next to the models folder."""
    service = _services.get(id(context))
    if service is None:
        config = context.config
        service = AudioService(config.assets_dir, config.models_dir.parent / PRESETS_FOLDER)
        _services[id(context)] = service
    return service
