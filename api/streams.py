"""Daydream's streams API (`/v1/streams`), as its SDKs and the self-hosted replacement's clients call it."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.stream_requests import read_hot_update
from services.stream_views import status_document, stream_object
from services.streams import Stream

from .context import Context
from .daydream import base_url, envelope, json_body

router = APIRouter(tags=['daydream streams'])


@router.post('/v1/streams', status_code=201)
async def create_stream(request: Request, context: Context) -> dict[str, Any]:
    """Create a stream: a named session on standby while its pipeline loads (`status`: `starting`, then
    `running`). Takes Daydream's body (`pipeline`, `params`), the legacy `pipeline_id`/`pipeline_params`, and the
    self-hosted replacement's; answers with every field the official SDKs read, plus the WHIP, WHEP and HLS URLs."""
    stream = context.streams.create(await json_body(request))
    await context.streams.reconcile(stream)
    return view(stream, request, context)


@router.get('/v1/streams', response_model=None)
def list_streams(request: Request, context: Context, user_id: str | None = None,
                 format: Literal['envelope', 'list'] = 'envelope') -> dict[str, Any] | list[dict[str, Any]]:
    """Every stream: `{success, data: [...]}` (Daydream's SDKs), or a bare list with `?format=list`."""
    streams = [view(stream, request, context) for stream in context.streams.all()]
    return streams if format == 'list' else {'success': True, 'data': streams}


@router.get('/v1/streams/{stream_id}')
def get_stream(stream_id: str, request: Request, context: Context) -> dict[str, Any]:
    """One stream."""
    return view(context.streams.require(stream_id), request, context)


@router.patch('/v1/streams/{stream_id}')
async def update_stream(stream_id: str, request: Request, context: Context) -> dict[str, Any]:
    """Change params (only those sent; `pipeline` and `model_id` may be left out). Hot params change at once; the
    others restart the stream's pipeline (`status` `starting` until the new one runs)."""
    stream = context.streams.require(stream_id)
    return view(await context.streams.update(stream, await json_body(request)), request, context)


@router.patch('/v1/streams/{stream_id}/params')
async def update_stream_params(stream_id: str, request: Request, context: Context) -> dict[str, Any]:
    """The self-hosted replacement's hot-only update: flat params and `controlnet_scales` ({index: scale})."""
    stream = context.streams.require(stream_id)
    body = read_hot_update(await json_body(request), stream.params)
    return view(await context.streams.update(stream, body), request, context)


@router.post('/beta/streams/{stream_id}/prompts')
async def submit_prompt(stream_id: str, request: Request, context: Context) -> dict[str, Any]:
    """Daydream's deprecated prompt call: the params go the way of a PATCH."""
    stream = context.streams.require(stream_id)
    body = await json_body(request)
    params = body.get('params', {}) if isinstance(body, dict) else body
    await context.streams.update(stream, {'params': params})
    return {'success': True, 'message': 'Prompt updated', 'was_censored': False}


@router.delete('/v1/streams/{stream_id}')
async def delete_stream(stream_id: str, context: Context) -> dict[str, Any]:
    """End a stream (its publisher and players are disconnected)."""
    await context.streams.delete(context.streams.require(stream_id))
    return {'success': True, 'data': {}}


@router.delete('/v1/streams')
async def delete_stream_by_query(context: Context, id: str | None = None) -> JSONResponse:
    """End a stream named by `?id=` (the official SDKs' form)."""
    if not id:
        return JSONResponse(envelope(400, 'id: the stream id is required (?id=...)'), status_code=400)
    await context.streams.delete(context.streams.require(id))
    return JSONResponse({'success': True, 'data': {}})


@router.get('/v1/streams/{stream_id}/status')
async def stream_status(stream_id: str, request: Request, context: Context,
                        format: Literal['both', 'flat', 'envelope'] = 'both') -> dict[str, Any]:
    """The stream's state and figures: Daydream's envelope (`success`, `data`) and the self-hosted flat fields in
    one document; `?format=flat` or `?format=envelope` for a pure shape."""
    stream = context.streams.require(stream_id)
    ingest = await context.whip.ingest_stats(stream)
    return status_document(stream, base_url(request), context.peers, ingest, format)


def view(stream: Stream, request: Request, context: Context) -> dict[str, Any]:
    """The stream object under the client's base URL."""
    base = base_url(request)
    return stream_object(stream, base, context.sessions.links(stream.session, base))
