"""Live audio meters: energy, bass/mid/treble, onset, a beat dot, tempo, centroid and the prompt words."""
from __future__ import annotations

from typing import Any

from nicegui import ui

LEVELS = (('energy', 'Energy', 'primary'), ('bass', 'Bass', 'accent'), ('mid', 'Mid', 'secondary'),
          ('treble', 'Treble', 'info'), ('onset', 'Onset', 'warning'))


class AudioMeters:
    """Bars and readouts that show what the engine hears; `show` is called by the panel's timer."""

    def __init__(self) -> None:
        self.bars: dict[str, ui.linear_progress] = {}
        with ui.column().classes('w-full gap-1'):
            for key, label, color in LEVELS:
                with ui.row().classes('w-full items-center no-wrap gap-2'):
                    ui.label(label).classes('w-14 text-xs opacity-70')
                    self.bars[key] = ui.linear_progress(value=0, show_value=False, size='10px', color=color) \
                        .props('instant-feedback rounded').classes('flex-grow').mark(f'audio-meter-{key}')
            with ui.row().classes('w-full items-center gap-3 pt-1'):
                self.dot = ui.icon('circle', size='18px').classes('text-gray-700').mark('audio-beat')
                self.bpm = ui.label('-- BPM').classes('font-mono text-sm').mark('audio-bpm')
                self.centroid = ui.label('').classes('font-mono text-xs opacity-70')
                self.flatness = ui.label('').classes('font-mono text-xs opacity-70')
            self.words = ui.label('').classes('text-xs italic opacity-80').mark('audio-words')
        self.beat_count = 0
        self.lit = False

    def show(self, features: dict[str, Any] | None, words: list[str]) -> None:
        """Show the latest features (None: silence the meters)."""
        features = features or {}
        for key, bar in self.bars.items():
            bar.set_value(round(float(features.get(key) or 0.0), 2))
        count = int(features.get('beat_count') or 0)
        beat = count != self.beat_count
        self.beat_count = count
        if beat != self.lit:
            self.lit = beat
            self.dot.classes(replace='text-pink-400' if beat else 'text-gray-700')
        bpm, confidence = features.get('bpm'), float(features.get('confidence') or 0.0)
        self.bpm.set_text(f'{bpm:.1f} BPM · {confidence:.0%}' if bpm else '-- BPM')
        centroid = float(features.get('centroid_hz') or 0.0)
        self.centroid.set_text(f'centroid {centroid / 1000:.2f} kHz' if centroid else '')
        self.flatness.set_text(f'flatness {features["flatness"]:.2f}' if features.get('flatness') else '')
        self.words.set_text(', '.join(words))
