"""Peers: one aiortc peer connection attached to a session, its data channel and its teardown."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection

from pipeline.session import Session

from .datachannel import BadMessage, error_message, parameters_updated, parse_message, stream_stopped
from .tracks import SessionVideoTrack, feed_audio, feed_input

log = logging.getLogger(__name__)
NOTIFY_INTERVAL = 0.1  # parameters_updated is coalesced to at most ten messages a second


class Peer:
    """A connected client of a session: sends its video, takes its parameters, reports back on its channel."""

    def __init__(self, pc: RTCPeerConnection, session: Session, on_closed: Callable[[Peer], Awaitable[None]]) -> None:
        self.pc = pc
        self.session = session
        self.id = session.id
        self.track = SessionVideoTrack(session.bus)
        self.channel: RTCDataChannel | None = None
        self.pending: list[str] = []
        self.tasks: set[asyncio.Task] = set()
        self.closed = False
        self._on_closed = on_closed
        self.messages_received = 0
        pc.on('datachannel', self._on_datachannel)
        pc.on('track', self._on_track)
        pc.on('connectionstatechange', self._on_connection_state)
        session.stop_listeners.append(self._on_session_stopped)
        self._spawn(self._notify_changes())

    def send(self, text: str) -> None:
        """Send a message on the data channel, or keep it until the channel opens."""
        channel = self.channel
        if channel is not None and channel.readyState == 'open':
            with contextlib.suppress(Exception):
                channel.send(text)
        else:
            self.pending.append(text)

    async def close(self) -> None:
        """Stop the session, tell the client, close the connection (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.session.close()
        await asyncio.sleep(0)  # let the stream_stopped message reach the transport
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()
        self.track.stop()
        await self.pc.close()
        await self.session.join()
        await self._on_closed(self)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on('message', self._on_message)
        channel.on('open', self._flush)
        if channel.readyState == 'open':
            self._flush()

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for text in pending:
            self.send(text)

    def _on_message(self, raw: Any) -> None:
        self.messages_received += 1
        try:
            message = parse_message(raw)
        except BadMessage as error:
            self.send(error_message(str(error)))
            return
        self.session.update(message)

    def _on_track(self, track: Any) -> None:
        if track.kind == 'video':
            self._spawn(feed_input(track, self.session.receive_input))
        elif track.kind == 'audio':
            self._spawn(feed_audio(track, self.session))

    async def _on_connection_state(self) -> None:
        log.info('peer %s: connection %s', self.id[:8], self.pc.connectionState)
        if self.pc.connectionState in ('failed', 'closed'):
            await self.close()

    def _on_session_stopped(self, error: str | None) -> None:
        self.send(stream_stopped(error))
        if error and not self.closed:
            self._spawn(self._close_soon())

    async def _close_soon(self) -> None:
        await asyncio.sleep(0.5)  # the client reads stream_stopped before the connection goes
        await self.close()

    async def _notify_changes(self) -> None:
        while not self.closed:
            await asyncio.sleep(NOTIFY_INTERVAL)
            if changed := self.session.state.pop_changed():
                self.send(parameters_updated(changed))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class PeerRegistry:
    """All connected peers, by session id."""

    def __init__(self) -> None:
        self.peers: dict[str, Peer] = {}

    def add(self, peer: Peer) -> None:
        self.peers[peer.id] = peer

    def get(self, session_id: str) -> Peer | None:
        return self.peers.get(session_id)

    async def remove(self, peer: Peer) -> None:
        self.peers.pop(peer.id, None)

    async def close_all(self) -> None:
        await asyncio.gather(*(peer.close() for peer in list(self.peers.values())), return_exceptions=True)
