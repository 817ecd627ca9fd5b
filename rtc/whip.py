"""WHIP and WHEP on aiortc (RFC 9725, draft-ietf-wish-whep): checking offers, answering publishers, trickle ICE
fragments and the ICE-server `Link` headers."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCSessionDescription, sdp
from aiortc.codecs import CODECS
from aiortc.rtcpeerconnection import find_common_codecs

from config import Config

from .ice import rtc_configuration
from .offer import OfferError
from .peers import Peer, SessionPeers

log = logging.getLogger(__name__)
SDP = 'application/sdp'
SDP_FRAGMENT = 'application/trickle-ice-sdpfrag'
MAX_SDP = 256 * 1024


class WhipError(ValueError):
    """A WHIP/WHEP request the server refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Fragment:
    """A trickle ICE fragment (RFC 8840): ICE credentials and candidates by media id."""

    ufrag: str | None = None
    pwd: str | None = None
    candidates: list[tuple[str, str | None]] = field(default_factory=list)  # (candidate line, mid)
    end_of_candidates: bool = False


def check_content_type(value: str | None, expected: str) -> None:
    """415 unless the body has the expected media type (parameters such as charset are fine)."""
    media_type = (value or '').split(';')[0].strip().lower()
    if media_type != expected:
        raise WhipError(415, f'Content-Type must be {expected}, not {media_type or "missing"}')


def check_offer(text: str) -> None:
    """400 for an offer that is not SDP or has no video; 422 when its video offers no codec the server decodes."""
    if not text.lstrip().startswith('v=0') or '\nm=' not in text.replace('\r\n', '\n'):
        raise WhipError(400, 'the body is not an SDP offer (it must start with v=0 and have m= sections)')
    try:
        description = sdp.SessionDescription.parse(text)
    except Exception as error:
        raise WhipError(400, f'malformed SDP offer: {error}') from None
    videos = [media for media in description.media if media.kind == 'video']
    if not videos:
        raise WhipError(400, 'the offer has no video section')
    for media in videos:
        if not find_common_codecs(CODECS['video'], media.rtp.codecs):
            offered = sorted({codec.name for codec in media.rtp.codecs if codec.name.lower() not in ('rtx', 'red',
                                                                                                   'ulpfec')})
            raise WhipError(422, f'no supported video codec offered ({", ".join(offered) or "none"}): send H.264 '
                                 '(constrained baseline, packetization-mode=1) or VP8')


def ice_links(config: Config) -> list[str]:
    """One `Link` header value per configured STUN/TURN URL (RFC 9725 §4.6)."""
    links = []
    for server in config.ice_servers:
        for url in server.urls:
            link = f'<{url}>; rel="ice-server"'
            if server.username is not None:
                link += f'; username="{server.username}"; credential="{server.credential or ""}"; ' \
                        'credential-type="password"'
            links.append(link)
    return links


def parse_fragment(text: str) -> Fragment:
    """Read a trickle ICE fragment; 400 when it is not one."""
    fragment = Fragment()
    mid: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not re.match(r'^[a-z]=', line):
            raise WhipError(400, f'not an SDP fragment line: {line[:60]!r}')
        if line.startswith('a=ice-ufrag:'):
            fragment.ufrag = line.split(':', 1)[1]
        elif line.startswith('a=ice-pwd:'):
            fragment.pwd = line.split(':', 1)[1]
        elif line.startswith('m='):
            mid = None
        elif line.startswith('a=mid:'):
            mid = line.split(':', 1)[1]
        elif line.startswith('a=candidate:'):
            fragment.candidates.append((line[2:], mid))
        elif line.startswith('a=end-of-candidates'):
            fragment.end_of_candidates = True
    return fragment


def remote_ufrag(peer: Peer) -> str | None:
    """The ICE username fragment of the client's offer."""
    description = peer.pc.remoteDescription
    found = re.search(r'a=ice-ufrag:(\S+)', description.sdp) if description else None
    return found.group(1) if found else None


async def answer_publisher(offer: str, audience: SessionPeers, config: Config, label: str) -> Peer:
    """A peer that receives a publisher's video (and audio) into a session; the answer is in its local description."""
    pc = RTCPeerConnection(rtc_configuration(config))
    peer = Peer(pc, audience, 'control', label)
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type='offer'))
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as error:
        await pc.close()
        raise OfferError(f'could not answer the offer: {error}') from error
    audience.join(peer)
    log.info('session %s: WHIP publisher %s answered', audience.session.id[:8], peer.id[:8])
    return peer
