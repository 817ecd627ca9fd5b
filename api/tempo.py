"""Tempo over REST, in Scope's shapes (`/api/v1/tempo/*`), with Dreamstage's extra sources (audio, internal)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from control.tempo_sync import TempoRequest

from .context import Context

router = APIRouter(prefix='/api/v1/tempo', tags=['tempo'])


class TempoEnableRequest(BaseModel):
    """Scope's request, plus `audio` (the music the audio engine plays or hears) and `internal` (by hand)."""

    source: Literal['link', 'midi_clock', 'audio', 'internal']
    midi_device: str | None = Field(default=None, description='midi_clock: the input port (default: any)')
    bpm: float = Field(default=120.0, ge=20.0, le=300.0, description='initial BPM (Link, internal)')
    beats_per_bar: int = Field(default=4, ge=1, le=16)
    session_id: str | None = Field(default=None, description='audio: whose audio engine (default: the last started)')


class TempoSetTempoRequest(BaseModel):
    bpm: float = Field(ge=20.0, le=300.0)


class TempoStatusResponse(BaseModel):
    """Scope's status: enabled, the source, beats per bar and the beat state."""

    enabled: bool
    source: dict[str, Any] | None = None
    beats_per_bar: int = 4
    beat_state: dict[str, Any] | None = None


class TempoSourcesResponse(BaseModel):
    sources: dict[str, Any]


@router.get('/status')
def tempo_status(context: Context) -> TempoStatusResponse:
    """The tempo source and where the beat is (bpm, beat_phase, bar_position, beat_count, is_playing)."""
    return TempoStatusResponse(**context.control.tempo.sync.status())


@router.post('/enable')
async def enable_tempo(request: TempoEnableRequest, context: Context) -> TempoStatusResponse:
    """Follow a tempo source (Link joins the local Link session)."""
    context.control.tempo.enable(TempoRequest(source=request.source, bpm=request.bpm,
                                              beats_per_bar=request.beats_per_bar, midi_device=request.midi_device,
                                              session_id=request.session_id))
    return tempo_status(context)


@router.post('/disable')
def disable_tempo(context: Context) -> TempoStatusResponse:
    context.control.tempo.sync.disable()
    return tempo_status(context)


@router.post('/set_tempo')
def set_tempo(request: TempoSetTempoRequest, context: Context) -> TempoStatusResponse:
    """Set the tempo (Link: the whole Link session follows; internal: ours); 400 for a MIDI clock or the music."""
    context.control.tempo.set_tempo(request.bpm)
    return tempo_status(context)


@router.get('/sources')
def tempo_sources(context: Context) -> TempoSourcesResponse:
    """Every tempo source and whether it can be used here."""
    return TempoSourcesResponse(sources=context.control.tempo.sync.sources())


@router.get('/analysis')
def song_analysis(path: str, context: Context) -> dict[str, Any]:
    """The librosa analysis of an audio asset (beat grid, downbeats, onset envelope, sections); started if needed."""
    return context.control.tempo.analysis(path)
