"""The modulation matrix over REST: routes, LFOs, quantized changes, latency compensation, the XY pad, MIDI learn,
saved matrices, and a live status with a meter per route."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from control.lfo import Lfo
from control.routes import Route
from control.tempo import QuantizeMode
from services.control import MatrixPreset
from services.errors import InvalidRequest
from services.presets import PresetNotFound, preset_key

from .context import Context

router = APIRouter(prefix='/api/v1/modulation', tags=['modulation'])
SessionId = Annotated[str, Path(description='id of a running session')]


class Routes(BaseModel):
    routes: list[Route] = Field(max_length=64)


class Lfos(BaseModel):
    lfos: list[Lfo] = Field(max_length=16)


class Settings(BaseModel):
    """How discrete changes are quantized, and how early beat-synced changes fire."""

    quantize: QuantizeMode | None = Field(default=None, description='for OSC, MIDI and REST changes of prompts, '
                                                                    'seeds, cache resets...')
    compensate: bool | None = Field(default=None, description='fire beat-synced changes early by the measured '
                                                              'control-to-frame latency')
    trim_ms: float | None = Field(default=None, ge=-500, le=500, description='added to the lead, by hand')
    stamp_beats: bool | None = Field(default=None, description="benchmarks: beat pulses carry 'stamp'")


class Schedule(BaseModel):
    """A change to apply now or on the next boundary."""

    parameters: dict[str, Any]
    quantize: QuantizeMode | None = Field(default=None, description="default: the session's quantize setting")


class XY(BaseModel):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class Learn(BaseModel):
    """Arm MIDI learn for a target (null cancels), or map the control moved last (`last_moved`)."""

    target: str | None = None
    last_moved: bool = False


@router.get('/sessions/{session_id}')
def status(session_id: SessionId, context: Context) -> dict[str, Any]:
    """Routes with live meters (source value, output, ok / waiting / missing target / disabled), LFOs, targets,
    the measured latency and lead, pending quantized changes, refused changes and the tempo."""
    return context.control.status(session_id)


@router.get('/sessions/{session_id}/sources')
def sources(session_id: SessionId, context: Context) -> dict[str, str]:
    """Every source the matrix can read: audio features, tempo pulses and phases, LFOs, OSC, MIDI, the XY pad."""
    return context.control.sources(session_id)


@router.get('/sessions/{session_id}/routes')
def get_routes(session_id: SessionId, context: Context) -> Routes:
    return Routes(routes=context.control.engine_for(session_id).user_routes)


@router.put('/sessions/{session_id}/routes')
def put_routes(session_id: SessionId, body: Routes, context: Context) -> Routes:
    """Replace the routes (the running audio preset's routes stay; they belong to the preset)."""
    return Routes(routes=context.control.set_routes(session_id, body.routes))


@router.post('/sessions/{session_id}/routes')
def add_route(session_id: SessionId, route: Route, context: Context) -> Routes:
    """Add a route (or replace the one with its id)."""
    return Routes(routes=context.control.add_route(session_id, route))


@router.delete('/sessions/{session_id}/routes/{route_id}', status_code=204)
def delete_route(session_id: SessionId, route_id: str, context: Context) -> Response:
    context.control.delete_route(session_id, route_id)
    return Response(status_code=204)


@router.put('/sessions/{session_id}/lfos')
def put_lfos(session_id: SessionId, body: Lfos, context: Context) -> Lfos:
    return Lfos(lfos=context.control.set_lfos(session_id, body.lfos))


@router.put('/sessions/{session_id}/settings')
def put_settings(session_id: SessionId, settings: Settings, context: Context) -> dict[str, Any]:
    engine = context.control.engine_for(session_id)
    if settings.quantize is not None:
        engine.quantize = settings.quantize
    if settings.compensate is not None:
        engine.latency.compensate = settings.compensate
    if settings.trim_ms is not None:
        engine.latency.trim_ms = settings.trim_ms
    if settings.stamp_beats is not None:
        engine.stamp_beats = settings.stamp_beats
    return {'quantize': engine.quantize, 'stamp_beats': engine.stamp_beats, **engine.latency.to_dict()}


@router.post('/sessions/{session_id}/schedule')
def schedule(session_id: SessionId, body: Schedule, context: Context) -> dict[str, str]:
    """Apply parameters now, or on the next beat / bar / 2 / 4 bars (fired early by the lead)."""
    return {'result': context.control.schedule(session_id, body.parameters, body.quantize)}


@router.put('/sessions/{session_id}/xy')
def xy(session_id: SessionId, body: XY, context: Context) -> dict[str, float]:
    """Move the session's XY pad (sources xy.x and xy.y)."""
    context.control.set_xy(session_id, body.x, body.y)
    return {'x': body.x, 'y': body.y}


@router.post('/sessions/{session_id}/learn')
def learn(session_id: SessionId, body: Learn, context: Context) -> dict[str, Any]:
    """MIDI learn: arm a target and move a control, or move a control first and send `last_moved`."""
    if body.last_moved:
        if body.target is None:
            raise InvalidRequest('last_moved needs a target')
        context.control.map_last_moved(session_id, body.target)
        return context.control.learn_state(session_id)
    return context.control.learn(session_id, body.target)


@router.get('/presets')
def list_presets(context: Context) -> list[MatrixPreset]:
    return context.control.presets.all()


@router.put('/presets/{name}')
def save_preset(name: str, preset: MatrixPreset, context: Context) -> MatrixPreset:
    """Save a matrix (routes, LFOs, quantize) under a name."""
    saved = preset.model_copy(update={'name': preset_key(name)})
    context.control.presets.save(saved.name, saved)
    return saved


@router.get('/presets/{name}')
def get_preset(name: str, context: Context) -> MatrixPreset:
    return context.control.presets.require(name)


@router.delete('/presets/{name}', status_code=204)
def delete_preset(name: str, context: Context) -> Response:
    if not context.control.presets.delete(name):
        raise PresetNotFound(f'no saved matrix {name!r}')
    return Response(status_code=204)


@router.post('/sessions/{session_id}/presets/{name}/load')
def load_preset(session_id: SessionId, name: str, context: Context) -> dict[str, Any]:
    """Put a saved matrix on a session."""
    context.control.load_preset(session_id, name)
    return context.control.status(session_id)


@router.post('/sessions/{session_id}/presets/{name}/save')
def save_session_preset(session_id: SessionId, name: str, context: Context) -> MatrixPreset:
    """Save a session's matrix under a name."""
    return context.control.save_preset(session_id, name)
