"""The denoising steps editor: an editable list of timesteps with Soundscape's speed / balanced / quality presets."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

PRESETS: dict[str, list[int]] = {
    'speed': [1000, 500, 250],
    'balanced': [1000, 750, 500, 250],
    'quality': [1000, 850, 700, 550, 400, 250],
}


class DenoisingSteps(ui.column):
    """Timesteps (0-1000, applied in descending order) as chips, and one-click presets."""

    def __init__(self, label: str, value: list[int], on_change: Callable[[list[int]], Any]) -> None:
        super().__init__()
        self.classes('w-full gap-1')
        self.on_change = on_change
        self.steps = list(value)
        with self:
            with ui.row().classes('w-full items-center no-wrap'):
                ui.label(label).classes('ds-field-label')
                ui.space()
                self.presets = ui.toggle({name: name.capitalize() for name in PRESETS}, value=preset_of(self.steps),
                                         on_change=lambda e: self._choose(e.value)) \
                    .props('dense no-caps size=sm toggle-color=primary').classes('ds-toggle').mark('denoising-presets')
            self.chips = ui.input_chips(value=[str(s) for s in self.steps], new_value_mode='add-unique',
                                        on_change=lambda e: self._edited(e.value),
                                        validation=lambda chips: problem(chips)) \
                .props('dense hide-bottom-space').classes('w-full').mark('denoising-steps')

    @property
    def value(self) -> list[int]:
        return list(self.steps)

    def set_value(self, value: Any) -> None:
        """Show steps changed elsewhere."""
        if not isinstance(value, list) or value == self.steps:
            return
        self._show([int(s) for s in value])

    def _choose(self, preset: str | None) -> None:
        if preset is None or PRESETS[preset] == self.steps:
            return
        self._show(list(PRESETS[preset]))
        self.on_change(list(self.steps))

    def _edited(self, chips: list[str]) -> None:
        if problem(chips):
            return
        steps = sorted({int(chip) for chip in chips}, reverse=True)
        if steps == self.steps:
            if [str(s) for s in steps] != chips:
                self._show(steps)
            return
        self._show(steps)
        self.on_change(list(steps))

    def _show(self, steps: list[int]) -> None:
        self.steps = steps
        chips = [str(s) for s in steps]
        if self.chips.value != chips:
            self.chips.set_value(chips)
        self.presets.set_value(preset_of(steps))


def preset_of(steps: list[int]) -> str | None:
    """The name of the preset these steps are, if any."""
    return next((name for name, preset in PRESETS.items() if preset == steps), None)


def problem(chips: list[str]) -> str | None:
    """Why these chips are not a usable step list, or None."""
    if not chips:
        return 'at least one step'
    if not all(chip.strip().isdigit() and 0 <= int(chip) <= 1000 for chip in chips):
        return 'whole numbers from 0 to 1000'
    return None
