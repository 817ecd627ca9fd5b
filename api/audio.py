"""The audio-reactive engine over REST: start/stop per session, source, preset, live features, saved presets."""
from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from audio.engine import AudioEngine
from audio.presets import Preset
from audio.sources import SourceSpec, device_status
from pipeline.session import Session
from services.context import ServerContext
from services.errors import Conflict
from services.presets import PresetNotFound

from .context import Context

router = APIRouter(prefix='/api/v1/audio', tags=['audio'])
SessionId = Annotated[str, Path(description='id of a running session (the `sessionId` of the offer answer)')]


class FeatureValues(BaseModel):
    """What the engine heard in its latest tick; levels are 0..1 after adaptive normalisation."""

    energy: float
    rms: float = Field(description='raw RMS level, full scale 1')
    bass: float
    mid: float
    treble: float
    centroid_hz: float
    flatness: float
    onset: float
    bpm: float | None
    confidence: float = Field(description='how periodic the onsets are (0..1)')
    beat: bool = Field(description='a beat fell in the latest tick')
    beat_count: int
    seconds: float = Field(description='seconds of audio analysed')


class SourceStatus(BaseModel):
    """The source being listened to."""

    kind: str
    description: str
    position_seconds: float | None = None
    duration_seconds: float | None = None
    received_seconds: float | None = None
    last_received_ago: float | None = None


class ClockFigures(BaseModel):
    """The loop's clock: ticks so far, ticks skipped, mean period and p99 jitter of recent ticks (ms)."""

    ticks: int
    missed: int
    period_mean_ms: float | None
    jitter_p99_ms: float | None


class AudioStatus(BaseModel):
    """The audio engine of one session."""

    session_id: str
    running: bool
    source: SourceStatus | None = None
    preset: str | None = None
    features: FeatureValues | None = None
    words: list[str] = Field(default_factory=list, description='descriptor words the preset adds to the prompt now')
    messages_sent: int = 0
    last_message: dict[str, Any] = Field(default_factory=dict, description='the last `parameters` message sent')
    clock: ClockFigures | None = None
    analysis_ms_mean: float | None = None
    analysis_ms_p99: float | None = None
    started_at: float | None = Field(default=None, description='Unix time the engine started')
    error: str | None = None


class StartRequest(BaseModel):
    """What to listen to and how to map it; starting again replaces the running engine."""

    source: SourceSpec
    preset: str | None = Field(default=None, description="a preset by name (default 'soundscape')")
    preset_config: Preset | None = Field(default=None, description='or a whole preset, e.g. edited and not saved')
    stamp_beats: bool = Field(default=False, description="benchmarks: a beat's message carries 'stamp', the audio "
                                                         'position in ms (frames show it with DREAMSTAGE_STAMP_FRAMES)')


class PresetChoice(BaseModel):
    """A preset for a running engine: by name, or a whole preset."""

    name: str | None = None
    preset: Preset | None = None


class PresetList(BaseModel):
    """Every preset: the built-in ones first, then the saved ones."""

    presets: list[Preset]
    builtin: list[str]


class DeviceInfo(BaseModel):
    """Whether server-side input devices can be used (the optional sounddevice package)."""

    available: bool
    reason: str | None = None
    devices: list[str] = Field(default_factory=list)


class SourceOptions(BaseModel):
    """What can be listened to on this server."""

    kinds: list[str]
    assets: list[str] = Field(description='audio assets, as paths relative to the assets folder')
    device: DeviceInfo


@router.get('/sources')
def sources(context: Context) -> SourceOptions:
    """The source kinds, the audio assets to choose from, and the input devices (if sounddevice is installed)."""
    return SourceOptions(kinds=['file', 'test', 'microphone', 'device'], assets=context.assets.audio_files(),
                         device=DeviceInfo(**device_status()))


@router.get('/sessions')
def list_engines(context: Context) -> list[AudioStatus]:
    """The audio engines of the running sessions."""
    service = context.audio
    return [status_of(session.id, engine) for session in context.sessions.running()
            if (engine := service.get(session.id)) is not None]


@router.get('/sessions/{session_id}')
def engine_status(session_id: SessionId, context: Context) -> AudioStatus:
    """A session's audio engine: running or not, its source, preset, current features and clock figures."""
    running_session(context, session_id)
    return status_of(session_id, context.audio.get(session_id))


@router.post('/sessions/{session_id}/start')
async def start_engine(session_id: SessionId, request: StartRequest, context: Context) -> AudioStatus:
    """Start the audio loop of a session (or restart it with another source or preset)."""
    session = running_session(context, session_id)
    preset = request.preset_config or request.preset
    engine = await asyncio.to_thread(context.audio.start, session, request.source, preset, request.stamp_beats)
    return status_of(session_id, engine)


@router.post('/sessions/{session_id}/stop')
async def stop_engine(session_id: SessionId, context: Context) -> AudioStatus:
    """Stop the audio loop of a session; the prompt and parameters it changed go back to where they were."""
    running_session(context, session_id)
    engine = await asyncio.to_thread(context.audio.stop, session_id)
    return status_of(session_id, engine)


@router.put('/sessions/{session_id}/preset')
def choose_preset(session_id: SessionId, choice: PresetChoice, context: Context) -> AudioStatus:
    """Switch a running engine to another preset (from the next tick)."""
    running_session(context, session_id)
    engine = context.audio.get(session_id)
    if engine is None or not engine.running:
        raise Conflict('audio is not running for this session; start it first')
    engine.use_preset(choice.preset or context.audio.preset(choice.name))
    return status_of(session_id, engine)


@router.get('/presets')
def list_presets(context: Context) -> PresetList:
    """The built-in presets and the saved ones."""
    store = context.audio.presets
    return PresetList(presets=store.all(), builtin=[name for name in store.names() if store.is_builtin(name)])


@router.get('/presets/{name}')
def get_preset(name: str, context: Context) -> Preset:
    """One preset."""
    return context.audio.preset(name)


@router.put('/presets/{name}')
def save_preset(name: str, preset: Preset, context: Context) -> Preset:
    """Save a preset under a name (letters, digits, - and _; built-in names are taken)."""
    return context.audio.save_preset(name, preset)


@router.delete('/presets/{name}', status_code=204)
def delete_preset(name: str, context: Context) -> Response:
    """Delete a saved preset."""
    if not context.audio.presets.delete(name):
        raise PresetNotFound(f'no saved preset {name!r}')
    return Response(status_code=204)


def running_session(context: ServerContext, session_id: str) -> Session:
    """The session, or NotFound."""
    session = context.sessions.get(session_id)
    if session is None:
        context.audio.forget(session_id)
    return context.sessions.require(session_id)


def status_of(session_id: str, engine: AudioEngine | None) -> AudioStatus:
    if engine is None:
        return AudioStatus(session_id=session_id, running=False)
    return AudioStatus(session_id=session_id, **engine.status())
