"""H.264 in Annex B form (start codes), as the shared encoder writes it: NAL units and parameter sets."""
from __future__ import annotations

START_CODE = b'\x00\x00\x00\x01'
SPS, PPS = 7, 8


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an access unit, without their start codes."""
    units = (part.rstrip(b'\x00') for part in data.split(b'\x00\x00\x01'))
    return [unit for unit in units if unit]


def parameter_sets(data: bytes) -> bytes:
    """The SPS and PPS of a keyframe as Annex B bytes (the extradata muxers turn into avcC), or b'' without them."""
    return b''.join(START_CODE + unit for unit in nal_units(data) if unit[0] & 0x1F in (SPS, PPS))
