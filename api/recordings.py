"""Scope's recording endpoints: server-side MP4 of any session, from its one H.264 encode."""
from __future__ import annotations

import os
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from .context import Context

router = APIRouter(prefix='/api/v1/recordings', tags=['recordings'])


@router.get('/{session_id}')
async def download_recording(session_id: str, context: Context, node_id: str | None = None) -> FileResponse:
    """What was recorded since the last download (or the start), as MP4; recording goes on in a new part."""
    session = context.recordings.session_for(session_id, node_id)
    path, _ = await context.recordings.download(session)
    name = time.strftime('recording-%Y%m%d_%H%M%S.mp4')
    return FileResponse(path, media_type='video/mp4', filename=name, background=BackgroundTask(os.unlink, path))


@router.post('/{session_id}/start')
async def start_recording(session_id: str, context: Context, node_id: str | None = None) -> dict[str, Any]:
    """Start recording a session: `started`, or `already_recording`."""
    session = context.recordings.session_for(session_id, node_id)
    return {'status': await context.recordings.start(session)}


@router.post('/{session_id}/stop')
async def stop_recording(session_id: str, context: Context, node_id: str | None = None) -> dict[str, Any]:
    """Stop recording (what was not downloaded is discarded): `stopped`, or `not_recording`."""
    session = context.recordings.session_for(session_id, node_id)
    return {'status': await context.recordings.stop(session)}
