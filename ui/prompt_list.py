"""An editable list of weighted prompts: add, remove, a share slider each; Enter applies."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from pipeline.prompts import normalize

from .theme import tip

Prompts = list[dict[str, Any]]
APPLY_KEY = 'keydown.enter.exact.prevent'  # Enter applies, Shift+Enter starts a new line


@dataclass(slots=True)
class PromptRow:
    """The text field and share slider of one prompt."""

    text: ui.textarea
    share: ui.slider
    readout: ui.label
    mix: ui.row


class PromptList(ui.column):
    """Prompts with weights shown as shares of the blend (they always sum to 100 %).

    Text edits wait for Enter (or the caller's Apply); moving a share slider calls `on_weights` at once.
    """

    def __init__(self, prompts: Prompts, *, on_apply: Callable[[], None], on_weights: Callable[[], None] | None = None,
                 placeholder: str = 'Describe what you want to see', name: str = 'prompt',
                 editable: bool = True) -> None:
        """`editable` False: no add and remove buttons (a view-only link; the page disables the rest)."""
        super().__init__()
        self.classes('w-full gap-2')
        self.on_apply = on_apply
        self.on_weights = on_weights
        self.placeholder = placeholder
        self.name = name
        self.editable = editable
        self.rows: list[PromptRow] = []
        self.dirty = False
        self.adjusting = False  # values are being put in by code, not typed or dragged
        self.dirty_listeners: list[Callable[[bool], Any]] = []
        self.revert_listeners: list[Callable[[], Any]] = []
        with self:
            self.list = ui.column().classes('w-full gap-2')
            ui.button('Add prompt', icon='add', on_click=self.add).props('flat dense no-caps size=sm') \
                .classes('ds-ghost').mark(f'add-{name}').set_visibility(editable)
        self._build(prompts or [{'text': '', 'weight': 1.0}])

    @property
    def value(self) -> Prompts:
        """The prompts with text, weights as shares summing to 1."""
        return [{'text': row.text.value.strip(), 'weight': round(row.share.value / 100, 4)}
                for row in self.rows if (row.text.value or '').strip()]

    def set_value(self, prompts: Prompts | None) -> None:
        """Show prompts applied elsewhere (kept back while this list has unapplied edits)."""
        if self.dirty or not prompts or normalize(prompts) == normalize(self.value):
            return
        if len(prompts) != len(self.rows):
            self._build(prompts)
            return
        shares = _shares(prompts)
        with self._adjusting():
            for row, prompt, share in zip(self.rows, prompts, shares, strict=True):
                row.text.set_value(str(prompt.get('text', '')))
                self._show_share(row, share)

    def add(self) -> None:
        prompts = [{'text': row.text.value, 'weight': row.share.value} for row in self.rows]
        self._build([*prompts, {'text': '', 'weight': 100 / max(1, len(prompts))}])
        self.rows[-1].text.run_method('focus')

    def remove_row(self, row: PromptRow) -> None:
        if len(self.rows) <= 1:
            return
        remaining = [{'text': r.text.value, 'weight': r.share.value} for r in self.rows if r is not row]
        self._build(remaining)
        if self.on_weights:
            self.on_weights()

    def revert(self) -> None:
        """Drop unapplied edits: show the prompts the session has."""
        self._set_dirty(False)
        for listener in self.revert_listeners:
            listener()

    def mark_applied(self) -> None:
        self._set_dirty(False)

    def _build(self, prompts: Prompts) -> None:
        self.list.clear()
        self.rows = []
        shares = _shares(prompts)
        with self._adjusting(), self.list:
            for index, (prompt, share) in enumerate(zip(prompts, shares, strict=True)):
                self.rows.append(self._row(index, str(prompt.get('text', '')), share))
        self._enable_shares()

    def _row(self, index: int, text: str, share: float) -> PromptRow:
        with ui.column().classes('ds-prompt w-full gap-0'):
            field = ui.textarea(value=text, placeholder=self.placeholder) \
                .props('autogrow dense borderless input-class="ds-prompt-text"').classes('w-full') \
                .mark(f'{self.name}-{index}')
            field.on(APPLY_KEY, self._apply)
            field.on('keydown.esc', self.revert)
            field.on_value_change(self._typed)
            with ui.row().classes('w-full items-center no-wrap gap-2') as mix:
                ui.label('mix').classes('ds-field-label')
                slider = ui.slider(min=0, max=100, step=1, value=round(100 * share)).props('dense') \
                    .classes('grow').mark(f'{self.name}-weight-{index}')
                readout = ui.label(f'{round(100 * share)} %').classes('ds-readout w-12 text-right whitespace-nowrap')
                row = PromptRow(field, slider, readout, mix)
                slider.on_value_change(lambda e, row=row: self._share_moved(row, e.value))
                if self.editable:
                    tip(ui.button(icon='close', on_click=lambda row=row: self.remove_row(row))
                        .props('flat round dense size=sm').classes('ds-ghost'), 'Remove this prompt') \
                        .mark(f'remove-{self.name}-{index}')
        return row

    def _apply(self) -> None:
        self.on_apply()

    def _typed(self) -> None:
        if not self.adjusting:
            self._set_dirty(True)

    def _share_moved(self, moved: PromptRow, value: float | None) -> None:
        """Give the moved prompt its share and rescale the others so the shares still sum to 100 %."""
        if value is None or self.adjusting or len(self.rows) < 2:
            return
        others = [row for row in self.rows if row is not moved]
        rest = sum(row.share.value for row in others)
        remaining = 100.0 - value
        with self._adjusting():
            for row in others:
                share = row.share.value / rest * remaining if rest > 0 else remaining / len(others)
                self._show_share(row, share / 100)
        moved.readout.set_text(f'{round(value)} %')
        if self.on_weights:
            self.on_weights()

    def _show_share(self, row: PromptRow, share: float) -> None:
        percent = round(100 * share)
        row.share.set_value(percent)
        row.readout.set_text(f'{percent} %')

    def _enable_shares(self) -> None:
        for row in self.rows:
            row.mix.set_visibility(len(self.rows) > 1)

    def _adjusting(self) -> AbstractContextManager[None]:
        return _adjusting_flag(self)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            for listener in self.dirty_listeners:
                listener(dirty)


@contextmanager
def _adjusting_flag(prompt_list: PromptList) -> Iterator[None]:
    previous, prompt_list.adjusting = prompt_list.adjusting, True
    try:
        yield
    finally:
        prompt_list.adjusting = previous


def _shares(prompts: Prompts) -> list[float]:
    """Weights as shares summing to 1 (equal shares when they sum to 0)."""
    weights = [max(0.0, float(p.get('weight', 1.0))) for p in prompts]
    total = sum(weights)
    return [w / total if total > 0 else 1 / len(weights) for w in weights] if weights else []
