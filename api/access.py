"""Who may do what: session tokens and roles, and the limits on sessions and peers."""
from __future__ import annotations

import hmac
import os
import secrets

from fastapi import HTTPException

from pipeline.session import Session
from rtc.peers import Role, SessionPeers

from .context import ServerContext


def issue_tokens(session: Session) -> None:
    """Give a session unguessable control and view tokens."""
    session.tokens = {'control': secrets.token_urlsafe(24), 'view': secrets.token_urlsafe(24)}


def role_of(session: Session, token: str | None) -> Role | None:
    """The role a token grants on a session (compared in constant time), or None."""
    if not token:
        return None
    granted: Role | None = None
    for role in ('control', 'view'):
        expected = session.tokens.get(role, '')
        if expected and hmac.compare_digest(expected.encode(), token.encode()) and granted is None:
            granted = role  # type: ignore[assignment]
    return granted


def max_sessions() -> int:
    return int(os.environ.get('DREAMSTAGE_MAX_SESSIONS', '8'))


def max_peers() -> int:
    return int(os.environ.get('DREAMSTAGE_MAX_PEERS_PER_SESSION', '16'))


def check_session_limit(context: ServerContext) -> None:
    """429 when the server already runs its maximum number of sessions."""
    running = sum(1 for s in context.sessions.sessions.values() if not s.closed)
    if running >= max_sessions():
        raise HTTPException(429, f'Too many sessions: this server runs at most {max_sessions()} at once '
                                 '(DREAMSTAGE_MAX_SESSIONS). Join an existing session or end one first.')


def check_peer_limit(context: ServerContext, attachment: SessionPeers) -> None:
    """429 when a session already has its maximum number of peers."""
    if len(attachment.peers) >= max_peers():
        raise HTTPException(429, f'Too many viewers: a session takes at most {max_peers()} connections '
                                 '(DREAMSTAGE_MAX_PEERS_PER_SESSION).')
