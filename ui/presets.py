"""Prompt presets: looks saved on the server (one JSON file each) and recalled in one click."""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from nicegui import ui

from .sync import SessionSync
from .theme import hint, notify, section

PRESET_KEYS = ('prompts', 'prompt_interpolation_method', 'negative_prompt', 'denoising_step_list', 'noise_scale')
MAX_NAME = 60


class PresetStore:
    """Presets as `<folder>/<slug>.json` files: {name, saved_at, parameters}."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def names(self) -> list[str]:
        """Preset names, oldest first (the order `next` walks)."""
        return [preset['name'] for preset in self.all()]

    def all(self) -> list[dict[str, Any]]:
        if not self.folder.is_dir():
            return []
        presets = []
        for path in self.folder.glob('*.json'):
            try:
                preset = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(preset, dict) and isinstance(preset.get('parameters'), dict) and preset.get('name'):
                presets.append(preset)
        return sorted(presets, key=lambda p: (p.get('saved_at', 0), p['name']))

    def get(self, name: str) -> dict[str, Any] | None:
        return next((preset['parameters'] for preset in self.all() if preset['name'] == name), None)

    def save(self, name: str, parameters: dict[str, Any]) -> None:
        """Write a preset atomically (a preset of the same name is replaced, keeping its place)."""
        name = name.strip()[:MAX_NAME]
        if not name:
            raise ValueError('a preset needs a name')
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f'{slug(name)}.json'
        saved_at = time.time()
        if path.is_file():
            try:
                saved_at = json.loads(path.read_text()).get('saved_at', saved_at)
            except (OSError, ValueError):
                pass
        write_atomically(path, json.dumps({'name': name, 'saved_at': saved_at, 'parameters': parameters}, indent=2))

    def delete(self, name: str) -> None:
        (self.folder / f'{slug(name)}.json').unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Write a file through a temporary file of its own beside it: readers and other writers never see half a file."""
    handle, temporary = tempfile.mkstemp(prefix=f'.{path.stem}-', suffix='.part', dir=path.parent)
    try:
        with os.fdopen(handle, 'w') as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def slug(name: str) -> str:
    """A safe file name for a preset name."""
    cleaned = re.sub(r'[^a-zA-Z0-9_-]+', '-', name.strip().lower()).strip('-')
    return cleaned or 'preset'


class PresetPanel:
    """Save the current look under a name; recall a preset in one click (or morph to it)."""

    def __init__(self, sync: SessionSync, store: PresetStore) -> None:
        self.sync = sync
        self.store = store
        self.current: str | None = None
        self.shown: list[str] | None = None
        with section('Presets', 'bookmarks', hint='saved on the server'):
            with ui.row().classes('w-full items-center no-wrap gap-1'):
                self.name = ui.input(placeholder='Name this look').props('dense').classes('grow').mark('preset-name')
                self.name.on('keydown.enter', self.save)
                ui.button('Save', icon='bookmark_add', on_click=self.save).props('unelevated dense no-caps') \
                    .classes('px-3').mark('save-preset')
            self.morph = ui.switch('Morph to presets (transition)', value=False).mark('preset-morph')
            self.list = ui.element('div').classes('ds-preset-grid w-full').mark('preset-list')
        self.show()
        sync.every(30, self.show, self.list)

    def save(self) -> None:
        snapshot = self.sync.session.state.snapshot()
        parameters = {key: snapshot[key] for key in PRESET_KEYS if snapshot.get(key) is not None}
        try:
            self.store.save(self.name.value or '', parameters)
        except ValueError as error:
            notify(str(error), 'warning')
            return
        notify(f'Preset “{self.name.value.strip()}” saved', 'positive')
        self.current = self.name.value.strip()[:MAX_NAME]
        self.name.set_value('')
        self.show(force=True)

    def recall(self, name: str) -> None:
        """Apply a preset: at once, or as a transition when Morph is on."""
        parameters = self.store.get(name)
        if parameters is None:
            notify(f'Preset {name} is gone', 'warning')
            self.show(force=True)
            return
        message = dict(parameters)
        if self.morph.value and message.get('prompts'):
            info = self.sync.info
            message['transition'] = {'target_prompts': message.pop('prompts'),
                                     'num_steps': info.default_temporal_interpolation_steps,
                                     'temporal_interpolation_method': info.default_temporal_interpolation_method}
        self.sync.send(message)
        self.current = name
        self.show(force=True)

    def recall_index(self, index: int) -> None:
        """Recall the preset at a position (the number keys)."""
        names = self.store.names()
        if 0 <= index < len(names):
            self.recall(names[index])

    def step(self, offset: int) -> None:
        """Recall the next (or previous) preset."""
        names = self.store.names()
        if not names:
            notify('No presets yet: save one in the Presets tab', 'info')
            return
        index = names.index(self.current) + offset if self.current in names else (0 if offset > 0 else -1)
        self.recall(names[index % len(names)])

    def delete(self, name: str) -> None:
        self.store.delete(name)
        self.show(force=True)

    def show(self, force: bool = False) -> None:
        names = self.store.names()
        if names == self.shown and not force:
            return
        self.shown = names
        self.list.clear()
        with self.list:
            if not names:
                hint('No presets yet. Shape a look, name it and save it.')
            for index, name in enumerate(names):
                active = 'ds-preset-active' if name == self.current else ''
                with ui.element('div').classes(f'ds-preset {active}'):
                    ui.button(name, on_click=lambda n=name: self.recall(n)).props('flat no-caps align=left') \
                        .classes('ds-preset-button').mark(f'preset-{name}') \
                        .tooltip(f'Recall (key {index + 1})' if index < 9 else 'Recall')
                    ui.button(icon='close', on_click=lambda n=name: self.delete(n)) \
                        .props('flat round dense size=xs').classes('ds-ghost').mark(f'delete-preset-{name}')
