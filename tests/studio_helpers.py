"""Helpers for the simulated studio (NiceGUI's `User`)."""
from __future__ import annotations

import asyncio

from nicegui import ui
from nicegui.testing import User


async def press(user: User, key: str) -> None:
    """A key press outside the text fields, as the browser reports it to `ui.keyboard`."""
    arguments = {'key': key, 'code': key, 'location': 0, 'repeat': False, 'altKey': False, 'ctrlKey': False,
                 'metaKey': False, 'shiftKey': False}
    keyboard = user.find(ui.keyboard)
    keyboard.trigger('key', {**arguments, 'action': 'keydown'})
    keyboard.trigger('key', {**arguments, 'action': 'keyup'})
    await asyncio.sleep(0.05)  # the handler runs as a task
