"""WHIP publishers and WHEP players of Daydream streams: answering offers, trickle ICE, hanging up."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from config import Config
from rtc.ice import announce_addresses
from rtc.ingest_stats import ingest_stats
from rtc.offer import OfferError, answer_offer
from rtc.peers import Peer, PeerRegistry
from rtc.whip import (
    SDP,
    SDP_FRAGMENT,
    WhipError,
    answer_publisher,
    check_content_type,
    check_offer,
    parse_fragment,
    remote_ufrag,
)

from .connections import ConnectionService
from .errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    NotYet,
    PreconditionFailed,
    ServiceError,
    Unprocessable,
    UnsupportedMediaType,
)
from .sessions import SessionService
from .streams import Stream, StreamService

log = logging.getLogger(__name__)
WARM_UP = 15.0  # seconds a player's first request keeps a sleeping stream rendering, so its first frame comes
ERRORS: dict[int, type[ServiceError]] = {400: InvalidRequest, 415: UnsupportedMediaType, 422: Unprocessable}


class WhipService:
    """One publisher per stream (its video drives the stream's video-to-video); any number of players, up to the
    session's viewer cap, all fed by the session's one H.264 encode."""

    def __init__(self, config: Config, streams: StreamService, sessions: SessionService, peers: PeerRegistry,
                 connections: ConnectionService) -> None:
        self.config = config
        self.streams = streams
        self.sessions = sessions
        self.peers = peers
        self.connections = connections

    async def publish(self, stream: Stream, offer: str, content_type: str | None) -> Peer:
        """Answer a WHIP offer (409 when the stream already has a publisher)."""
        self._check(offer, content_type)
        if stream.live:
            raise Conflict(f'Stream {stream.id} already has a publisher: stop it (DELETE its WHIP resource) first')
        if stream.status == 'error':
            raise Conflict(f'Stream {stream.id} cannot run: {stream.error}')
        audience = self.sessions.admit(stream.session)
        try:
            peer = await answer_publisher(offer, audience, self.config, label=f'whip-{stream.id[4:10]}')
        except OfferError as error:
            raise InvalidRequest(str(error)) from None
        stream.publisher = peer
        await self.streams.reconcile(stream)
        return peer

    async def play(self, stream: Stream, offer: str, content_type: str | None) -> Peer:
        """Answer a WHEP offer; NotYet (404, Retry-After) until the stream's first frame exists."""
        self._check(offer, content_type)
        session = stream.session
        if session.bus.latest is None:
            self._warm_up(stream)
            raise NotYet(f'Stream {stream.id} has no output yet; try again in a second')
        audience = self.sessions.admit(session)
        try:
            return await answer_offer(offer, 'offer', audience, self.config, role='view',
                                      label=f'whep-{len(audience.peers) + 1}', prefer='h264')
        except OfferError as error:
            raise InvalidRequest(str(error)) from None

    async def trickle(self, stream: Stream, resource_id: str, fragment_text: str, content_type: str | None,
                      if_match: str | None) -> None:
        """Add a trickle ICE fragment's candidates (422 for an ICE restart, which aiortc cannot do)."""
        peer = self.resource(stream, resource_id)
        try:
            check_content_type(content_type, SDP_FRAGMENT)
            fragment = parse_fragment(fragment_text)
        except WhipError as error:
            raise ERRORS.get(error.status, InvalidRequest)(str(error)) from None
        if if_match not in (None, '*', etag(peer)):
            raise PreconditionFailed('If-Match names another ICE session of this resource')
        ufrag = remote_ufrag(peer)
        if fragment.ufrag is not None and ufrag is not None and fragment.ufrag != ufrag:
            raise Unprocessable('ICE restarts are not supported: start a new session (POST the endpoint again)')
        candidates: list[tuple[str, str | None, int | None]] = [(text, mid, None) for text, mid in fragment.candidates]
        if fragment.end_of_candidates:
            candidates.append(('', None, None))
        await self.connections.trickle(peer.id, candidates)

    async def hang_up(self, stream: Stream, resource_id: str) -> None:
        """End a publisher's or player's session."""
        peer = self.resource(stream, resource_id)
        await peer.close()
        if stream.publisher is peer:
            stream.publisher = None
            await self.streams.reconcile(stream)

    def answer(self, peer: Peer) -> str:
        """The SDP answer of a peer, with the announced addresses (a pod's public IP) added."""
        return announce_addresses(peer.pc.localDescription.sdp, self.config.ice_announce)

    async def ingest_stats(self, stream: Stream) -> dict[str, Any] | None:
        """The publisher's `getStats()` figures (None without a publisher)."""
        publisher = stream.publisher
        if publisher is None or publisher.closed:
            return None
        try:
            return await ingest_stats(publisher.pc, publisher.id)
        except Exception:
            log.exception('stream %s: reading the ingest stats failed', stream.id)
            return None

    def resource(self, stream: Stream, resource_id: str) -> Peer:
        """A WHIP or WHEP session of this stream, or NotFound."""
        peer = self.peers.get(resource_id)
        if peer is None or peer.session is not stream.session or peer.closed:
            raise NotFound(f'No WHIP/WHEP session {resource_id[:40]} on stream {stream.id}')
        return peer

    def _check(self, offer: str, content_type: str | None) -> None:
        try:
            check_content_type(content_type, SDP)
            check_offer(offer)
        except WhipError as error:
            raise ERRORS.get(error.status, InvalidRequest)(str(error)) from None

    def _warm_up(self, stream: Stream) -> None:
        """Make a sleeping stream render for a while, so a player asking again finds a frame."""
        audience = self.peers.attachment(stream.session)
        member = f'warmup-{stream.id}'
        if member not in audience.members:
            audience.add_member(member, 'warm-up')
            asyncio.get_running_loop().call_later(WARM_UP, audience.remove_member, member)


def etag(peer: Peer) -> str:
    """The entity tag of a WHIP/WHEP resource (its ICE session)."""
    return f'"{peer.id}"'
