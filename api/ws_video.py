"""The WebSocket video path: JPEG frames out and parameter messages in, on the server's HTTP port."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from pipeline.validation import InvalidParameters
from rtc.datachannel import BadMessage, error_message, parse_message, stream_stopped
from rtc.peers import SessionPeers
from services.context import ServerContext
from services.errors import Forbidden, LimitReached, NotFound

log = logging.getLogger(__name__)
router = APIRouter(tags=['webrtc'])
CLOSE_CODES = {NotFound: (4404, 'session not found'), Forbidden: (4403, 'wrong or missing token'),
               LimitReached: (4429, 'too many viewers')}


@router.websocket('/api/v1/ws/video')
async def video_socket(websocket: WebSocket, session: str, token: str = '') -> None:
    """Binary messages are JPEG frames of the session; text messages both ways are JSON as on the data channel
    (`parameters_updated` tells of changes made by others, never echoes the socket's own)."""
    context: ServerContext = websocket.app.state.context
    try:
        target, role = context.sessions.join(session, token)
        audience = context.sessions.admit(target)
    except (NotFound, Forbidden, LimitReached) as error:
        code, reason = CLOSE_CODES[type(error)]
        await websocket.close(code=code, reason=reason)
        return
    await websocket.accept()
    viewer = f'socket-{uuid.uuid4().hex[:6]}'
    messages: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
    audience.add_viewer(viewer, role, sink=lambda text: _offer(messages, text))
    audience.jpeg.attach()
    senders = [asyncio.ensure_future(_send_frames(websocket, audience)),
               asyncio.ensure_future(_send_messages(websocket, messages))]
    try:
        await _receive_messages(websocket, audience, role, viewer, messages)
    finally:
        for sender in senders:
            sender.cancel()
        audience.jpeg.detach()
        audience.remove_viewer(viewer)


async def _send_frames(websocket: WebSocket, audience: SessionPeers) -> None:
    seq = 0
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        while True:
            latest = await audience.jpeg.next(seq)
            if latest is None:
                await websocket.send_text(stream_stopped(audience.jpeg.error or audience.session.error))
                await websocket.close()
                return
            seq, data = latest
            await websocket.send_bytes(data)


async def _send_messages(websocket: WebSocket, messages: asyncio.Queue[str]) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        while True:
            await websocket.send_text(await messages.get())


async def _receive_messages(websocket: WebSocket, audience: SessionPeers, role: str, viewer: str,
                            messages: asyncio.Queue[str]) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            raw = await websocket.receive_text()
            if role != 'control':
                _offer(messages, error_message('this is a view-only connection'))
                continue
            try:
                audience.session.update(parse_message(raw), source=viewer)
            except (BadMessage, InvalidParameters) as error:
                _offer(messages, error_message(str(error)))


def _offer(messages: asyncio.Queue[str], text: str) -> None:
    """Queue a text message for the socket (a socket that stopped reading loses messages, not the server)."""
    with contextlib.suppress(asyncio.QueueFull):
        messages.put_nowait(text)
