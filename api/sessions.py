"""Session metrics (Scope's `/api/v1/session/metrics` shape, plus transition progress and parameters)."""
from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from pipeline.session import Session
from rtc.stats import server_figures

from .context import ServerContext, get_context
from .session_links import create_named_session, links

router = APIRouter(prefix='/api/v1/session', tags=['sessions'])


@router.get('/metrics')
def session_metrics(context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """Frames, rates and the state of every running session."""
    return {'sessions': {session.id: metrics(session) for session in context.sessions.sessions.values()},
            'gpu': None, 'server': server_figures()}


def metrics(session: Session) -> dict[str, Any]:
    """One session's figures."""
    worker = session.worker
    elapsed = max(1e-6, time.monotonic() - session.created)
    conditioner = worker.conditioner
    progress = conditioner.progress if conditioner else None
    return {
        'pipeline_id': session.pipeline_id,
        'input_mode': session.input_mode,
        'frames_in': session.inputs.received,
        'frames_out': worker.frames,
        'elapsed_seconds': round(elapsed, 3),
        'fps_out': round(worker.frames / elapsed, 2),
        'generate_ms_per_chunk': round(1000 * worker.generate_seconds / max(1, worker.chunks), 3),
        'generate_cpu_seconds': round(worker.generate_cpu_seconds, 4),
        'paused': session.state.paused,
        'transition': {'step': progress[0], 'num_steps': progress[1]} if progress else None,
        'transitions_completed': conditioner.transitions_completed if conditioner else 0,
        'parameters_version': session.state.version,
        'parameters': session.state.snapshot(),
        'error': session.error,
    }


sessions_router = APIRouter(prefix='/api/v1/sessions', tags=['sessions'])


class NewSession(BaseModel):
    """A request for a session shared by link."""

    name: str | None = Field(default=None, max_length=80)
    initialParameters: dict[str, Any] | None = None


@sessions_router.post('', status_code=201)
async def create_session(body: NewSession, request: Request,
                         context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """Create a named session; returns its id, a control link and a view-only link (each with its token)."""
    try:
        session = create_named_session(context, body.name, body.initialParameters)
    except LookupError as error:
        raise HTTPException(400, str(error)) from None
    return {**summary(context, session), 'control_token': session.tokens['control'],
            'view_token': session.tokens['view'], **{f'{role}_url': url for role, url in
                                                     links(context, session, str(request.base_url)).items()}}


@sessions_router.get('')
def list_sessions(context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """Running sessions with who is connected (tokens are not listed)."""
    return {'sessions': [summary(context, s) for s in context.sessions.sessions.values() if not s.closed]}


@sessions_router.get('/{session_id}')
def session_detail(session_id: str, context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """One session: its viewers and controllers, parameters and the recent log of who changed what."""
    session = context.sessions.get(session_id)
    if session is None:
        raise HTTPException(404, f'Session {session_id} not found')
    log = [{'time': at, 'who': who, 'keys': keys} for at, who, keys in session.change_log]
    return {**summary(context, session), 'parameters': session.state.snapshot(), 'log': log}


@sessions_router.delete('/{session_id}', status_code=204)
async def end_session(session_id: str, context: ServerContext = Depends(get_context)) -> Response:
    """End a session: its peers get `stream_stopped`, its worker stops."""
    session = context.sessions.get(session_id)
    if session is None:
        raise HTTPException(404, f'Session {session_id} not found')
    session.close()
    await session.join()
    return Response(status_code=204)


def summary(context: ServerContext, session: Session) -> dict[str, Any]:
    """What a session list shows about one session."""
    peers = context.peers.of_session(session.id)
    attachment = context.peers.attachments.get(session.id)
    return {'id': session.id, 'name': session.name, 'pipeline_id': session.pipeline_id,
            'shared': not (attachment and attachment.ephemeral),
            'peers': [{'id': p.id, 'role': p.role, 'label': p.label} for p in peers],
            'viewers': sum(p.role == 'view' for p in peers), 'controllers': sum(p.role == 'control' for p in peers)}
