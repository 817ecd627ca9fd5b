"""WHIP ingest, WHEP playback and HLS of Daydream streams, on the server's one port.

Publishers use the stream's `whip_url` (the stream key is the credential, as on Livepeer; Bearer headers are
tolerated), players its `output_stream_url` (WHEP) or `output_hls_url`; both also live under `/v1/streams/{id}`.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from rtc.peers import Peer
from rtc.whip import SDP, SDP_FRAGMENT, ice_links
from services.errors import NotYet, TooLarge
from services.stream_views import urls
from services.streams import Stream
from services.whip import etag

from .context import Context
from .daydream import base_url

router = APIRouter(tags=['whip / whep / hls'])
MAX_SDP = 256 * 1024
EXPOSED = 'Location, ETag, Link, Accept-Patch, Livepeer-Playback-URL, Retry-After'
NO_CACHE = 'no-cache, no-store, must-revalidate'


@router.post('/live/video-to-video/{stream_key}/whip', status_code=201)
async def publish(stream_key: str, request: Request, context: Context) -> Response:
    """WHIP: publish video into a stream (its video drives the stream's video-to-video). Answers 201 with the SDP
    answer, an absolute `Location` for trickle `PATCH` and `DELETE`, `ETag`, `Link` ICE servers and
    `Livepeer-Playback-URL` (the WHEP URL)."""
    return await _publish(context.streams.by_key(stream_key), request, context)


@router.post('/v1/streams/{stream_id}/whip', status_code=201)
async def publish_by_id(stream_id: str, request: Request, context: Context) -> Response:
    """WHIP by stream id (behind the API key when one is set)."""
    return await _publish(context.streams.require(stream_id), request, context)


@router.post('/playback/{playback_id}/whep', status_code=201)
async def play(playback_id: str, request: Request, context: Context) -> Response:
    """WHEP: watch a stream's output (H.264 when offered, shared with HLS, RTMP and recordings). 404 with
    `Retry-After` until its first frame exists; 429 over the viewer cap."""
    return await _play(context.streams.by_playback(playback_id), request, context)


@router.post('/v1/streams/{stream_id}/whep', status_code=201)
async def play_by_id(stream_id: str, request: Request, context: Context) -> Response:
    """WHEP by stream id."""
    return await _play(context.streams.require(stream_id), request, context)


@router.patch('/live/video-to-video/{stream_key}/whip/{resource_id}', status_code=204)
@router.patch('/playback/{stream_key}/whep/{resource_id}', status_code=204)
@router.patch('/v1/streams/{stream_key}/whip/{resource_id}', status_code=204)
@router.patch('/v1/streams/{stream_key}/whep/{resource_id}', status_code=204)
async def trickle(stream_key: str, resource_id: str, request: Request, context: Context) -> Response:
    """Trickle ICE (`application/trickle-ice-sdpfrag`); an ICE restart answers 422."""
    stream = _stream(stream_key, request, context)
    await context.whip.trickle(stream, resource_id, (await request.body()).decode(errors='replace'),
                               request.headers.get('content-type'), request.headers.get('if-match'))
    return Response(status_code=204)


@router.delete('/live/video-to-video/{stream_key}/whip/{resource_id}')
@router.delete('/playback/{stream_key}/whep/{resource_id}')
@router.delete('/v1/streams/{stream_key}/whip/{resource_id}')
@router.delete('/v1/streams/{stream_key}/whep/{resource_id}')
async def hang_up(stream_key: str, resource_id: str, request: Request, context: Context) -> Response:
    """End a WHIP or WHEP session."""
    await context.whip.hang_up(_stream(stream_key, request, context), resource_id)
    return Response(status_code=200)


@router.options('/live/video-to-video/{stream_key}/whip')
@router.options('/playback/{stream_key}/whep')
@router.options('/v1/streams/{stream_key}/whip')
@router.options('/v1/streams/{stream_key}/whep')
def endpoint_options(stream_key: str, context: Context) -> Response:
    """The ICE servers before an offer (RFC 9725 §4.6), and what the endpoint accepts."""
    response = Response(status_code=204, headers={'Accept-Post': SDP, 'Access-Control-Expose-Headers': EXPOSED})
    for link in ice_links(context.config):
        response.headers.append('Link', link)
    return response


@router.get('/playback/{playback_id}/hls/index.m3u8')
async def hls_playlist(playback_id: str, context: Context) -> Response:
    """The HLS playlist (1 s segments, a sliding window); the first request starts the muxer and waits for it."""
    stream = context.streams.by_playback(playback_id)
    playlist = await stream.outputs.playlist()
    if playlist is None:
        raise NotYet(f'Stream {stream.id} has no HLS segment yet; try again in a second')
    return Response(playlist.read_bytes(), media_type='application/vnd.apple.mpegurl',
                    headers={'Cache-Control': NO_CACHE})


@router.get('/playback/{playback_id}/hls/{segment}')
def hls_segment(playback_id: str, segment: str, context: Context) -> Response:
    """One MPEG-TS segment of the playlist."""
    stream = context.streams.by_playback(playback_id)
    path = stream.outputs.segment(segment)
    if path is None:
        raise NotYet(f'No segment {segment[:40]} (it may have left the playlist window)')
    return FileResponse(path, media_type='video/mp2t', headers={'Cache-Control': 'max-age=60'})


async def _publish(stream: Stream, request: Request, context: Context) -> Response:
    peer = await context.whip.publish(stream, await _sdp(request), request.headers.get('content-type'))
    base = base_url(request)
    return _answer(peer, context, f'{base}{request.url.path.rstrip("/")}/{peer.id}',
                   {'Livepeer-Playback-URL': urls(stream, base).whep})


async def _play(stream: Stream, request: Request, context: Context) -> Response:
    peer = await context.whip.play(stream, await _sdp(request), request.headers.get('content-type'))
    return _answer(peer, context, f'{base_url(request)}{request.url.path.rstrip("/")}/{peer.id}', {})


def _answer(peer: Peer, context: Context, location: str, extra: dict[str, str]) -> Response:
    headers = {'Location': location, 'ETag': etag(peer), 'Accept-Patch': SDP_FRAGMENT,
               'Access-Control-Expose-Headers': EXPOSED, **extra}
    response = Response(context.whip.answer(peer), status_code=201, media_type=SDP, headers=headers)
    for link in ice_links(context.config):
        response.headers.append('Link', link)
    return response


async def _sdp(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_SDP:
        raise TooLarge(f'An SDP offer of more than {MAX_SDP // 1024} KB')
    return body.decode(errors='replace')


def _stream(key: str, request: Request, context: Context) -> Stream:
    """The stream a resource URL names: by stream key (WHIP), playback id (WHEP) or id (`/v1/streams`)."""
    path = request.url.path
    if path.startswith('/live/'):
        return context.streams.by_key(key)
    if path.startswith('/playback/'):
        return context.streams.by_playback(key)
    return context.streams.require(key)
