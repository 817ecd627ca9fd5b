"""WebRTC connections to sessions: answering offers (a new session, or joining one), trickle ICE, hanging up."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from audio.output import ensure_audio_output
from config import Config
from pipeline.validation import InvalidParameters, check_parameters
from rtc.ice import announce_addresses
from rtc.offer import OfferError, add_candidate, answer_offer
from rtc.peers import Peer, PeerRegistry, SessionPeers

from .errors import InvalidRequest, NotFound, Unprocessable
from .sessions import SessionService

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Answer:
    """The server's answer to an offer and the peer it created."""

    sdp: str
    type: str
    peer: Peer


class ConnectionService:
    """Turns SDP offers into peers of sessions; every failure is a domain error with a clear message."""

    def __init__(self, config: Config, sessions: SessionService, peers: PeerRegistry) -> None:
        self.config = config
        self.sessions = sessions
        self.peers = peers

    async def offer(self, sdp: str, sdp_type: str, initial: dict[str, Any] | None = None, *,
                    session_id: str | None = None, token: str | None = None, label: str | None = None) -> Answer:
        """Answer an offer. Without `session_id` a new session streams the loaded pipeline (text mode, or video mode
        with a track); with it, the peer joins that session in the role its token grants."""
        initial = dict(initial or {})
        if session_id:
            session, role = self.sessions.join(session_id, token)
            try:
                initial = check_parameters(initial, session.pipeline.info) if role == 'control' else {}
            except InvalidParameters as error:
                raise Unprocessable(f'Invalid initialParameters: {error}') from None
            audience = self.sessions.admit(session)
            peer = await self._answer(sdp, sdp_type, audience, role=role, label=label)
            if initial:
                session.update(initial, source=peer.label)
        else:
            self.sessions.check_rendering_limit()
            session = self.sessions.create(initial)
            try:
                audience = self.sessions.admit(session)
                peer = await self._answer(sdp, sdp_type, audience, peer_id=session.id, label=label)
            except Exception:
                await self.sessions.end(session)
                raise
        description = peer.pc.localDescription
        return Answer(announce_addresses(description.sdp, self.config.ice_announce), description.type, peer)

    async def trickle(self, peer_id: str, candidates: list[tuple[str, str | None, int | None]]) -> None:
        """Add a client's ICE candidates, whether they come before or after it applied the answer."""
        peer = self.peers.get(peer_id)
        if peer is None:
            raise NotFound(f'Session {peer_id} not found')
        if peer.closed or peer.pc.connectionState in ('closed', 'failed'):
            raise NotFound(f'Session {peer_id} is closed or failed')
        for candidate, sdp_mid, sdp_mline_index in candidates:
            try:
                await add_candidate(peer, candidate, sdp_mid, sdp_mline_index)
            except OfferError as error:
                raise InvalidRequest(str(error)) from None

    async def hang_up(self, peer_id: str) -> None:
        """End a connection and free what it holds (unknown ids are ignored)."""
        peer = self.peers.get(peer_id)
        if peer is not None:
            await peer.close()

    async def _answer(self, sdp: str, sdp_type: str, audience: SessionPeers, **options: Any) -> Peer:
        if 'm=audio' in sdp:
            ensure_audio_output(audience.session)  # the peer gets a track that carries music once it plays
        try:
            return await answer_offer(sdp, sdp_type, audience, self.config, **options)
        except OfferError as error:
            raise InvalidRequest(str(error)) from None
