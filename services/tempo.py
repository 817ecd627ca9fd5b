"""The server's tempo as a service: Link, MIDI clock, the music (a song's analysed beat grid or live beats), by hand;
and the song analyses, made once per uploaded audio file."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audio.engine import AudioEngine
from audio.features import Features
from audio.sources import SourceSpec, asset_path
from control.analysis import AnalysisStore, SongAnalysis
from control.audio_tempo import AudioTempo
from control.link import LinkTempo
from control.midi_clock import MidiClockTempo
from control.tempo import TempoError
from control.tempo_sync import TempoRequest, TempoSync
from pipeline.session import Session

from .errors import InvalidRequest, NotFound, ServiceError

log = logging.getLogger(__name__)
AUDIO_SUFFIXES = {'.wav', '.mp3', '.flac', '.ogg', '.m4a', '.aac', '.opus'}


class TempoUnavailable(ServiceError):
    """A tempo source that cannot be used here (a missing package, no MIDI system, a tempo it does not take)."""


class TempoService:
    """Owns `TempoSync`; the audio engines feed the audio source, MIDI ports the MIDI clock."""

    def __init__(self, assets_dir: Path, clock: Callable[[], float], midi_status: Callable[[], dict[str, Any]]) -> None:
        self.assets_dir = assets_dir
        self.clock = clock
        self.midi_status = midi_status
        self.audio = AudioTempo(lambda: self.audio_session or 'no audio engine yet')
        self.audio_session: str | None = None  # whose audio engine the audio source follows
        self.midi_clock: MidiClockTempo | None = None
        self.sync = TempoSync(clock, factories={'link': self._link, 'midi_clock': self._midi_clock,
                                                'audio': self._audio}, availability=self._availability)
        self.analyses = AnalysisStore(assets_dir / '.analysis')
        self.analysing: dict[str, str] = {}  # asset path -> 'running' | 'done' | 'failed: ...'
        self.lock = threading.Lock()

    # --- Scope's /api/v1/tempo ---

    def enable(self, request: TempoRequest) -> None:
        try:
            self.sync.enable(request)
        except TempoError as error:
            raise TempoUnavailable(str(error)) from None

    def set_tempo(self, bpm: float) -> None:
        try:
            self.sync.set_tempo(bpm)
        except TempoError as error:
            raise TempoUnavailable(str(error)) from None

    # --- the audio engines ---

    def audio_started(self, session: Session, engine: AudioEngine, spec: SourceSpec) -> None:
        """A session's audio engine starts: the audio source follows it; a song plays on its analysed grid."""
        self.audio_session = session.id
        self.audio.anchor = None
        self.audio.follow_song(None, None)
        if spec.kind != 'file' or engine.source.playback is None:
            return
        path = asset_path(self.assets_dir, spec.path)
        playback = engine.source.playback

        def follow(song: SongAnalysis) -> None:
            if self.audio_session == session.id and engine.source.playback is playback:
                self.audio.follow_song(song, playback, spec.loop)

        self.analyse(path, then=follow)

    def audio_tick(self, session: Session, features: Features, now: float) -> None:
        if session.id == self.audio_session:
            self.audio.feed(features, now)

    def audio_stopped(self, session_id: str) -> None:
        if session_id == self.audio_session:
            self.audio.follow_song(None, None)
            self.audio.anchor = None

    # --- song analysis ---

    def uploaded(self, path: Path) -> None:
        """An upload was stored: audio files are analysed in the background."""
        if path.suffix.lower() in AUDIO_SUFFIXES:
            self.analyse(path)

    def analyse(self, path: Path, then: Callable[[SongAnalysis], None] | None = None) -> None:
        """Analyse a file in a background thread (at once from the cache when it was analysed before)."""
        cached = self.analyses.get(path)
        if cached is not None:
            if then is not None:
                then(cached)
            return
        key = self._key(path)
        with self.lock:
            if self.analysing.get(key) == 'running' and then is None:
                return
            self.analysing[key] = 'running'

        def work() -> None:
            try:
                song = self.analyses.analyse(path)
            except Exception as error:  # a damaged file, an odd codec: the live analysis still works
                log.warning('cannot analyse %s: %s', path.name, error)
                self.analysing[key] = f'failed: {error}'
                return
            self.analysing[key] = 'done'
            if then is not None:
                then(song)

        threading.Thread(target=work, name=f'analyse-{path.name[:20]}', daemon=True).start()

    def analysis(self, name: str) -> dict[str, Any]:
        """The analysis of an audio asset: its state, and the result once there is one (starts it if needed)."""
        try:
            path = asset_path(self.assets_dir, name)
        except ValueError as error:
            raise (NotFound if getattr(error, 'status', 400) == 404 else InvalidRequest)(str(error)) from None
        song = self.analyses.get(path)
        if song is None:
            self.analyse(path)
        state = 'done' if song is not None else self.analysing.get(self._key(path), 'running')
        return {'path': name, 'state': state, 'analysis': song.to_dict() if song is not None else None}

    # --- sources ---

    def _link(self, request: TempoRequest, now: float) -> LinkTempo:
        return LinkTempo(request.bpm, request.beats_per_bar)

    def _midi_clock(self, request: TempoRequest, now: float) -> MidiClockTempo:
        status = self.midi_status()
        if not status.get('available') and not status.get('browser'):
            raise TempoError(f"MIDI clock needs MIDI input: {status.get('reason')}")
        self.midi_clock = MidiClockTempo(request.midi_device)
        return self.midi_clock

    def _audio(self, request: TempoRequest, now: float) -> AudioTempo:
        if request.session_id:
            self.audio_session = request.session_id
        return self.audio

    def _availability(self) -> dict[str, Any]:
        midi = self.midi_status()
        return {'midi_clock': {'available': bool(midi.get('available') or midi.get('browser')),
                               'devices': midi.get('ports', []), 'reason': midi.get('reason')},
                'audio': {'following': self.audio_session}}

    def _key(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.assets_dir.resolve()).as_posix()
        except ValueError:
            return str(path)
