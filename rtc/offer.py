"""Answering an offer: a peer connection joined to a session, its video track added before the answer."""
from __future__ import annotations

import logging

from aiortc import RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from config import Config

from .ice import rtc_configuration
from .peers import Peer, Role, SessionPeers

log = logging.getLogger(__name__)


class OfferError(ValueError):
    """An offer or candidate the server cannot use (malformed SDP, no video section...)."""


async def answer_offer(sdp: str, sdp_type: str, attachment: SessionPeers, config: Config, *, role: Role = 'control',
                       peer_id: str | None = None, label: str | None = None, prefer: str | None = None) -> Peer:
    """Create the peer for a client offer; the answer is in `peer.pc.localDescription`. `prefer` ('h264') puts that
    codec first when the client offers it (WHEP players share the session's H.264 encode with its muxers)."""
    if sdp_type != 'offer':
        raise OfferError(f"type must be 'offer', not {sdp_type!r}")
    if 'm=video' not in sdp:
        raise OfferError('the offer has no video section (add a video transceiver or track)')
    pc = RTCPeerConnection(rtc_configuration(config))
    peer = Peer(pc, attachment, role, label)
    if peer_id:
        peer.id = peer_id
    session = attachment.session
    try:
        sender = pc.addTrack(peer.track)
        if prefer:
            prefer_codec(next(t for t in pc.getTransceivers() if t.sender is sender), prefer)
        if session.audio_output is not None and 'm=audio' in sdp:
            pc.addTrack(session.audio_output.create_track())
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type='offer'))
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as error:
        await pc.close()
        raise OfferError(f'could not answer the offer: {error}') from error
    transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
    codecs = getattr(transceiver, '_codecs', None) or []
    peer.track.codec = 'h264' if codecs and codecs[0].mimeType.lower() == 'video/h264' else 'vp8'
    peer.track.sender = sender
    attachment.join(peer)
    log.info('session %s: %s peer %s answered with %s', session.id[:8], role, peer.id[:8], peer.track.codec)
    return peer


def prefer_codec(transceiver: RTCRtpTransceiver, codec: str) -> None:
    """Offer `codec` first, then the others (the answer follows these preferences)."""
    available = RTCRtpSender.getCapabilities('video').codecs
    preferred = [c for c in available if c.mimeType.lower() == f'video/{codec}']
    transceiver.setCodecPreferences(preferred + [c for c in available if c not in preferred])


async def add_candidate(peer: Peer, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None) -> None:
    """Add one trickled remote candidate (the browser form `candidate:...` or bare); empty = end of candidates."""
    text = candidate.strip()
    if text.startswith('a='):
        text = text[2:]
    if text.startswith('candidate:'):
        text = text[len('candidate:'):]
    if not text:
        await peer.pc.addIceCandidate(None)  # type: ignore[arg-type]
        return
    try:
        parsed = candidate_from_sdp(text)
    except Exception as error:
        raise OfferError(f'Invalid ICE candidate: {candidate!r}') from error
    parsed.sdpMid = sdp_mid
    parsed.sdpMLineIndex = sdp_mline_index if sdp_mline_index is not None else (0 if sdp_mid is None else None)
    await peer.pc.addIceCandidate(parsed)
