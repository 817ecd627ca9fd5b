"""The Render tab's timeline: prompts that start at a chunk, each a cut or a transition over some chunks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from .theme import hint


@dataclass(slots=True)
class TimelineEntry:
    """From chunk `chunk` on, show `prompts`: at once (`steps` 0) or by a transition over `steps` chunks."""

    chunk: int
    prompts: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    method: str = 'linear'

    @property
    def text(self) -> str:
        return ' + '.join(str(p.get('text', '')) for p in self.prompts)

    def spec(self) -> dict[str, Any] | None:
        """The entry as a chunk spec (None without a prompt)."""
        if not any(str(p.get('text', '')).strip() for p in self.prompts):
            return None
        if self.steps > 0:
            return {'chunk': self.chunk, 'transition_target_prompts': self.prompts, 'transition_num_steps': self.steps,
                    'transition_method': self.method}
        return {'chunk': self.chunk, 'prompts': self.prompts}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> TimelineEntry:
        if spec.get('transition_target_prompts'):
            return cls(int(spec['chunk']), list(spec['transition_target_prompts']),
                       int(spec.get('transition_num_steps') or 0), str(spec.get('transition_method') or 'linear'))
        return cls(int(spec['chunk']), list(spec.get('prompts') or [{'text': spec.get('text', ''), 'weight': 1.0}]))


class RenderTimeline:
    """Rows of (chunk, prompt, transition steps); Add puts a row after the last one."""

    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []
        with ui.row().classes('w-full items-center no-wrap gap-2'):
            ui.label('Timeline').classes('ds-field-label')
            ui.space()
            ui.button('Add prompt', icon='add', on_click=self.add).props('flat dense no-caps').mark('render-add')
        self.rows = ui.column().classes('w-full gap-1 ds-render-timeline').mark('render-timeline')
        self.show()

    def add(self) -> None:
        """A new row 30 chunks after the last one."""
        last = max((entry.chunk for entry in self.entries), default=0)
        self.entries.append(TimelineEntry(last + 30, [{'text': '', 'weight': 1.0}]))
        self.show()

    def set_specs(self, specs: list[dict[str, Any]]) -> None:
        """Show these chunk specs as rows."""
        self.entries = [TimelineEntry.from_spec(spec) for spec in specs]
        self.show()

    def specs(self) -> list[dict[str, Any]]:
        """The rows as chunk specs, in chunk order (rows without a prompt are left out)."""
        specs = [spec for entry in sorted(self.entries, key=lambda e: e.chunk) if (spec := entry.spec())]
        return specs

    def show(self) -> None:
        self.rows.clear()
        with self.rows:
            if not self.entries:
                hint('One prompt all the way. Add prompts that start at a chunk (one chunk is one pipeline call).')
            for index, entry in enumerate(self.entries):
                self._row(index, entry)

    def _row(self, index: int, entry: TimelineEntry) -> None:
        with ui.row().classes('w-full items-center no-wrap gap-1').mark(f'render-entry-{index}'):
            ui.number('Chunk', value=entry.chunk, min=0, step=1, precision=0,
                      on_change=lambda e, it=entry: setattr(it, 'chunk', max(0, int(e.value or 0)))) \
                .props('dense').classes('w-16').mark(f'render-entry-chunk-{index}')
            ui.input('Prompt', value=entry.text, on_change=lambda e, it=entry: self._set_text(it, e.value)) \
                .props('dense').classes('grow').mark(f'render-entry-prompt-{index}')
            ui.number('Steps', value=entry.steps, min=0, max=1000, step=1, precision=0,
                      on_change=lambda e, it=entry: setattr(it, 'steps', max(0, int(e.value or 0)))) \
                .props('dense').classes('w-14').tooltip('Transition steps (chunks); 0 cuts at once') \
                .mark(f'render-entry-steps-{index}')
            ui.button(icon='close', on_click=lambda it=entry: self._remove(it)).props('flat round dense size=sm') \
                .classes('ds-ghost').tooltip('Remove')

    def _set_text(self, entry: TimelineEntry, text: str | None) -> None:
        if (text or '') != entry.text:
            entry.prompts = [{'text': text or '', 'weight': 1.0}]

    def _remove(self, entry: TimelineEntry) -> None:
        self.entries.remove(entry)
        self.show()
