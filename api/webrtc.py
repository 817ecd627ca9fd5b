"""Scope's WebRTC signalling: ICE servers, offer/answer, trickle ICE and teardown."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from rtc.ice import ice_servers_body

from .context import Context

router = APIRouter(prefix='/api/v1/webrtc', tags=['webrtc'])
MAX_SDP = 256 * 1024


class Offer(BaseModel):
    """A client's SDP offer with the parameters the stream starts from."""

    sdp: str = Field(max_length=MAX_SDP)
    type: str
    initialParameters: dict[str, Any] | None = None
    user_id: str | None = None
    connection_id: str | None = None
    connection_info: dict[str, Any] | None = None


class Candidate(BaseModel):
    """One trickled ICE candidate."""

    candidate: str = Field(max_length=2048)
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None


class Candidates(BaseModel):
    """The body of a trickle ICE request."""

    candidates: list[Candidate] = Field(max_length=100)


@router.get('/ice-servers')
def ice_servers(context: Context) -> dict[str, Any]:
    """The STUN/TURN servers a client should use (empty unless configured)."""
    return ice_servers_body(context.config)


@router.post('/offer')
async def offer(body: Offer, context: Context, session: str | None = None, token: str | None = None,
                ) -> dict[str, str]:
    """Answer an offer: by default a new session streams the loaded pipeline (text mode, or video mode with a
    track); naming an existing session and its token (`session_id`/`session_token` in `initialParameters`, or
    `?session=&token=`) joins it instead, as a controller or a viewer."""
    initial = {k: v for k, v in (body.initialParameters or {}).items() if v is not None}
    join_id = initial.pop('session_id', None) or session
    join_token = initial.pop('session_token', None) or token
    label = str(initial.pop('client_label', '') or '')[:40] or None
    answer = await context.connections.offer(body.sdp, body.type, initial, session_id=str(join_id) if join_id else None,
                                             token=str(join_token) if join_token else None, label=label)
    if initial.get('recording') is True:  # Scope: `initialParameters.recording` records from the start
        await context.recordings.start(answer.peer.session)
    return {'sdp': answer.sdp, 'type': answer.type, 'sessionId': answer.peer.id}


@router.patch('/offer/{session_id}', status_code=204)
async def trickle(session_id: str, body: Candidates, context: Context) -> Response:
    """Add the client's ICE candidates, whether they come before or after it applied the answer."""
    await context.connections.trickle(session_id, [(c.candidate, c.sdpMid, c.sdpMLineIndex) for c in body.candidates])
    return Response(status_code=204)


@router.delete('/offer/{session_id}', status_code=204)
async def close_session(session_id: str, context: Context) -> Response:
    """End a session and free everything it holds (unknown ids are ignored)."""
    await context.connections.hang_up(session_id)
    return Response(status_code=204)
