"""What this server can take as video input, in Scope's shape: video arrives over WebRTC (the browser's camera, or a
file or video asset the browser plays); none of Scope's server-side sources (NDI, Spout, Syphon, files) exist here."""
from __future__ import annotations

from pydantic import BaseModel

from .errors import InvalidRequest, NotFound

OVER_WEBRTC = 'Dreamstage takes video over WebRTC only (camera, or a file the browser plays).'


class InputSourceType(BaseModel):
    """A kind of server-side video source."""

    source_id: str
    source_name: str
    source_description: str
    available: bool


SOURCES = [
    InputSourceType(source_id='ndi', source_name='NDI', available=False,
                    source_description=f'Receive video from NDI sources on the network. Not available: {OVER_WEBRTC}'),
    InputSourceType(source_id='spout', source_name='Spout', available=False,
                    source_description=f'Receive video from Spout senders (Windows). Not available: {OVER_WEBRTC}'),
    InputSourceType(source_id='syphon', source_name='Syphon', available=False,
                    source_description=f'Receive video from Syphon servers (macOS). Not available: {OVER_WEBRTC}'),
    InputSourceType(source_id='video_file', source_name='Video File', available=False,
                    source_description='Read video from a file on the server. Not available: play the file or a '
                                       'video asset in the browser (File), it arrives over WebRTC.'),
]


def input_sources() -> list[InputSourceType]:
    """Every server-side source kind Scope knows, none of them available here."""
    return list(SOURCES)


def require_source(source_type: str) -> InputSourceType:
    """A source kind that can be asked for its sources: NotFound when unknown, InvalidRequest when unavailable."""
    for source in SOURCES:
        if source.source_id == source_type:
            raise InvalidRequest(f"Input source '{source_type}' is not available on this system. {OVER_WEBRTC}")
    known = [source.source_id for source in SOURCES]
    raise NotFound(f"Unknown input source type '{source_type}'. Available types: {known}")
