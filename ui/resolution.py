"""Resolution presets snapped to a pipeline's dimension rule, and width/height fields that keep to it."""
from __future__ import annotations

from nicegui import ui

from pipeline.protocol import PipelineInfo

CUSTOM = 'custom'
ASPECTS: list[tuple[str, list[tuple[int, int]]]] = [
    ('1:1', [(384, 384), (512, 512), (768, 768)]),
    ('16:9', [(576, 320), (768, 432), (896, 512), (1024, 576)]),  # Soundscape's tiers, plus 1024
    ('9:16', [(320, 576), (432, 768), (512, 896)]),
    ('4:3', [(512, 384), (640, 480)]),
]


def snap(value: float, multiple: int) -> int:
    """The nearest multiple of `multiple` (at least one multiple)."""
    return max(multiple, round(value / multiple) * multiple)


def resolution_presets(info: PipelineInfo) -> dict[str, tuple[int, int]]:
    """Preset names (with their snapped sizes) to (width, height); the pipeline's default first."""
    multiple = max(1, info.dimension_multiple)
    presets = {f'Default · {info.default_width}x{info.default_height}': (info.default_width, info.default_height)}
    for aspect, sizes in ASPECTS:
        for width, height in sizes:
            size = (snap(width, multiple), snap(height, multiple))
            if size not in presets.values():
                presets[f'{aspect} · {size[0]}x{size[1]}'] = size
    return presets


class ResolutionPicker(ui.column):
    """A preset select and width/height fields; sizes off the pipeline's rule are flagged, not sent."""

    def __init__(self, info: PipelineInfo, width: int | None = None, height: int | None = None) -> None:
        super().__init__()
        self.classes('w-full gap-1')
        self.multiple = max(1, info.dimension_multiple)
        self.presets = resolution_presets(info)
        width, height = width or info.default_width, height or info.default_height
        with self:
            self.preset = ui.select({**{name: name for name in self.presets}, CUSTOM: 'Custom'}, label='Resolution',
                                    value=self._preset_of(width, height), on_change=self._choose) \
                .classes('w-full').mark('resolution-preset')
            with ui.row().classes('w-full no-wrap gap-2'):
                rule = {f'a multiple of {self.multiple}': lambda v: v is not None and int(v) % self.multiple == 0}
                self.width = ui.number('Width', value=width, min=self.multiple, max=2048, step=self.multiple,
                                       precision=0, validation=rule, on_change=self._typed) \
                    .props('dense').classes('grow').mark('resolution-width')
                self.height = ui.number('Height', value=height, min=self.multiple, max=2048, step=self.multiple,
                                        precision=0, validation=rule, on_change=self._typed) \
                    .props('dense').classes('grow').mark('resolution-height')

    @property
    def value(self) -> dict[str, int]:
        """The size to load with, as `width` and `height` load parameters."""
        return {'width': int(self.width.value or 0), 'height': int(self.height.value or 0)}

    def _choose(self) -> None:
        size = self.presets.get(self.preset.value or '')
        if size is not None:
            self.width.set_value(size[0])
            self.height.set_value(size[1])

    def _typed(self) -> None:
        if self.width.value is None or self.height.value is None:
            return
        self.preset.set_value(self._preset_of(int(self.width.value), int(self.height.value)))

    def _preset_of(self, width: int, height: int) -> str:
        return next((name for name, size in self.presets.items() if size == (width, height)), CUSTOM)
