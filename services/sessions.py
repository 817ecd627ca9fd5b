"""Sessions: creating and joining them, the studio's own, limits, and following the loaded pipeline."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from config import Config
from pipeline.manager import PipelineManager
from pipeline.protocol import Pipeline
from pipeline.session import Kind, Session
from pipeline.standby import StandbyPipeline
from pipeline.validation import InvalidParameters
from rtc.peers import PeerRegistry, SessionPeers

from .access import Role, new_tokens, role_of
from .errors import Forbidden, LimitReached, NotFound, NotReady, Unprocessable

log = logging.getLogger(__name__)
STUDIO_SESSION = 'studio'
NOT_LOADED = 'Pipeline not loaded. Please load pipeline first.'


class SessionService:
    """Every session of the server. Named sessions and the studio's own outlive their peers; a session renders only
    while someone watches it, and only `max_sessions` render at once (`SessionLifecycle` ends and idles them)."""

    def __init__(self, config: Config, manager: PipelineManager, peers: PeerRegistry) -> None:
        self.config = config
        self.manager = manager
        self.peers = peers
        self.sessions: dict[str, Session] = {}
        self.own_pipelines: set[str] = set()  # sessions that keep their own pipeline when the loaded one changes
        peers.audience_listeners.append(self._on_audience_changed)

    def get(self, session_id: str) -> Session | None:
        """A running session by id."""
        session = self.sessions.get(session_id)
        return session if session is not None and not session.closed else None

    def require(self, session_id: str) -> Session:
        """A running session by id, or NotFound."""
        session = self.get(session_id)
        if session is None:
            raise NotFound(f'Session {session_id} not found')
        return session

    def running(self) -> list[Session]:
        """Every session that has not ended."""
        return [session for session in self.sessions.values() if not session.closed]

    def live(self) -> list[Session]:
        """The sessions the limit counts: every ephemeral one (it exists for its peer) and shared ones rendering."""
        return [s for s in self.running() if not s.shared or s.rendering.is_set()]

    def create(self, initial: dict[str, Any] | None = None, *, kind: Kind = 'ephemeral',
               name: str | None = None, pipeline: tuple[Pipeline, str] | None = None) -> Session:
        """A new session on the loaded pipeline (or the one `pipeline_ids` names), not rendering yet.

        While the pipeline is still loading the session starts on standby and moves on to it once it is ready.
        `pipeline` (an instance and its id) gives the session a pipeline of its own instead, which it keeps when the
        loaded one changes (Daydream streams load theirs).
        Raises NotReady without a pipeline, Unprocessable for invalid parameters, LimitReached over the limit of
        shared sessions (`admit` checks the limit of rendering sessions when the first consumer comes).
        """
        initial = dict(initial or {})
        if kind != 'ephemeral' and sum(s.shared for s in self.running()) >= self.config.max_named_sessions:
            raise LimitReached(f'Too many sessions: this server keeps at most {self.config.max_named_sessions} '
                               'shared sessions (DREAMSTAGE_MAX_NAMED_SESSIONS). End one first.')
        own = pipeline is not None
        instance, pipeline_id = pipeline or self._pipeline_for(initial.get('pipeline_ids'))
        try:
            session = Session(instance, pipeline_id=pipeline_id, input_mode=initial.get('input_mode'),
                              initial=initial, stamp_frames=self.config.stamp_frames, kind=kind, name=name)
        except InvalidParameters as error:
            raise Unprocessable(f'Invalid initialParameters: {error}') from None
        session.tokens = new_tokens()
        self.sessions[session.id] = session
        if own:
            self.own_pipelines.add(session.id)
        session.stop_listeners.append(lambda _error: self._forget(session.id))
        self.peers.attachment(session)
        return session

    def studio(self) -> Session:
        """The studio's own session (the one `/` shows), created when first asked for."""
        for session in self.running():
            if session.kind == 'studio':
                return session
        return self.create(kind='studio', name=STUDIO_SESSION)

    def join(self, session_id: str, token: str | None) -> tuple[Session, Role]:
        """The session a token opens and the role it grants (NotFound, Forbidden)."""
        session = self.require(session_id)
        role = role_of(session.tokens, token)
        if role is None:
            raise Forbidden('This session needs its control or view token to join')
        return session, role

    def admit(self, session: Session) -> SessionPeers:
        """Make room for one more consumer of a session: its audience, or LimitReached."""
        audience = self.peers.attachment(session)
        if audience.audience >= self.config.max_peers_per_session:
            raise LimitReached(f'Too many viewers: a session takes at most {self.config.max_peers_per_session} '
                               'connections (DREAMSTAGE_MAX_PEERS_PER_SESSION).')
        if session.shared and not session.rendering.is_set():
            self.check_rendering_limit()
        return audience

    def check_rendering_limit(self) -> None:
        """LimitReached when the server already renders its maximum number of sessions."""
        if len(self.live()) >= self.config.max_sessions:
            raise LimitReached(f'Too many sessions: this server runs at most {self.config.max_sessions} at once '
                               '(DREAMSTAGE_MAX_SESSIONS). Join an existing session or end one first.')

    async def end(self, session: Session, error: str | None = None) -> None:
        """End a session: its peers get `stream_stopped`, its worker stops."""
        session.close(error)
        await session.join()

    def links(self, session: Session, base_url: str) -> dict[str, str]:
        """The control and view links of a session."""
        base = base_url.rstrip('/')
        return {role: f'{base}/s/{session.id}?token={token}' for role, token in session.tokens.items()}

    def follow_pipeline_reloads(self, loop: asyncio.AbstractEventLoop) -> None:
        """When the loaded pipeline changes, running sessions go on with the new one (their viewers stay)."""

        def on_loaded() -> None:
            chain = self.manager.loaded_chain()
            pipeline = self.manager.instance(chain[-1]) if chain else None
            if pipeline is None:
                return
            for session in self.running():
                if session.pipeline is not pipeline and session.id not in self.own_pipelines:
                    asyncio.run_coroutine_threadsafe(session.switch_pipeline(pipeline, chain[-1]), loop)

        self.manager.on_loaded.append(on_loaded)

    async def close_all(self) -> None:
        sessions = self.running()
        for session in sessions:
            session.close()
        await asyncio.gather(*(session.join() for session in sessions))

    def _pipeline_for(self, pipeline_ids: list[str] | None) -> tuple[Pipeline, str]:
        status = self.manager.status()
        if status['status'] == 'loading':
            width, height = self.manager.pending_size()
            return StandbyPipeline(width, height), 'standby'
        chain = pipeline_ids or self.manager.loaded_chain()
        if status['status'] != 'loaded' or not chain:
            raise NotReady(NOT_LOADED)
        pipeline = self.manager.instance(chain[-1])
        if pipeline is None:
            raise NotReady(f"Pipeline '{chain[-1]}' is not loaded. Loaded: {self.manager.loaded_chain()}")
        return pipeline, chain[-1]

    def _forget(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        self.own_pipelines.discard(session_id)

    def _on_audience_changed(self, audience: SessionPeers, clean: bool) -> None:
        """Someone came: the session renders. The last one went: an ephemeral session ends at once if they left
        cleanly (the lifecycle ends it after a grace period otherwise, and idles shared sessions)."""
        session = audience.session
        if session.closed:
            return
        if audience.audience > 0:
            session.start()
        elif clean and not session.shared:
            session.close()
