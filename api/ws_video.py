"""The WebSocket video path: JPEG frames out and parameter messages in, on the server's HTTP port."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from rtc.datachannel import BadMessage, error_message, parse_message, stream_stopped
from rtc.peers import SessionPeers

from .access import max_peers, role_of
from .context import ServerContext

log = logging.getLogger(__name__)
router = APIRouter(tags=['webrtc'])


@router.websocket('/api/v1/ws/video')
async def video_socket(websocket: WebSocket, session: str, token: str = '') -> None:
    """Binary messages are JPEG frames of the session; text messages both ways are JSON as on the data channel."""
    context: ServerContext = websocket.app.state.context
    target = context.sessions.get(session)
    if target is None or target.closed:
        await websocket.close(code=4404, reason='session not found')
        return
    role = role_of(target, token)
    if role is None:
        await websocket.close(code=4403, reason='wrong or missing token')
        return
    attachment = context.peers.attachments.get(target.id) or context.peers.attachment(target, ephemeral=False)
    if len(attachment.peers) + len(attachment.socket_viewers) >= max_peers():
        await websocket.close(code=4429, reason='too many viewers')
        return
    await websocket.accept()
    viewer = f'socket-{uuid.uuid4().hex[:6]}'
    attachment.socket_viewers[viewer] = role
    attachment.jpeg.attach()
    sender = asyncio.ensure_future(_send_frames(websocket, attachment))
    try:
        await _receive_messages(websocket, attachment, role, viewer)
    finally:
        sender.cancel()
        attachment.jpeg.detach()
        attachment.socket_viewers.pop(viewer, None)


async def _send_frames(websocket: WebSocket, attachment: SessionPeers) -> None:
    seq = 0
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        while True:
            latest = await attachment.jpeg.next(seq)
            if latest is None:
                await websocket.send_text(stream_stopped(attachment.jpeg.error or attachment.session.error))
                await websocket.close()
                return
            seq, data = latest
            await websocket.send_bytes(data)


async def _receive_messages(websocket: WebSocket, attachment: SessionPeers, role: str, viewer: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            raw = await websocket.receive_text()
            if role != 'control':
                await websocket.send_text(error_message('this is a view-only connection'))
                continue
            try:
                message = parse_message(raw)
            except BadMessage as error:
                await websocket.send_text(error_message(str(error)))
                continue
            attachment.update(message, viewer)
            await websocket.send_text(json.dumps({'type': 'parameters_updated', 'parameters': message}))
