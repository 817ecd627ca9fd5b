"""Helpers for the simulated studio (NiceGUI's `User`)."""
from __future__ import annotations

import asyncio
from typing import Any

from nicegui import app, ui
from nicegui.testing import User

from pipeline.session import Session


def session() -> Session:
    """The studio's own session."""
    return app.state.context.sessions.studio()


def only(user: User, marker: str) -> Any:
    """The one element with this marker."""
    elements = user.find(marker=marker).elements
    assert len(elements) == 1, f'{len(elements)} elements marked {marker}'
    return next(iter(elements))


async def press(user: User, key: str) -> None:
    """A key press outside the text fields, as the browser reports it to `ui.keyboard`."""
    arguments = {'key': key, 'code': key, 'location': 0, 'repeat': False, 'altKey': False, 'ctrlKey': False,
                 'metaKey': False, 'shiftKey': False}
    keyboard = user.find(ui.keyboard)
    keyboard.trigger('key', {**arguments, 'action': 'keydown'})
    keyboard.trigger('key', {**arguments, 'action': 'keyup'})
    await asyncio.sleep(0.05)  # the handler runs as a task
