"""The audio engines of one server: at most one per session, started and stopped by REST or the studio."""
from __future__ import annotations

import threading
from pathlib import Path

from audio.engine import AudioEngine
from audio.presets import BUILTIN, Preset
from audio.sources import SourceError, SourceSpec, open_source
from pipeline.session import Session

from .errors import ServiceError
from .presets import PresetStore, preset_key


class AudioSourceError(ServiceError):
    """An audio source that cannot be opened (a missing file, a path outside the assets, no device)."""


class AudioService:
    """Starts, swaps and stops engines by session id, and keeps the preset store."""

    def __init__(self, assets_dir: Path, presets_dir: Path) -> None:
        self.assets_dir = assets_dir
        self.presets = PresetStore(presets_dir, Preset, BUILTIN)
        self.engines: dict[str, AudioEngine] = {}
        self.lock = threading.Lock()

    def start(self, session: Session, spec: SourceSpec, preset: Preset | str | None = None,
              stamp_beats: bool = False) -> AudioEngine:
        """Start (or restart) a session's engine with a source and a preset (blocking: a file is opened)."""
        chosen = self.preset(preset) if not isinstance(preset, Preset) else preset
        try:
            source = open_source(spec, session, self.assets_dir)
        except SourceError as error:
            failure = AudioSourceError(str(error))
            failure.status = error.status
            raise failure from None
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
        return self.presets.require(name or 'soundscape')

    def save_preset(self, name: str, preset: Preset) -> Preset:
        """Save a preset under (the key of) `name`; returns it as saved."""
        saved = preset.model_copy(update={'name': preset_key(name)})
        self.presets.save(saved.name, saved)
        return saved

    def stop_all(self) -> None:
        for session_id in list(self.engines):
            self.stop(session_id)

