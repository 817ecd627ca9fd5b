"""Keyboard shortcuts for live use, and their list on the page."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import events, ui

Actions = dict[str, Callable[[], Any]]


@dataclass(frozen=True, slots=True)
class Shortcut:
    """A key (or keys) and the studio action it triggers."""

    keys: tuple[str, ...]
    action: str
    label: str

    @property
    def shown(self) -> str:
        if len(self.keys) > 3:
            return f'{self.keys[0]}-{self.keys[-1]}'
        return ' / '.join(KEY_NAMES.get(key, key.upper()) for key in self.keys)


SHORTCUTS = (
    Shortcut(('Enter',), 'apply', 'Apply the prompts'),
    Shortcut((' ',), 'pause', 'Pause / resume'),
    Shortcut(('n', 'ArrowRight'), 'next', 'Next preset'),
    Shortcut(('p', 'ArrowLeft'), 'previous', 'Previous preset'),
    Shortcut(tuple('123456789'), 'preset', 'Recall preset 1-9'),
    Shortcut(('t',), 'transition', 'Start the transition'),
    Shortcut(('r',), 'reset', 'Reset the cache'),
    Shortcut(('f',), 'fullscreen', 'Fullscreen video'),
    Shortcut(('s',), 'snapshot', 'Download a PNG snapshot'),
    Shortcut(('v',), 'record', 'Start / stop a recording'),
    Shortcut(('i',), 'stats', 'Show / hide the stats overlay'),
    Shortcut(('?',), 'help', 'Show these shortcuts'),
)
KEY_NAMES = {' ': 'Space', 'ArrowRight': '→', 'ArrowLeft': '←', 'Enter': 'Enter', '?': '?'}


def shortcut_for(key: str) -> Shortcut | None:
    """The shortcut a key press triggers, if any."""
    lowered = key if len(key) > 1 else key.lower()
    return next((shortcut for shortcut in SHORTCUTS if lowered in shortcut.keys), None)


def install_shortcuts(actions: Actions, preset: Callable[[int], Any]) -> ui.keyboard:
    """Listen to key presses outside text fields and run the matching action."""

    async def pressed(event: events.KeyEventArguments) -> None:
        if not event.action.keydown or event.action.repeat:
            return
        if event.modifiers.ctrl or event.modifiers.meta or event.modifiers.alt:
            return
        shortcut = shortcut_for(event.key.name)
        if shortcut is None:
            return
        if shortcut.action == 'preset':
            result = preset(int(event.key.name) - 1)
        elif shortcut.action in actions:
            result = actions[shortcut.action]()
        else:
            return
        if inspect.isawaitable(result):
            await result

    return ui.keyboard(on_key=pressed).mark('shortcuts')


CONTROLLING = frozenset({'apply', 'pause', 'next', 'previous', 'preset', 'transition', 'reset'})  # change the session


def shortcut_table(can_control: bool = True) -> None:
    """The shortcuts as a two-column list (a viewer's: only those that act on this page)."""
    with ui.element('div').classes('ds-shortcuts w-full').mark('shortcut-list'):
        for shortcut in SHORTCUTS:
            if not can_control and shortcut.action in CONTROLLING:
                continue
            ui.label(shortcut.shown).classes('ds-key')
            ui.label(shortcut.label).classes('ds-key-label')
