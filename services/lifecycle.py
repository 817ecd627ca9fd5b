"""The session lifecycle: what nobody uses ends or sleeps, on a clock that tests drive."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from config import Config
from pipeline.session import Session
from rtc.peers import PeerRegistry

from .sessions import SessionService

log = logging.getLogger(__name__)
Clock = Callable[[], float]
SWEEP_INTERVAL = 1.0


class SessionLifecycle:
    """Looks at every peer and session once per sweep:

    - a peer that has not connected within `connect_timeout` is dropped (a client that crashed mid-offer);
    - an ephemeral session whose audience dropped out ends after `leave_grace` (at once when they left cleanly);
    - a shared session nobody watches for `idle_after` stops rendering (no CPU) until someone joins again;
    - a named session unused (nobody watching, no parameter change) for `expire_after` ends.
    """

    def __init__(self, sessions: SessionService, peers: PeerRegistry, config: Config,
                 clock: Clock = time.monotonic) -> None:
        self.sessions = sessions
        self.peers = peers
        self.config = config
        self.clock = clock
        self.unconnected_since: dict[str, float] = {}  # peer id -> when a sweep first saw it not connected
        self.empty_since: dict[str, float] = {}  # session id -> when a sweep first saw it without audience
        self.last_use: dict[str, tuple[int, float]] = {}  # session id -> (parameter version, when last used)

    async def run(self) -> None:
        """Sweep every second, for as long as the server runs."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await self.sweep()
            except Exception:
                log.exception('session sweep failed')

    async def sweep(self) -> None:
        """Look once at every peer and session and end, idle or keep each."""
        now = self.clock()
        self._drop_unconnected_peers(now)
        for session in self.sessions.running():
            await self._look_at(session, now)
        running = {session.id for session in self.sessions.running()}
        for table in (self.empty_since, self.last_use):
            for session_id in [key for key in table if key not in running]:
                del table[session_id]

    def _drop_unconnected_peers(self, now: float) -> None:
        alive = set()
        for peer in list(self.peers.peers.values()):
            if peer.connected or peer.closed:
                continue
            alive.add(peer.id)
            since = self.unconnected_since.setdefault(peer.id, now)
            if now - since >= self.config.connect_timeout:
                log.info('peer %s did not connect within %g s: dropped', peer.id[:8], self.config.connect_timeout)
                self.peers.track_closing(peer.close(f'the connection was not established within '
                                                    f'{self.config.connect_timeout:g} s'))
        for peer_id in [key for key in self.unconnected_since if key not in alive]:
            del self.unconnected_since[peer_id]

    async def _look_at(self, session: Session, now: float) -> None:
        version, used = self.last_use.get(session.id, (-1, now))
        audience = self.peers.audience(session.id)
        if audience or session.state.version != version:
            used = now
        self.last_use[session.id] = (session.state.version, used)
        if audience:
            self.empty_since.pop(session.id, None)
            return
        empty = now - self.empty_since.setdefault(session.id, now)
        if not session.shared:
            if empty >= self.config.leave_grace:
                log.info('session %s: nobody came back within %g s, ended', session.id[:8], self.config.leave_grace)
                await self.sessions.end(session)
            return
        if session.rendering.is_set() and empty >= self.config.idle_after:
            log.info('session %s: nobody watches, rendering stops', session.id[:8])
            session.set_rendering(False)
        if session.kind == 'named' and now - used >= self.config.expire_after:
            log.info('session %s: unused for %g s, ended', session.id[:8], self.config.expire_after)
            await self.sessions.end(session)
