"""The `parameters` data channel: parsing client messages and the messages the server sends back."""
from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE_BYTES = 64 * 1024


class BadMessage(ValueError):
    """A data-channel message that is not a JSON object."""


def parse_message(raw: str | bytes) -> dict[str, Any]:
    """A message as a dict (the session checks its parameters); raises BadMessage with a clear reason."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadMessage(f'message too large ({len(raw)} bytes, at most {MAX_MESSAGE_BYTES})')
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise BadMessage(f'message is not valid JSON: {error}') from None
    if not isinstance(data, dict):
        raise BadMessage(f'message must be a JSON object, not {type(data).__name__}')
    return data


def error_message(message: str) -> str:
    """A reply to a message the server could not apply (the stream goes on)."""
    return json.dumps({'type': 'error', 'error_message': message})


def stream_stopped(error: str | None) -> str:
    """Sent when a stream ends; `error_message` says why when it failed."""
    body: dict[str, Any] = {'type': 'stream_stopped'}
    if error:
        body.update(error_message=error, fatal=True)
    return json.dumps(body)


def parameters_updated(parameters: dict[str, Any]) -> str:
    """Sent after parameters changed."""
    return json.dumps({'type': 'parameters_updated', 'parameters': parameters}, allow_nan=False)
