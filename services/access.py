"""Who may do what: the server's API key and the control and view tokens of shared sessions."""
from __future__ import annotations

import hmac
import secrets

from rtc.peers import Role


def new_tokens() -> dict[str, str]:
    """Unguessable control and view tokens for a session."""
    return {'control': secrets.token_urlsafe(24), 'view': secrets.token_urlsafe(24)}


def role_of(tokens: dict[str, str], token: str | None) -> Role | None:
    """The role a token grants among a session's tokens (compared in constant time), or None."""
    if not token:
        return None
    granted: Role | None = None
    for role in ('control', 'view'):
        expected = tokens.get(role, '')
        if expected and same_secret(expected, token) and granted is None:
            granted = role  # type: ignore[assignment]
    return granted


def same_secret(expected: str, presented: str) -> bool:
    """Whether a presented key or token is the expected one (constant time)."""
    return hmac.compare_digest(expected.encode(), presented.encode())
