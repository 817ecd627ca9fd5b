"""Settings a browser keeps across reloads (its localStorage), such as the Presets tab's Morph switch."""
from __future__ import annotations

import json

from nicegui import events, ui
from nicegui.elements.mixins.value_element import ValueElement

PREFIX = 'dreamstage.'


def remember(element: ValueElement, key: str) -> None:
    """Keep an element's value in this browser under `dreamstage.<key>` and put it back when the page opens."""
    name = json.dumps(PREFIX + key)
    event = f'dreamstage-setting-{key}'

    def store(change: events.ValueChangeEventArguments) -> None:
        ui.run_javascript(f'localStorage.setItem({name}, {json.dumps(json.dumps(change.value))})')

    ui.on(event, lambda e: element.set_value(e.args))
    element.on_value_change(store)
    ui.run_javascript(f'const stored = localStorage.getItem({name}); '
                      f'if (stored !== null) emitEvent({json.dumps(event)}, JSON.parse(stored));')
