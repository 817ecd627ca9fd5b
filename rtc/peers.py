"""Peers: aiortc connections attached to sessions, their data channels, roles and teardown."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiortc import RTCDataChannel, RTCPeerConnection

from pipeline.catalog import notified_keys
from pipeline.parameters import STARTING_SOURCES
from pipeline.session import Session
from pipeline.validation import InvalidParameters

from .datachannel import BadMessage, error_message, parameters_updated, parse_message, stream_stopped
from .fanout import EncodedVideoTrack, SessionEncoders
from .jpeg_fanout import JpegFanout
from .tracks import feed_audio, feed_input

log = logging.getLogger(__name__)
NOTIFY_INTERVAL = 0.05  # parameters_updated is coalesced to at most twenty messages a second
REPORT_WAIT = 10.0  # seconds a stream that failed at once waits for its data channel, so the client learns why
Role = Literal['control', 'view']
AudienceListener = Callable[['SessionPeers', bool], None]  # (the session's peers, whether someone left cleanly)
Sink = Callable[[str], None]  # sends one text message to a WebSocket viewer


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
        self.track = EncodedVideoTrack(attachment.encoders, on_failure=self._on_video_failed)
        self.channel: RTCDataChannel | None = None
        self.pending: list[str] = []
        self.tasks: set[asyncio.Task] = set()
        self.closed = False
        self.closing = False
        self.reachable = asyncio.Event()  # set once the data channel opens, or the connection ends without it
        self.connected = False  # ICE and DTLS completed once
        self.messages_received = 0
        pc.on('datachannel', self._on_datachannel)
        pc.on('track', self._on_track)
        pc.on('connectionstatechange', self._on_connection_state)

    def send(self, text: str) -> None:
        """Send a message on the data channel, or keep it until the channel opens (dropped once the connection
        is gone: the transport could not carry it)."""
        channel = self.channel
        if self.pc.connectionState in ('closed', 'failed'):
            return
        if channel is not None and channel.readyState == 'open':
            with contextlib.suppress(Exception):
                channel.send(text)
        elif len(self.pending) < 100:
            self.pending.append(text)

    async def close(self, error: str | None = None, linger: float = 0.05, clean: bool = True) -> None:
        """Tell the client its stream stopped, leave the session and close the connection (idempotent).

        `clean` is False when the connection broke (the session may wait a little for the client to come back).
        A stream that failed before the data channel opened (out of memory on its first chunk, say) waits a little
        for it, so the client still gets `stream_stopped` with the reason.
        """
        if self.closing:
            return
        self.closing = True
        if error and not self.reachable.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reachable.wait(), REPORT_WAIT)
        self.closed = True
        if self.channel is not None and self.channel.readyState == 'open' \
                and self.pc.connectionState not in ('closed', 'failed'):
            self.send(stream_stopped(error))
            await asyncio.sleep(linger)  # the client reads stream_stopped before the connection goes
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()
        self.track.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
        self.pc.remove_all_listeners()
        self.attachment.leave(self, clean)

    def _on_video_failed(self, error: str) -> None:
        """The shared encoder gave up: the client hears why (`stream_stopped`), then the connection closes."""
        closing = self.attachment.registry.closing
        task = asyncio.ensure_future(self.close(error, linger=0.5))
        closing.add(task)
        task.add_done_callback(closing.discard)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on('message', self._on_message)
        channel.on('open', self._on_open)
        channel.on('close', lambda: self.spawn(self.close()))  # the client closed its channel: it is done
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
            self.session.update(parse_message(raw), source=self.label)
        except (BadMessage, InvalidParameters) as error:
            self.send(error_message(str(error)))

    def _on_track(self, track: Any) -> None:
        if self.role != 'control':
            return
        if track.kind == 'video':
            self.spawn(feed_input(track, self.session.receive_input))
        elif track.kind == 'audio':
            self.spawn(feed_audio(track, self.session))

    async def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        log.info('peer %s: connection %s', self.id[:8], state)
        if state == 'connected':
            self.connected = True
        elif state in ('failed', 'closed'):
            self.reachable.set()
            await self.close(clean=state == 'closed')

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class SessionPeers:
    """The audience of one session: WebRTC peers, WebSocket viewers and other outputs, its shared encoders, and
    the messages every peer hears (`parameters_updated`, pipeline errors, `stream_stopped`)."""

    def __init__(self, session: Session, registry: PeerRegistry) -> None:
        self.session = session
        self.registry = registry
        self.encoders = SessionEncoders(session.bus, registry.bitrate)
        self.jpeg = JpegFanout(session.bus)
        self.socket_viewers: dict[str, Role] = {}  # id -> role of WebSocket viewers
        self.socket_sinks: dict[str, Sink] = {}  # id -> how to send a WebSocket viewer a message
        self.members: dict[str, str] = {}  # id -> kind of everyone else present: studio pages, outputs (muxers)
        self.peers: set[Peer] = set()
        self.notifier = asyncio.ensure_future(self._notify_changes())
        session.stop_listeners.append(self._on_session_stopped)
        session.error_listeners.append(self._on_pipeline_error)

    @property
    def audience(self) -> int:
        """How many are present: peers, WebSocket viewers, studio pages and outputs."""
        return len(self.peers) + len(self.socket_viewers) + len(self.members)

    def join(self, peer: Peer) -> None:
        if any(other.label == peer.label for other in self.peers):
            peer.label = f'{peer.label}-{peer.id[:4]}'  # labels are the sources of changes: each one its own
        self.peers.add(peer)
        self.registry.peers[peer.id] = peer
        self.registry.audience_changed(self, True)

    def leave(self, peer: Peer, clean: bool = True) -> None:
        self.peers.discard(peer)
        self.registry.peers.pop(peer.id, None)
        self.registry.audience_changed(self, clean)

    def add_viewer(self, viewer_id: str, role: Role, sink: Sink | None = None) -> None:
        """A WebSocket viewer joins (its id is the source of its changes; `sink` gets its `parameters_updated`)."""
        self.socket_viewers[viewer_id] = role
        if sink is not None:
            self.socket_sinks[viewer_id] = sink
        self.registry.audience_changed(self, True)

    def remove_viewer(self, viewer_id: str) -> None:
        self.socket_viewers.pop(viewer_id, None)
        self.socket_sinks.pop(viewer_id, None)
        self.registry.audience_changed(self, True)

    def add_member(self, member_id: str, kind: str) -> None:
        """Someone or something else is present (a studio page, a muxer): the session renders for it."""
        self.members[member_id] = kind
        self.registry.audience_changed(self, True)

    def remove_member(self, member_id: str) -> None:
        if self.members.pop(member_id, None) is not None:
            self.registry.audience_changed(self, True)

    def broadcast(self, text: str) -> None:
        """Send a message to every peer of the session."""
        for peer in list(self.peers):
            peer.send(text)

    def _on_session_stopped(self, error: str | None) -> None:
        self.notifier.cancel()
        for peer in list(self.peers):
            self.registry.track_closing(peer.close(error, linger=0.5 if error else 0.05))
        self.registry.attachments.pop(self.session.id, None)

    def _on_pipeline_error(self, message: str, exception_type: str) -> None:
        self.broadcast(json.dumps({'type': 'pipeline_error', 'pipeline_id': self.session.pipeline_id,
                                   'node_id': None, 'message': message, 'exception_type': exception_type}))

    async def _notify_changes(self) -> None:
        changed_event = self.session.state.changed_event(asyncio.get_running_loop())
        while True:
            await changed_event.wait()
            changed_event.clear()
            self.notify(self.session.state.pop_changes())
            await asyncio.sleep(NOTIFY_INTERVAL)

    def notify(self, changes: dict[str, tuple[Any, str]]) -> None:
        """Tell every client the changes that came from elsewhere (as Scope does: a client's own messages are never
        echoed), only the keys that changed, and only keys a client keeps as controls (never the session's own)."""
        notified = notified_keys(self.session.pipeline.info)
        relevant = {key: change for key, change in changes.items()
                    if key in notified and change[1] not in STARTING_SOURCES}
        if not relevant:
            return
        recipients: list[tuple[str, Sink]] = [(peer.label, peer.send) for peer in self.peers]
        recipients += list(self.socket_sinks.items())
        for source, send in recipients:
            parameters = {key: value for key, (value, changed_by) in relevant.items() if changed_by != source}
            if parameters:
                send(parameters_updated(parameters))


class PeerRegistry:
    """All connected peers by id, and the audiences of sessions."""

    def __init__(self, bitrate: int = 2_500_000) -> None:
        self.bitrate = bitrate
        self.peers: dict[str, Peer] = {}
        self.attachments: dict[str, SessionPeers] = {}
        self.closing: set[asyncio.Future] = set()
        self.audience_listeners: list[AudienceListener] = []

    def attachment(self, session: Session) -> SessionPeers:
        """The audience of a session (created on first use)."""
        if session.id not in self.attachments:
            self.attachments[session.id] = SessionPeers(session, self)
        return self.attachments[session.id]

    def get(self, peer_id: str) -> Peer | None:
        return self.peers.get(peer_id)

    def of_session(self, session_id: str) -> list[Peer]:
        attachment = self.attachments.get(session_id)
        return list(attachment.peers) if attachment else []

    def audience(self, session_id: str) -> int:
        """How many consumers watch a session."""
        attachment = self.attachments.get(session_id)
        return attachment.audience if attachment else 0

    def audience_changed(self, attachment: SessionPeers, clean: bool) -> None:
        for listener in list(self.audience_listeners):
            try:
                listener(attachment, clean)
            except Exception:
                log.exception('audience listener failed')

    def track_closing(self, closing: Awaitable[None]) -> None:
        """Keep a closing peer's task alive until it is done (and no longer)."""
        future = asyncio.ensure_future(closing)
        self.closing.add(future)
        future.add_done_callback(self.closing.discard)

    async def close_all(self) -> None:
        await asyncio.gather(*(peer.close() for peer in list(self.peers.values())), return_exceptions=True)
