"""Scope's batch endpoints (PR #399), under both of its spellings: `/api/v1/generate*` and `/api/v1/batch*`."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from services.batch import BatchEvent, Generation
from services.batch_request import GenerateRequest

from .context import Context
from .uploads import declared_length

SSE_HEADERS = {'Cache-Control': 'no-cache', 'Connection': 'keep-alive', 'X-Accel-Buffering': 'no'}
PREFIXES = ('/api/v1/generate', '/api/v1/batch')


def batch_router(prefix: str) -> APIRouter:
    """The endpoints under one spelling."""
    router = APIRouter(prefix=prefix, tags=['batch'])

    @router.post('', response_class=StreamingResponse, responses={
        200: {'content': {'text/event-stream': {}}, 'description': 'progress, then complete, cancelled or error'},
        400: {'description': 'Pipeline not loaded'}, 409: {'description': 'A generation is already in progress'}})
    async def generate(body: GenerateRequest, context: Context) -> StreamingResponse:
        """Run a generation chunk by chunk; the answer is a stream of server-sent events."""
        generation = context.batch.start(body)
        return StreamingResponse(event_stream(generation), media_type='text/event-stream', headers=SSE_HEADERS)

    @router.post('/cancel')
    def cancel(context: Context) -> dict[str, str]:
        """Stop the running generation after its current chunk (its stream ends with `cancelled`)."""
        if context.batch.cancel():
            return {'status': 'cancelling'}
        return {'status': 'idle', 'detail': 'No generation is running'}

    @router.get('/status')
    def status(context: Context) -> dict[str, Any]:
        """Whether a generation runs, and its latest event (our addition)."""
        return context.batch.status()

    @router.post('/upload')
    async def upload(request: Request, context: Context) -> dict[str, Any]:
        """Store a raw uint8 THWC video (headers `X-Video-Frames`, `-Height`, `-Width`, `-Channels`)."""
        return await context.batch.upload_video(request.stream(), declared_length(request), request.headers)

    @router.post('/upload-data')
    async def upload_data(request: Request, context: Context) -> dict[str, Any]:
        """Store an opaque data blob (up to 2 GiB) that chunk specs read by offset and shape."""
        return await context.batch.upload_blob(request.stream(), declared_length(request))

    @router.get('/download', response_class=FileResponse)
    async def download(context: Context, path: Annotated[str, Query(description='the output_path of the result')],
                       video_format: Annotated[Literal['raw', 'mp4'], Query(alias='format')] = 'raw') -> FileResponse:
        """The result: Scope's raw format (20-byte header + uint8 THWC, `X-Video-*` headers), or `format=mp4`."""
        if video_format == 'mp4':
            return FileResponse(await context.batch.mp4(path), media_type='video/mp4', filename=f'{path}.mp4')
        raw, (frames, height, width, channels) = context.batch.output(path)
        return FileResponse(raw, media_type='application/octet-stream', headers={
            'X-Video-Frames': str(frames), 'X-Video-Height': str(height), 'X-Video-Width': str(width),
            'X-Video-Channels': str(channels)})

    return router


routers = [batch_router(prefix) for prefix in PREFIXES]


async def event_stream(generation: Generation) -> AsyncIterator[str]:
    """The generation's events as SSE; a client that goes away mid-stream cancels its generation."""
    try:
        async for event in generation.stream():
            yield sse(event)
    finally:
        generation.cancel()


def sse(event: BatchEvent) -> str:
    """One server-sent event: its name and a one-line JSON payload."""
    return f'event: {event.name}\ndata: {json.dumps(event.data, separators=(",", ":"))}\n\n'
