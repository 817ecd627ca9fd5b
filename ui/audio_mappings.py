"""The mapping editor: a small card of editable fields per feature-to-parameter mapping of a preset."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from nicegui import ui

from audio.mapping import Curve, FeatureName, Mapping, ParameterName
from audio.presets import Preset

from .theme import tip

RANGES = (('in', 'in_min', 'in_max'), ('out', 'out_min', 'out_max'))
TIMING = (('attack s', 'attack'), ('release s', 'release'), ('hyst.', 'hysteresis'))


class MappingEditor:
    """Edits the mappings of a preset in place; `changed` is called after every edit.

    Each mapping is a small card (feature → parameter, then its ranges, curve and timing), so the whole
    editor fits the studio's side panel and a phone without scrolling sideways."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self.changed = changed
        self.preset: Preset | None = None
        self.container = ui.column().classes('w-full gap-1')

    def show(self, preset: Preset) -> None:
        """Rebuild the cards for a preset."""
        self.preset = preset
        self.container.clear()
        with self.container:
            with ui.column().classes('w-full gap-2').mark('audio-mappings'):
                for index, mapping in enumerate(preset.mappings):
                    self._card(index, mapping)
            with ui.row().classes('gap-2'):
                ui.button('Add mapping', icon='add', on_click=self._add).props('flat dense no-caps size=sm') \
                    .mark('audio-add-mapping')
                if preset.descriptors or preset.spikes:
                    words = ', '.join(d.name for d in preset.descriptors if d.enabled)
                    extra = f'prompt words: {words}' if words else ''
                    if preset.spikes and preset.spikes.enabled:
                        extra += ('; ' if extra else '') + f'{preset.spikes.feature} spikes blend in variations'
                    ui.label(extra).classes('text-xs opacity-60 self-center')

    def _card(self, index: int, mapping: Mapping) -> None:
        with ui.column().classes('ds-mapping w-full gap-1').mark(f'audio-mapping-{index}'):
            with ui.row().classes('w-full items-center no-wrap gap-1'):
                tip(ui.checkbox(value=mapping.enabled, on_change=lambda e: self._set(mapping, 'enabled', e.value))
                    .props('dense'), 'On')
                ui.select(list(get_args(FeatureName)), value=mapping.feature, label='feature',
                          on_change=lambda e: self._set(mapping, 'feature', e.value)) \
                    .props('dense options-dense').classes('grow min-w-0')
                ui.icon('arrow_forward', size='14px').classes('ds-muted')
                ui.select(list(get_args(ParameterName)), value=mapping.parameter, label='parameter',
                          on_change=lambda e: self._set(mapping, 'parameter', e.value)) \
                    .props('dense options-dense').classes('grow min-w-0')
                tip(ui.button(icon='close', on_click=lambda: self._remove(mapping)).props('flat dense round size=sm'),
                    'Remove this mapping')
            with ui.element('div').classes('ds-mapping-numbers w-full'):
                for title, low, high in RANGES:
                    self._number(mapping, low, f'{title} min')
                    self._number(mapping, high, f'{title} max')
                ui.select(list(get_args(Curve)), value=mapping.curve, label='curve',
                          on_change=lambda e: self._set(mapping, 'curve', e.value)).props('dense options-dense') \
                    .classes('ds-mapping-curve')
                for title, field in TIMING[:2]:
                    self._number(mapping, field, title)
                ui.number('threshold', value=mapping.threshold, format='%.3g',
                          on_change=lambda e: self._set(mapping, 'threshold', e.value)) \
                    .props('dense clearable').mark(f'audio-mapping-{index}-threshold')
                self._number(mapping, 'hysteresis', TIMING[2][0])

    def _number(self, mapping: Mapping, field: str, label: str) -> None:
        ui.number(label, value=getattr(mapping, field), format='%.3g', step=0.01,
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
