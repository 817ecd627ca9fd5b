"""Sessions shared by link: creating, listing and ending named sessions, and following pipeline reloads."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from pipeline.session import Session

from .access import check_session_limit, issue_tokens
from .context import ServerContext

log = logging.getLogger(__name__)
STUDIO_SESSION = 'studio'


def create_named_session(context: ServerContext, name: str | None = None,
                         initial: dict[str, Any] | None = None) -> Session:
    """A session that lives until it is ended (not when its last viewer leaves), with its tokens."""
    check_session_limit(context)
    chain = context.manager.loaded_chain()
    if not chain:
        raise LookupError('No pipeline is loaded yet. Load one first (POST /api/v1/pipeline/load).')
    pipeline = context.manager.instance(chain[-1])
    assert pipeline is not None
    session = Session(pipeline, pipeline_id=chain[-1], initial=initial, stamp_frames=context.config.stamp_frames)
    session.name = name
    issue_tokens(session)
    context.sessions.add(session)
    context.peers.attachment(session, ephemeral=False)
    session.start()
    return session


def studio_session(context: ServerContext) -> Session:
    """The studio's own session (the one `/` shows), created when first asked for."""
    for session in context.sessions.sessions.values():
        if session.name == STUDIO_SESSION and not session.closed:
            return session
    return create_named_session(context, STUDIO_SESSION)


def links(context: ServerContext, session: Session, base_url: str) -> dict[str, str]:
    """The control and view links of a session."""
    base = base_url.rstrip('/')
    return {role: f'{base}/s/{session.id}?token={token}' for role, token in session.tokens.items()}


def follow_pipeline_reloads(context: ServerContext, loop: asyncio.AbstractEventLoop) -> None:
    """When the loaded pipeline changes, running sessions go on with the new one (their viewers stay)."""

    def on_loaded() -> None:
        chain = context.manager.loaded_chain()
        if not chain:
            return
        pipeline = context.manager.instance(chain[-1])
        if pipeline is None:
            return
        for session in list(context.sessions.sessions.values()):
            if session.pipeline is not pipeline:
                asyncio.run_coroutine_threadsafe(session.switch_pipeline(pipeline, chain[-1]), loop)

    context.manager.on_loaded.append(on_loaded)
