"""Peers: aiortc connections attached to sessions, their data channels, roles and teardown."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from typing import Any, Literal

from aiortc import RTCDataChannel, RTCPeerConnection

from pipeline.session import Session

from .datachannel import BadMessage, error_message, parameters_updated, parse_message, stream_stopped
from .fanout import EncodedVideoTrack, SessionEncoders
from .jpeg_fanout import JpegFanout
from .tracks import feed_audio, feed_input

log = logging.getLogger(__name__)
NOTIFY_INTERVAL = 0.05  # parameters_updated is coalesced to at most twenty messages a second
REPORT_WAIT = 10.0  # seconds a stream that failed at once waits for its data channel, so the client learns why
Role = Literal['control', 'view']


class Peer:
    """A connected client of a session: gets its video, may steer it, hears back on its data channel."""

    def __init__(self, pc: RTCPeerConnection, attachment: SessionPeers, role: Role = 'control',
                 label: str | None = None) -> None:
        self.id = str(uuid.uuid4())
        self.pc = pc
        self.attachment = attachment
        self.session = attachment.session
        self.role: Role = role
        self.label = label or f'{role}-{self.id[:4]}'
        self.track = EncodedVideoTrack(attachment.encoders)
        self.channel: RTCDataChannel | None = None
        self.pending: list[str] = []
        self.tasks: set[asyncio.Task] = set()
        self.closed = False
        self.closing = False
        self.reachable = asyncio.Event()  # set once the data channel opens, or the connection ends without it
        self.messages_received = 0
        pc.on('datachannel', self._on_datachannel)
        pc.on('track', self._on_track)
        pc.on('connectionstatechange', self._on_connection_state)

    def send(self, text: str) -> None:
        """Send a message on the data channel, or keep it until the channel opens."""
        channel = self.channel
        if channel is not None and channel.readyState == 'open':
            with contextlib.suppress(Exception):
                channel.send(text)
        elif len(self.pending) < 100:
            self.pending.append(text)

    async def close(self, error: str | None = None, linger: float = 0.05) -> None:
        """Tell the client its stream stopped, leave the session and close the connection (idempotent).

        A stream that failed before the data channel opened (out of memory on its first chunk, say) waits a
        little for it, so the client still gets `stream_stopped` with the reason.
        """
        if self.closing:
            return
        self.closing = True
        if error and not self.reachable.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reachable.wait(), REPORT_WAIT)
        self.closed = True
        if self.channel is not None and self.channel.readyState == 'open':
            self.send(stream_stopped(error))
            await asyncio.sleep(linger)  # the client reads stream_stopped before the connection goes
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()
        self.track.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
        await self.attachment.leave(self)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on('message', self._on_message)
        channel.on('open', self._on_open)
        if channel.readyState == 'open':
            self._on_open()

    def _on_open(self) -> None:
        self.reachable.set()
        self._flush()

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for text in pending:
            self.send(text)

    def _on_message(self, raw: Any) -> None:
        self.messages_received += 1
        if self.role != 'control':
            self.send(error_message('this is a view-only connection: parameters cannot be changed'))
            return
        try:
            message = parse_message(raw)
        except BadMessage as error:
            self.send(error_message(str(error)))
            return
        self.attachment.update(message, self.label)

    def _on_track(self, track: Any) -> None:
        if self.role != 'control':
            return
        if track.kind == 'video':
            self.spawn(feed_input(track, self.session.receive_input))
        elif track.kind == 'audio':
            self.spawn(feed_audio(track, self.session))

    async def _on_connection_state(self) -> None:
        log.info('peer %s: connection %s', self.id[:8], self.pc.connectionState)
        if self.pc.connectionState in ('failed', 'closed'):
            self.reachable.set()
            await self.close()

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class SessionPeers:
    """The peers of one session: shared encoders, change notifications, and the end of ephemeral sessions."""

    def __init__(self, session: Session, registry: PeerRegistry, ephemeral: bool) -> None:
        self.session = session
        self.registry = registry
        self.ephemeral = ephemeral
        self.encoders = SessionEncoders(session.bus)
        self.jpeg = JpegFanout(session.bus)
        self.socket_viewers: dict[str, str] = {}  # id -> role of WebSocket viewers
        self.peers: set[Peer] = set()
        self.notifier = asyncio.ensure_future(self._notify_changes())
        session.stop_listeners.append(self._on_session_stopped)

    def join(self, peer: Peer) -> None:
        self.peers.add(peer)
        self.registry.peers[peer.id] = peer

    async def leave(self, peer: Peer) -> None:
        self.peers.discard(peer)
        self.registry.peers.pop(peer.id, None)
        if not self.peers and self.ephemeral and not self.session.closed:
            self.session.close()
            await self.session.join()

    def update(self, message: dict[str, Any], who: str) -> dict[str, Any]:
        """Apply a parameter change from one of the peers (or the studio) to the session."""
        return self.session.update(message, source=who)

    def _on_session_stopped(self, error: str | None) -> None:
        self.notifier.cancel()
        for peer in list(self.peers):
            self.registry.closing.add(asyncio.ensure_future(peer.close(error, linger=0.5 if error else 0.05)))
        self.registry.attachments.pop(self.session.id, None)

    async def _notify_changes(self) -> None:
        while True:
            await asyncio.sleep(NOTIFY_INTERVAL)
            if changed := self.session.state.pop_changed():
                text = parameters_updated(changed)
                for peer in list(self.peers):
                    peer.send(text)


class PeerRegistry:
    """All connected peers by id, and the peer groups of sessions."""

    def __init__(self) -> None:
        self.peers: dict[str, Peer] = {}
        self.attachments: dict[str, SessionPeers] = {}
        self.closing: set[asyncio.Future] = set()

    def attachment(self, session: Session, ephemeral: bool) -> SessionPeers:
        """The peer group of a session (created on first use)."""
        if session.id not in self.attachments:
            self.attachments[session.id] = SessionPeers(session, self, ephemeral)
        return self.attachments[session.id]

    def get(self, peer_id: str) -> Peer | None:
        return self.peers.get(peer_id)

    def of_session(self, session_id: str) -> list[Peer]:
        attachment = self.attachments.get(session_id)
        return list(attachment.peers) if attachment else []

    async def close_all(self) -> None:
        await asyncio.gather(*(peer.close() for peer in list(self.peers.values())), return_exceptions=True)
