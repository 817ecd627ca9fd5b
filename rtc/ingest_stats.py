"""Ingest figures of a publishing peer from aiortc's `getStats()`, in the shape of Daydream's `ingest_metrics`."""
from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiortc import RTCPeerConnection

JITTER_BAD = 0.050  # seconds; go-livepeer's thresholds for a bad connection
LOSS_BAD = 2.0  # percent
RTT_TIMEOUT = 1.0


async def ingest_stats(pc: RTCPeerConnection, peer_id: str) -> dict[str, Any]:
    """Bytes, packets, loss, jitter and round-trip time of the incoming media, and the connection's quality."""
    report = await pc.getStats()
    clock_rates = {t.receiver.track.kind: _clock_rate(t) for t in pc.getTransceivers() if t.receiver.track}
    bytes_received = bytes_sent = 0
    tracks: list[dict[str, Any]] = []
    rtt = await round_trip_time(pc)
    for stats in report.values():
        kind = getattr(stats, 'type', '')
        if kind == 'transport':
            bytes_received += int(getattr(stats, 'bytesReceived', 0) or 0)
            bytes_sent += int(getattr(stats, 'bytesSent', 0) or 0)
        elif kind == 'inbound-rtp':
            received, lost = int(stats.packetsReceived or 0), max(0, int(stats.packetsLost or 0))
            rate = clock_rates.get(stats.kind) or (90_000 if stats.kind == 'video' else 48_000)
            jitter = float(stats.jitter or 0) / rate
            loss = 100.0 * lost / max(1, received + lost)
            warnings = [w for w, bad in (('high jitter', jitter > JITTER_BAD), ('packet loss', loss > LOSS_BAD)) if bad]
            tracks.append({'type': stats.kind, 'jitter': round(jitter, 6), 'packets_lost': lost,
                           'packets_received': received, 'packet_loss_pct': round(loss, 3),
                           'rtt': int(rtt * 1e9) if rtt is not None else None, 'warnings': warnings})
    if not tracks:
        quality = 'unknown'
    else:
        quality = 'bad' if any(track['warnings'] for track in tracks) else 'good'
    return {'peer_conn_stats': {'ID': peer_id, 'BytesReceived': bytes_received, 'BytesSent': bytes_sent},
            'conn_quality': quality, 'track_stats': tracks,
            'rtt_ms': round(rtt * 1000, 3) if rtt is not None else None}


async def round_trip_time(pc: RTCPeerConnection) -> float | None:
    """Seconds for one ICE consent check (a STUN binding request on the selected pair) to come back, or None."""
    with contextlib.suppress(Exception):
        transceiver = next(t for t in pc.getTransceivers() if t.receiver.transport is not None)
        connection = transceiver.receiver.transport.transport._connection  # aioice's Connection
        pair = next(iter(connection._nominated.values()))
        request = connection.build_request(pair, nominate=False)
        begun = time.perf_counter()
        await asyncio.wait_for(pair.protocol.request(request, pair.remote_addr,
                                                     integrity_key=str(connection.remote_password).encode(),
                                                     retransmissions=0), RTT_TIMEOUT)
        return time.perf_counter() - begun
    return None


def _clock_rate(transceiver: Any) -> int | None:
    codecs = getattr(transceiver, '_codecs', None) or []
    return int(codecs[0].clockRate) if codecs else None
