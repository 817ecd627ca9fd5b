"""Session metrics (Scope's `/api/v1/session/metrics` shape) and sessions shared by link."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from rtc.stats import server_figures
from services import reports

from .context import Context

router = APIRouter(prefix='/api/v1/session', tags=['sessions'])
sessions_router = APIRouter(prefix='/api/v1/sessions', tags=['sessions'])


@router.get('/metrics')
def session_metrics(context: Context) -> dict[str, Any]:
    """Frames, rates and the state of every running session."""
    return {'sessions': {session.id: reports.metrics(session) for session in context.sessions.running()},
            'gpu': None, 'server': server_figures()}


class NewSession(BaseModel):
    """A request for a session shared by link."""

    name: str | None = Field(default=None, max_length=80)
    initialParameters: dict[str, Any] | None = None


@sessions_router.post('', status_code=201)
async def create_session(body: NewSession, request: Request, context: Context) -> dict[str, Any]:
    """Create a named session; returns its id, a control link and a view-only link (each with its token).
    It renders from the moment someone watches it."""
    session = context.sessions.create(body.initialParameters, kind='named', name=body.name)
    links = context.sessions.links(session, str(request.base_url))
    return {**reports.summary(session, context.peers), 'control_token': session.tokens['control'],
            'view_token': session.tokens['view'], **{f'{role}_url': url for role, url in links.items()}}


@sessions_router.get('')
def list_sessions(context: Context) -> dict[str, Any]:
    """Running sessions with who is connected (tokens are not listed)."""
    return {'sessions': [reports.summary(session, context.peers) for session in context.sessions.running()]}


@sessions_router.get('/{session_id}')
def session_detail(session_id: str, context: Context) -> dict[str, Any]:
    """One session: its viewers and controllers, parameters and the recent log of who changed what."""
    return reports.detail(context.sessions.require(session_id), context.peers)


@sessions_router.delete('/{session_id}', status_code=204)
async def end_session(session_id: str, context: Context) -> Response:
    """End a session: its peers get `stream_stopped`, its worker stops."""
    await context.sessions.end(context.sessions.require(session_id))
    return Response(status_code=204)
