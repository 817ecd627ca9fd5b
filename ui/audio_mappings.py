"""The mapping editor: one row of editable fields per feature-to-parameter mapping of a preset."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from nicegui import ui

from audio.mapping import Curve, FeatureName, Mapping, ParameterName
from audio.presets import Preset

COLUMNS = ('on', 'feature', 'parameter', 'in min', 'in max', 'out min', 'out max', 'curve', 'attack s', 'release s',
           'threshold', 'hyst.', '')
NUMBERS = ('in_min', 'in_max', 'out_min', 'out_max', 'attack', 'release', 'hysteresis')
GRID = ('grid-template-columns: 2.5rem repeat(2, minmax(6rem, 1.4fr)) repeat(4, minmax(3.2rem, 1fr)) '
        'minmax(6rem, 1.2fr) repeat(4, minmax(3.2rem, 1fr)) 2rem')


class MappingEditor:
    """Edits the mappings of a preset in place; `changed` is called after every edit."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self.changed = changed
        self.preset: Preset | None = None
        self.container = ui.column().classes('w-full gap-1')

    def show(self, preset: Preset) -> None:
        """Rebuild the rows for a preset."""
        self.preset = preset
        self.container.clear()
        with self.container:
            with ui.grid(columns=len(COLUMNS)).classes('w-full gap-x-1 gap-y-0 items-center text-xs').style(GRID) \
                    .mark('audio-mappings'):
                for title in COLUMNS:
                    ui.label(title).classes('opacity-60')
                for index, mapping in enumerate(preset.mappings):
                    self._row(index, mapping)
            with ui.row().classes('gap-2'):
                ui.button('Add mapping', icon='add', on_click=self._add).props('flat dense no-caps size=sm') \
                    .mark('audio-add-mapping')
                if preset.descriptors or preset.spikes:
                    words = ', '.join(d.name for d in preset.descriptors if d.enabled)
                    extra = f'prompt words: {words}' if words else ''
                    if preset.spikes and preset.spikes.enabled:
                        extra += ('; ' if extra else '') + f'{preset.spikes.feature} spikes blend in variations'
                    ui.label(extra).classes('text-xs opacity-60 self-center')

    def _row(self, index: int, mapping: Mapping) -> None:
        ui.checkbox(value=mapping.enabled, on_change=lambda e: self._set(mapping, 'enabled', e.value)).props('dense')
        ui.select(list(get_args(FeatureName)), value=mapping.feature,
                  on_change=lambda e: self._set(mapping, 'feature', e.value)).props('dense options-dense')
        ui.select(list(get_args(ParameterName)), value=mapping.parameter,
                  on_change=lambda e: self._set(mapping, 'parameter', e.value)).props('dense options-dense')
        for field in NUMBERS[:4]:
            self._number(mapping, field)
        ui.select(list(get_args(Curve)), value=mapping.curve,
                  on_change=lambda e: self._set(mapping, 'curve', e.value)).props('dense options-dense')
        self._number(mapping, 'attack')
        self._number(mapping, 'release')
        ui.number(value=mapping.threshold, format='%.3g',
                  on_change=lambda e: self._set(mapping, 'threshold', e.value)) \
            .props('dense clearable').mark(f'audio-mapping-{index}-threshold')
        self._number(mapping, 'hysteresis')
        ui.button(icon='close', on_click=lambda: self._remove(mapping)).props('flat dense round size=sm')

    def _number(self, mapping: Mapping, field: str) -> None:
        ui.number(value=getattr(mapping, field), format='%.3g', step=0.01,
                  on_change=lambda e: self._set(mapping, field, e.value)).props('dense')

    def _set(self, mapping: Mapping, field: str, value: Any) -> None:
        if value is None and field != 'threshold':
            return
        setattr(mapping, field, value)
        self.changed()

    def _add(self) -> None:
        if self.preset is not None:
            self.preset.mappings.append(Mapping(feature='energy', parameter='noise_scale', out_min=0.0, out_max=0.2))
            self.show(self.preset)
            self.changed()

    def _remove(self, mapping: Mapping) -> None:
        if self.preset is not None:
            self.preset.mappings.remove(mapping)
            self.show(self.preset)
            self.changed()
