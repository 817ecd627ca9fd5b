"""Controls generated from a pipeline's JSON schema and its `ui` metadata, so a new pipeline needs no UI code."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from nicegui import ui

from pipeline.catalog import FieldSpec

from .denoising_steps import DenoisingSteps

OnChange = Callable[[Any], Any]


def field_control(spec: FieldSpec, value: Any, on_change: OnChange, *, live: bool = True) -> ui.element:
    """An input for one field; `on_change` gets each new valid value. The element has `set_value`.

    `live`: the value changes a running session (typed numbers wait for Enter); else it only fills a form."""
    value = spec.default if value is None else value
    if spec.component == 'denoising_steps' or (spec.kind == 'list' and spec.key == 'denoising_step_list'):
        return DenoisingSteps(spec.label, value or [], on_change)
    if spec.kind == 'bool':
        return ui.switch(spec.label, value=bool(value), on_change=lambda e: on_change(bool(e.value))).props('dense')
    if spec.kind == 'enum':
        return ui.select(spec.options, label=spec.label, value=value,
                         on_change=lambda e: on_change(e.value)).props('dense').classes('w-full')
    if spec.kind == 'float' and spec.minimum is not None and spec.maximum is not None:
        return LabelledSlider(spec, float(value if value is not None else spec.minimum), on_change)
    if spec.kind in ('int', 'float'):
        return NumberField(spec, value, on_change, live=live)
    if spec.kind == 'list':
        return list_input(spec, value, on_change)
    text = ui.input(spec.label, value=str(value or '')).props('dense').classes('w-full')
    text.on('keydown.enter', lambda: on_change(text.value))
    text.on('blur', lambda: on_change(text.value))
    return text


def list_input(spec: FieldSpec, value: Any, on_change: OnChange) -> ui.input_chips:
    """Chips for a list of numbers or words; numbers are checked before they are sent."""
    numeric = spec.item_kind in ('int', 'float')

    def parse(chips: list[str]) -> list[Any] | None:
        if not numeric:
            return list(chips)
        try:
            return [int(chip) if spec.item_kind == 'int' else float(chip) for chip in chips]
        except ValueError:
            return None

    def changed(chips: list[str]) -> None:
        if (values := parse(chips)) is not None:
            on_change(values)

    return ui.input_chips(spec.label, value=[str(v) for v in value or []], new_value_mode='add',
                          on_change=lambda e: changed(list(e.value)),
                          validation=lambda chips: None if parse(chips) is not None else 'numbers only') \
        .props('dense').classes('w-full')


class NumberField(ui.number):
    """A number that only reports values inside the field's bounds. A live one applies on Enter or when it loses
    focus, and shows meanwhile that the typed value waits; a form's reports every valid value."""

    pending = False  # (class defaults: ui.number's own __init__ already calls set_value)
    applied: Any = None

    def __init__(self, spec: FieldSpec, value: Any, on_change: OnChange, *, live: bool = True) -> None:
        integer = spec.kind == 'int'
        super().__init__(spec.label, value=value, min=spec.minimum, max=spec.maximum, step=1 if integer else 0.01,
                         precision=0 if integer else None)
        self.props('dense').classes('w-full')
        self.spec = spec
        self.integer = integer
        self.report = on_change
        self.applied = value
        self.live = live
        self.on('keydown.enter', self.commit)
        self.on('blur', self.commit)
        self.on_value_change(self._typed)

    def show_applied(self, value: Any) -> Self:
        """Show a value applied elsewhere (typed values come in through `set_value`, and wait)."""
        self.applied = value
        self.set_value(value)
        self._show_pending()
        return self

    def commit(self) -> None:
        """Apply the typed value (values outside the bounds are not sent)."""
        new, spec = self.value, self.spec
        if new is None or (spec.minimum is not None and new < spec.minimum) or \
                (spec.maximum is not None and new > spec.maximum):
            return
        self.applied = int(new) if self.integer else float(new)
        self.report(self.applied)
        self._show_pending()

    def _typed(self) -> None:
        if self.live:
            self._show_pending()
        else:
            self.commit()

    def _show_pending(self) -> None:
        pending = self.value is not None and self.value != self.applied
        if pending != self.pending:
            self.pending = pending
            if pending:
                self.props('color=warning hint="Enter applies"')
            else:
                self.props(remove='color hint')


class LabelledSlider(ui.column):
    """A slider with its label and value readout on one line above it."""

    def __init__(self, spec: FieldSpec, value: float, on_change: OnChange) -> None:
        super().__init__()
        self.classes('w-full gap-0')
        span = (spec.maximum or 1.0) - (spec.minimum or 0.0)
        step = 0.01 if span <= 2 else 0.1 if span <= 20 else 1.0
        with self:
            with ui.row().classes('w-full items-center no-wrap'):
                ui.label(spec.label).classes('ds-field-label')
                ui.space()
                self.readout = ui.label(f'{value:.2f}').classes('ds-readout')
            self.slider = ui.slider(min=spec.minimum or 0.0, max=spec.maximum or 1.0, step=step, value=value,
                                    on_change=lambda e: self._changed(e.value, on_change)).props('dense')

    def _changed(self, value: float | None, on_change: OnChange) -> None:
        if value is None:
            return
        self.readout.set_text(f'{value:.2f}')
        on_change(float(value))

    def set_value(self, value: Any) -> None:
        if value is None:
            return
        self.readout.set_text(f'{float(value):.2f}')
        self.slider.set_value(float(value))

    @property
    def value(self) -> float:
        return float(self.slider.value)

