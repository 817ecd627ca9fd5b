"""What the API shows of a stream: its URLs, the stream object both client populations read, and the status
document (Daydream's envelope and the self-hosted replacement's flat fields in one)."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from rtc.peers import PeerRegistry

from . import daydream_mapping as mapping
from .stream_metrics import frames_made, gpu_memory_mb, last_input_time
from .streams import Stream

AUTHOR = 'local'
Format = Literal['both', 'flat', 'envelope']
STATES = {'starting': 'LOADING', 'error': 'ERROR', 'stopped': 'OFFLINE'}
QUIET_SECONDS = 2.0  # no frame for this long: the stream is offline (or its input degraded)


@dataclass(frozen=True, slots=True)
class StreamUrls:
    """Where a stream's media goes in and out, all on the server's one port."""

    whip: str
    whep: str
    hls: str
    gateway_host: str


def urls(stream: Stream, base_url: str) -> StreamUrls:
    """The stream's URLs under a base URL (the request's, as the client sees the server)."""
    base = base_url.rstrip('/')
    return StreamUrls(whip=f'{base}/live/video-to-video/{stream.stream_key}/whip',
                      whep=f'{base}/playback/{stream.playback_id}/whep',
                      hls=f'{base}/playback/{stream.playback_id}/hls/index.m3u8',
                      gateway_host=urlsplit(base).netloc)


def stream_object(stream: Stream, base_url: str, links: dict[str, str]) -> dict[str, Any]:
    """The object create, get, list and update return: every field Daydream's SDKs require (`id` first), then the
    self-hosted replacement's extras."""
    where = urls(stream, base_url)
    body: dict[str, Any] = {
        'id': stream.id,
        'pipeline': 'streamdiffusion',
        'params': stream.params,
        'stream_key': stream.stream_key,
        'created_at': iso(stream.created_at),
        'output_playback_id': stream.playback_id,
        'name': stream.name,
        'author': AUTHOR,
        'from_playground': False,
        'gateway_host': where.gateway_host,
        'is_smoke_test': False,
        'whip_url': where.whip,
        'output_stream_url': where.whep,
        'pipeline_id': stream.legacy_pipeline_id,
        'status': stream.status,
        'output_hls_url': where.hls,
        'output_rtmp_url': stream.output_rtmp_url,
        'running_pipeline': stream.running_pipeline,
        'session_id': stream.session.id,
        'control_url': links.get('control'),
        'view_url': links.get('view'),
    }
    if stream.pipeline != 'streamdiffusion':
        body['pipeline_variant'] = stream.pipeline
    if stream.legacy_params:
        body['pipeline_params'] = stream.params
    return body


def status_document(stream: Stream, base_url: str, peers: PeerRegistry, ingest: dict[str, Any] | None,
                    form: Format = 'both') -> dict[str, Any]:
    """`GET /v1/streams/{id}/status`: the official envelope, the flat fields, or (by default) both in one."""
    flat = flat_status(stream, peers)
    if form == 'flat':
        return flat
    envelope = {'success': True, 'error': None, 'data': envelope_data(stream, base_url, flat, ingest)}
    return envelope if form == 'envelope' else {**envelope, **flat}


def flat_status(stream: Stream, peers: PeerRegistry) -> dict[str, Any]:
    """The self-hosted replacement's status fields (seed 002), plus what really runs and what is not applied."""
    session = stream.session
    fps_in, fps_out = stream.metrics.rates()
    latency = session.worker.input_latency
    started = stream.started_at
    target = stream.target
    note = None
    if target is not None and target.fallback_reason:
        note = f'{target.pipeline_id} runs instead of {target.asked_for}: {target.fallback_reason}'
    whep = [p for p in peers.of_session(session.id) if p.label.startswith('whep')]
    return {
        'id': stream.id,
        'status': stream.status,
        'created_at': iso(stream.created_at),
        'started_at': iso(started) if started else None,
        'uptime_seconds': round(time.time() - started, 3) if started else 0.0,
        'fps': fps_out,
        'fps_in': fps_in,
        'frames_processed': frames_made(session),
        'latency_ms': round(1000 * latency, 2) if latency is not None and stream.live else None,
        'gpu_memory_used_mb': gpu_memory_mb(),
        'gpu_utilization_percent': None,
        'error_message': stream.error,
        'running_pipeline': stream.running_pipeline,
        'requested_pipeline': target.asked_for if target else mapping.STREAMDIFFUSION,
        'pipeline_note': note,
        'params_not_applied': mapping.not_applied(stream.params, session.pipeline.info),
        'publisher_connected': stream.live,
        'whep_viewers': len(whep),
        'outputs': stream.outputs.describe(),
    }


def envelope_data(stream: Stream, base_url: str, flat: dict[str, Any], ingest: dict[str, Any] | None,
                  ) -> dict[str, Any]:
    """Daydream's `data` (seed 003), filled from this process, with the flat `status` and the runner's `state`."""
    session = stream.session
    latest = session.bus.latest
    output_time = latest.time if latest is not None else None
    input_time = last_input_time(session)
    error_time = stream.last_restart_time or stream.created_at
    return {
        'stream_id': stream.id,
        'request_id': session.id,
        'pipeline_id': stream.legacy_pipeline_id or '',
        'type': 'status',
        'pipeline': stream.running_pipeline,
        'orchestrator_info': {'address': '', 'url': base_url.rstrip('/')},
        'inference_status': {
            'pipeline': stream.running_pipeline,
            'start_time': ms(stream.started_at),
            'last_params_update_time': ms(stream.last_params_update_time),
            'last_params': stream.params,
            'last_params_hash': hashlib.md5(json.dumps(stream.params, sort_keys=True).encode()).hexdigest(),
            'input_fps': flat['fps_in'],
            'output_fps': flat['fps'],
            'last_input_time': ms(input_time),
            'last_output_time': ms(output_time),
            'restart_count': stream.restart_count,
            'last_restart_time': ms(stream.last_restart_time),
            'last_restart_logs': list(stream.last_restart_logs),
            'last_error': stream.error,
            'stream_id': stream.id,
        },
        'gateway_status': {
            'whep_url': urls(stream, base_url).whep,
            'error': {'error_message': stream.error, 'error_time': ms(error_time) if stream.error else None},
            'ingest_metrics': {'stats': ingest} if ingest is not None else None,
        },
        'status': stream.status,
        'state': state(stream, input_time, output_time),
        'params_not_applied': flat['params_not_applied'],
    }


def state(stream: Stream, input_time: float | None, output_time: float | None) -> str:
    """ai-runner's pipeline state: LOADING, ONLINE, DEGRADED_INPUT, OFFLINE or ERROR."""
    if stream.status in STATES:
        return STATES[stream.status]
    now = time.time()
    if output_time is None or now - output_time > QUIET_SECONDS:
        return 'OFFLINE'
    if stream.live and (input_time is None or now - input_time > QUIET_SECONDS):
        return 'DEGRADED_INPUT'
    return 'ONLINE'


def iso(moment: float) -> str:
    """An ISO-8601 UTC timestamp."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def ms(moment: float | None) -> int | None:
    """Epoch milliseconds, as ai-runner reports them."""
    return int(moment * 1000) if moment else None
