"""What the session renders beyond the creator's prompts (the audio engine's words), shown apart from the prompt box."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from pipeline.prompts import normalize

from .sync import SessionSync

Prompts = list[dict[str, Any]]


class EngineAdditions(ui.row):
    """A line under the prompts while the audio engine adds words: the creator's text stays theirs."""

    def __init__(self, sync: SessionSync) -> None:
        super().__init__()
        self.sync = sync
        self.shown: str | None = None
        self.classes('ds-additions w-full items-start no-wrap gap-2').mark('engine-additions')
        with self:
            ui.icon('graphic_eq', size='16px').classes('text-secondary')
            self.label = ui.label('').classes('ds-additions-text grow')
        self.set_visibility(False)
        sync.every(2, self.show, self)

    def show(self) -> None:
        state = self.sync.session.state
        text = additions(state.authored_prompts(), state.snapshot().get('prompts') or [])
        if text == self.shown:
            return
        self.shown = text
        self.label.set_text(text or '')
        self.set_visibility(text is not None)


def additions(authored: Prompts, rendered: Prompts) -> str | None:
    """How `rendered` differs from `authored`: the words added to it, or the whole blend; None when they are equal."""
    if normalize(authored) == normalize(rendered):
        return None
    if len(authored) == len(rendered):
        words = []
        for mine, shown in zip(authored, rendered, strict=True):
            base, text = str(mine.get('text', '')), str(shown.get('text', ''))
            if text.startswith(f'{base}, '):
                words.append(text[len(base) + 2:])
            elif text != base:
                break
        else:
            if words:
                return f'The audio engine adds: {", ".join(words)}'
    blend = normalize(rendered)
    shares = ' · '.join(f'{text} ({round(100 * weight)} %)' for text, weight in blend)
    return f'The audio engine renders: {shares}'
