"""The OSC server: UDP on the HTTP port number (by default), every message checked, counted, coalesced per
session and applied through the session's one parameter path; what arrives is mirrored to SSE subscribers."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_packet import OscPacket, ParseError

from pipeline.validation import InvalidParameters, check_parameters

from .osc_paths import Address, OscRefused, parse_address, paths, single, to_message
from .sources import SourceBoard

log = logging.getLogger(__name__)
COALESCE = 0.002  # seconds messages gather before they go to their sessions (a flood becomes a few updates)
REASONS = ('malformed', 'unknown_address', 'invalid_value', 'no_session')
MAX_SUBSCRIBER_QUEUE = 100

Resolve = Callable[[str | None], list[Any]]  # the sessions an address names (None: the default sessions)
Deliver = Callable[[Any, dict[str, Any]], None]  # apply a message to a session (raises InvalidParameters)


@dataclass(slots=True)
class Counters:
    """What the server received and what became of it."""

    received: int = 0
    applied: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=20))

    def drop(self, reason: str, address: str, detail: str) -> None:
        self.dropped[reason] += 1
        self.recent.append({'time': time.time(), 'address': address[:200], 'reason': reason, 'detail': detail[:300]})


class OscProtocol(asyncio.DatagramProtocol):
    """Hands every datagram to the server."""

    def __init__(self, server: OscServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.server.receive(data)


class OscServer:
    """One UDP socket for the whole server; sessions are found by `resolve`, changes applied by `deliver`."""

    def __init__(self, host: str, port: int, resolve: Resolve, deliver: Deliver, board: SourceBoard) -> None:
        self.host, self.port = host, port
        self.resolve = resolve
        self.deliver = deliver
        self.board = board
        self.counters = Counters()
        self.transport: asyncio.DatagramTransport | None = None
        self.error: str | None = None
        self.log_all_messages = False
        self.graph_inventory: list[dict[str, Any]] | None = None
        self.extra_paths: list[dict[str, Any]] = []  # e.g. `stamp` while frames are stamped (benchmarks)
        self.settings: dict[str, dict[str, Any]] = {}  # per session: transition_steps, ...
        self.subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self.pending: dict[str, tuple[Any, dict[str, Any], dict[str, int]]] = {}  # session, message, messages per key
        self.flush_handle: asyncio.TimerHandle | None = None
        self.known_cache: dict[int, tuple[Any, dict[str, dict[str, Any]]]] = {}

    @property
    def listening(self) -> bool:
        return self.transport is not None

    async def start(self) -> None:
        """Bind the socket (a port in use is reported in the status, not raised)."""
        if self.transport is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: OscProtocol(self),
                                                               local_addr=(self.host, self.port))
        except OSError as error:
            self.error = f'cannot listen on udp://{self.host}:{self.port}: {error}'
            log.warning('OSC: %s', self.error)
            return
        self.transport, self.error = transport, None
        log.info('OSC listening on udp://%s:%d', self.host, self.port)

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None

    def receive(self, data: bytes) -> None:
        """One datagram: a message or a bundle; anything that is not OSC is counted as malformed."""
        try:
            packet = OscPacket(data)
        except (ParseError, ValueError, IndexError, TypeError, OverflowError) as error:
            self.counters.received += 1
            self.counters.drop('malformed', '?', f'{len(data)} bytes: {error}')
            return
        for timed in packet.messages:
            self.counters.received += 1
            message = timed.message
            self.handle(message.address, list(message.params))

    def handle(self, address: str, args: list[Any]) -> None:
        """Check one message and queue it for its sessions."""
        try:
            target = parse_address(address)
            if target.source:
                if len(args) != 1 or not self.board.set(f'osc.{target.key}', args[0], f'OSC {target.key}'):
                    raise OscRefused('invalid_value', f'{address}: a source takes one number')
                self.counters.applied += 1
                self._publish(target, args)
                return
            sessions = self.resolve(target.session)
            if not sessions:
                which = f'session {target.session!r}' if target.session else 'running session to control'
                raise OscRefused('no_session', f'{address}: no {which}')
            for session in sessions:
                self._queue(session, target, address, args)
        except OscRefused as refused:
            self.counters.drop(refused.reason, address, str(refused))
            return
        self._publish(target, args)
        if self.log_all_messages:
            log.info('OSC OK  %s = %r', address, args)

    def known_paths(self, info: Any) -> dict[str, dict[str, Any]]:
        """The paths of a pipeline by key (the graph inventory's own addresses included), cached per pipeline."""
        cached = self.known_cache.get(id(info))
        if cached is None or cached[0] is not info:
            known = {entry['key']: entry for entry in [*paths(info), *self.extra_paths]}
            cached = (info, known)
            self.known_cache[id(info)] = cached
        known = cached[1]
        if self.graph_inventory:
            known = {**known, **{entry['key']: entry for entry in self.graph_inventory}}
        return known

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=MAX_SUBSCRIBER_QUEUE)
        self.subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ValueError):
            self.subscribers.remove(queue)

    def status(self) -> dict[str, Any]:
        """Scope's status (enabled, listening, port, host, log_all_messages) and what became of the messages."""
        counters = self.counters
        return {'enabled': self.listening, 'listening': self.listening, 'port': self.port, 'host': self.host,
                'log_all_messages': self.log_all_messages, 'error': self.error, 'received': counters.received,
                'applied': counters.applied, 'dropped': dict(counters.dropped),
                'dropped_total': sum(counters.dropped.values()), 'recent_problems': list(counters.recent)}

    def _queue(self, session: Any, target: Address, address: str, args: list[Any]) -> None:
        settings = self.settings.setdefault(session.id, {})
        entry = self.graph_inventory and next((e for e in self.graph_inventory if e['key'] == target.key), None)
        key = entry.get('param') or target.key if entry else target.key
        message = to_message(key, args, self.known_paths(session.pipeline.info), settings)
        if not message:
            self.counters.applied += 1
            return
        try:  # the same gate as the session's: a bad value is dropped here, before it can hide in a coalesced update
            check_parameters(message, session.pipeline.info)
        except InvalidParameters as error:
            raise OscRefused('invalid_value', f'{address}: {error}') from None
        _, pending, counts = self.pending.setdefault(session.id, (session, {}, {}))
        if 'prompts' in message:
            pending.pop('transition', None)
        if 'transition' in message:
            pending.pop('prompts', None)
        pending.update(message)
        for changed in message:
            counts[changed] = counts.get(changed, 0) + 1
        if self.flush_handle is None:
            self.flush_handle = asyncio.get_running_loop().call_later(COALESCE, self.flush)

    def flush(self) -> None:
        """Apply what gathered, one update per session; a refused key is counted and the others still apply."""
        self.flush_handle = None
        pending, self.pending = self.pending, {}
        for session, message, counts in pending.values():
            if session.closed:
                self.counters.drop('no_session', '/scope/' + next(iter(counts)), 'the session ended')
                continue
            try:
                self.deliver(session, message)
                self.counters.applied += sum(counts.values())
                continue
            except InvalidParameters:
                pass
            for key, value in message.items():  # the pipeline changed meanwhile: find the keys that do not fit
                try:
                    self.deliver(session, {key: value})
                    self.counters.applied += counts.get(key, 1)
                except InvalidParameters as error:
                    self.counters.drop('invalid_value', f'/scope/{key}', str(error))

    def _publish(self, target: Address, args: list[Any]) -> None:
        if not self.subscribers:
            return
        value = args[0] if len(args) == 1 else list(args)
        event: dict[str, Any] = {'type': 'osc_command', 'key': target.key, 'value': _jsonable(value)}
        if target.session:
            event['session'] = target.session
        for queue in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return single(value) if math.isfinite(value) else None
    if isinstance(value, bytes):
        return f'<{len(value)} bytes>'
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    return value
