"""The studio's look: a dark instrument palette, panel sections and small labelled readouts."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from nicegui import ui

T = TypeVar('T', bound=ui.element)
STATIC = Path(__file__).resolve().parent.parent / 'static'  # beside `ui/`, in the repo and in an installed wheel
COLORS = {
    'primary': '#8b7bff',
    'secondary': '#2dd4bf',
    'accent': '#f472b6',
    'dark': '#12151c',
    'dark_page': '#0a0c11',
    'positive': '#34d399',
    'negative': '#f87171',
    'info': '#60a5fa',
    'warning': '#fbbf24',
}


def apply_theme() -> None:
    """Colours, fonts and the studio stylesheet for the current page."""
    ui.colors(**COLORS)
    ui.dark_mode(True)
    ui.add_head_html('<link rel="stylesheet" href="/static/studio.css">'
                     '<meta name="viewport" content="width=device-width, initial-scale=1">')
    ui.query('.nicegui-content').classes('ds-content')
    ui.query('body').classes('ds-body')


@contextmanager
def section(title: str, icon: str | None = None, *, hint: str | None = None) -> Iterator[ui.column]:
    """A titled block inside a panel."""
    with ui.column().classes('ds-section w-full') as column:
        with ui.row().classes('items-center gap-2 w-full no-wrap'):
            if icon:
                ui.icon(icon, size='16px').classes('ds-muted')
            ui.label(title).classes('ds-label')
            if hint:
                ui.space()
                ui.label(hint).classes('ds-hint ds-section-hint text-right truncate min-w-0')
        yield column


def tip(element: T, text: str) -> T:
    """A tooltip inside `element`, anchored to it as its parent. (NiceGUI's `.tooltip()` looks its target up by id in
    the document, which fails with a console error while a kept-alive tab that is not shown rebuilds its content.)"""
    with element:
        ui.tooltip(text)
    return element


def readout(text: str = '') -> ui.label:
    """A small monospaced value display."""
    return ui.label(text).classes('ds-readout')


def hint(text: str) -> ui.label:
    """A quiet explanatory line."""
    return ui.label(text).classes('ds-hint')


def notify(message: str, kind: Literal['positive', 'negative', 'warning', 'info'] = 'info', **options: Any) -> None:
    """A short message in the corner; errors stay longer."""
    options.setdefault('timeout', 7000 if kind == 'negative' else 2500)
    options.setdefault('position', 'bottom-right')
    ui.notify(message, type=kind, **options)
