"""Scope's WebRTC signalling: ICE servers, offer/answer, trickle ICE and teardown."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field, ValidationError

from audio.output import ensure_audio_output
from pipeline.parameters import Parameters
from pipeline.session import Session
from rtc.ice import announce_addresses, ice_servers_body
from rtc.offer import OfferError, add_candidate, answer_offer
from rtc.peers import Peer, Role, SessionPeers

from .access import check_peer_limit, check_session_limit, issue_tokens, role_of
from .context import ServerContext, get_context

log = logging.getLogger(__name__)
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
def ice_servers(context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """The STUN/TURN servers a client should use (empty unless configured)."""
    return ice_servers_body(context.config)


@router.post('/offer')
async def offer(body: Offer, session: str | None = None, token: str | None = None,
                context: ServerContext = Depends(get_context)) -> dict[str, str]:
    """Answer an offer: by default a new session streams the loaded pipeline (text mode, or video mode with a
    track); naming an existing session and its token (`session_id`/`session_token` in `initialParameters`, or
    `?session=&token=`) joins it instead, as a controller or a viewer."""
    initial = {k: v for k, v in (body.initialParameters or {}).items() if v is not None}
    join_id = initial.pop('session_id', None) or session
    join_token = initial.pop('session_token', None) or token
    label = str(initial.pop('client_label', '') or '')[:40] or None
    try:
        Parameters.model_validate(initial)
    except ValidationError as error:
        raise HTTPException(422, [{'loc': ['body', 'initialParameters', *e['loc']], 'msg': e['msg'],
                                   'type': e['type']} for e in error.errors()]) from None
    if join_id:
        target, role = join_session(context, str(join_id), join_token)
        attachment = context.peers.attachment(target, ephemeral=False)
        check_peer_limit(context, attachment)
        peer = await answer_or_400(body, attachment, context, role=role, label=label)
        if role == 'control' and initial:
            attachment.update(initial, peer.label)
    else:
        check_session_limit(context)
        new_session = start_session(context, initial)
        attachment = context.peers.attachment(new_session, ephemeral=True)
        try:
            peer = await answer_or_400(body, attachment, context, peer_id=new_session.id, label=label)
        except HTTPException:
            new_session.close()
            raise
        context.sessions.add(new_session)
        new_session.start()
    description = peer.pc.localDescription
    sdp = announce_addresses(description.sdp, context.config.ice_announce)
    return {'sdp': sdp, 'type': description.type, 'sessionId': peer.id}


def start_session(context: ServerContext, initial: dict[str, Any]) -> Session:
    """A new session on the loaded pipeline (or the one `pipeline_ids` names), not started yet."""
    pipeline_ids = initial.get('pipeline_ids') or context.manager.loaded_chain()
    if context.manager.status()['status'] != 'loaded' or not pipeline_ids:
        raise HTTPException(400, 'Pipeline not loaded. Please load pipeline first.')
    pipeline_id = pipeline_ids[-1]
    pipeline = context.manager.instance(pipeline_id)
    if pipeline is None:
        raise HTTPException(400, f"Pipeline '{pipeline_id}' is not loaded. Loaded: {context.manager.loaded_chain()}")
    session = Session(pipeline, pipeline_id=pipeline_id, input_mode=initial.get('input_mode'), initial=initial,
                      stamp_frames=context.config.stamp_frames)
    issue_tokens(session)
    return session


async def answer_or_400(body: Offer, attachment: SessionPeers, context: ServerContext, **options: Any) -> Peer:
    if 'm=audio' in body.sdp:
        ensure_audio_output(attachment.session)  # the peer gets a track that carries music once it plays
    try:
        return await answer_offer(body.sdp, body.type, attachment, context.config, **options)
    except OfferError as error:
        raise HTTPException(400, str(error)) from None


def join_session(context: ServerContext, session_id: str, token: str | None) -> tuple[Session, Role]:
    """The session to join and the role its token grants (404 unknown, 403 wrong token)."""
    target = context.sessions.get(session_id)
    if target is None or target.closed:
        raise HTTPException(404, f'Session {session_id} not found')
    role = role_of(target, token)
    if role is None:
        raise HTTPException(403, 'This session needs its control or view token to join')
    return target, role


@router.patch('/offer/{session_id}', status_code=204)
async def trickle(session_id: str, body: Candidates, context: ServerContext = Depends(get_context)) -> Response:
    """Add the client's ICE candidates, whether they come before or after it applied the answer."""
    peer = context.peers.get(session_id)
    if peer is None:
        raise HTTPException(404, f'Session {session_id} not found')
    if peer.closed or peer.pc.connectionState in ('closed', 'failed'):
        raise HTTPException(404, f'Session {session_id} is closed or failed')
    for candidate in body.candidates:
        try:
            await add_candidate(peer, candidate.candidate, candidate.sdpMid, candidate.sdpMLineIndex)
        except OfferError as error:
            raise HTTPException(400, str(error)) from None
    return Response(status_code=204)


@router.delete('/offer/{session_id}', status_code=204)
async def close_session(session_id: str, context: ServerContext = Depends(get_context)) -> Response:
    """End a session and free everything it holds (unknown ids are ignored)."""
    peer = context.peers.get(session_id)
    if peer is not None:
        await peer.close()
    return Response(status_code=204)

