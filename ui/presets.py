"""Prompt presets: looks saved on the server (one JSON file each) and recalled in one click."""
from __future__ import annotations

import time
from collections.abc import Callable

from nicegui import ui
from pydantic import ValidationError

from services.errors import ServiceError
from services.presets import Look, PresetStore

from .browser_settings import remember
from .confirm import confirm
from .morph import MorphProgress, seconds_of
from .sync import SessionSync
from .theme import hint, notify, readout, section, tip

PRESET_KEYS = ('prompts', 'prompt_interpolation_method', 'negative_prompt', 'denoising_step_list', 'noise_scale')
MAX_NAME = 60


class PresetPanel:
    """Save the current look under a name; recall a preset in one click (or morph to it)."""

    def __init__(self, sync: SessionSync, store: PresetStore[Look], morph_steps: Callable[[], int]) -> None:
        """`morph_steps`: how many steps a morph takes (the Prompt tab's transition steps)."""
        self.sync = sync
        self.store = store
        self.morph_steps = morph_steps
        self.current: str | None = None
        self.shown: list[str] | None = None
        with section('Presets', 'bookmarks', hint='saved on the server'):
            with ui.row().classes('w-full items-center no-wrap gap-1'):
                self.name = ui.input(placeholder='Name this look').props('dense').classes('grow').mark('preset-name')
                self.name.on('keydown.enter', self.save)
                ui.button('Save', icon='bookmark_add', on_click=self.save).props('unelevated dense no-caps') \
                    .classes('px-3').mark('save-preset')
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.morph = ui.switch('Morph to presets', value=False).mark('preset-morph')
                ui.space()
                self.morph_length = readout('').mark('preset-morph-length') \
                    .tooltip('The steps of the Transition in the Prompt tab, at the rate the pipeline renders now')
            MorphProgress(sync, 'morph')
            self.list = ui.element('div').classes('ds-preset-grid w-full').mark('preset-list')
        remember(self.morph, 'morph')
        self.show()
        sync.every(30, self.show, self.list)
        sync.every(10, self.show_morph_length, self.morph_length)

    def names(self) -> list[str]:
        """The looks' names, oldest first (the order `next` walks)."""
        return [look.name for look in sorted(self.store.all(), key=lambda look: (look.saved_at, look.name))]

    def save(self) -> None:
        """Save the current look under the typed name (a look of that name is replaced, keeping its place)."""
        state = self.sync.session.state
        snapshot = state.snapshot()
        parameters = {key: snapshot[key] for key in PRESET_KEYS if snapshot.get(key) is not None}
        if 'prompts' in parameters:
            parameters['prompts'] = state.authored_prompts()  # without the audio engine's words
        name = (self.name.value or '').strip()[:MAX_NAME]
        try:
            previous = self.store.get(name) if name else None
            look = Look(name=name, saved_at=previous.saved_at if previous else time.time(), parameters=parameters)
            self.store.save(name, look)
        except (ServiceError, ValidationError) as error:
            notify(f'A preset needs a name of letters or digits ({error})' if not name else str(error), 'warning')
            return
        notify(f'Preset “{name}” saved', 'positive')
        self.current = name
        self.name.set_value('')
        self.show(force=True)

    def recall(self, name: str) -> None:
        """Apply a preset: at once, or as a transition when Morph is on."""
        look = self.store.get(name)
        if look is None:
            notify(f'Preset {name} is gone', 'warning')
            self.show(force=True)
            return
        message = dict(look.parameters)
        if self.morph.value and message.get('prompts'):
            method = self.sync.info.default_temporal_interpolation_method
            message['transition'] = {'target_prompts': message.pop('prompts'), 'num_steps': self.morph_steps(),
                                     'temporal_interpolation_method': method}
        self.sync.send(message)
        self.current = name
        self.show(force=True)

    def recall_index(self, index: int) -> None:
        """Recall the preset at a position (the number keys)."""
        names = self.names()
        if 0 <= index < len(names):
            self.recall(names[index])

    def step(self, offset: int) -> None:
        """Recall the next (or previous) preset."""
        names = self.names()
        if not names:
            notify('No presets yet: save one in the Presets tab', 'info')
            return
        index = names.index(self.current) + offset if self.current in names else (0 if offset > 0 else -1)
        self.recall(names[index % len(names)])

    async def delete(self, name: str) -> None:
        """Delete a preset once the creator confirms (it sits right beside recall)."""
        if not await confirm(f'Delete the preset “{name}”?', 'Its file on the server goes; the picture stays as it is.',
                             'Delete'):
            return
        try:
            self.store.delete(name)
        except ServiceError as error:
            notify(str(error), 'negative')
            return
        notify(f'Preset “{name}” deleted', 'positive')
        self.show(force=True)

    def show_morph_length(self) -> None:
        steps = self.morph_steps()
        self.morph_length.set_text(f'{steps} steps ≈ {seconds_of(steps, self.sync.session):.1f} s')

    def show(self, force: bool = False) -> None:
        names = self.names()
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
                    tip(ui.button(name, on_click=lambda n=name: self.recall(n)).props('flat no-caps align=left')
                        .classes('ds-preset-button').mark(f'preset-{name}'),
                        f'Recall (key {index + 1})' if index < 9 else 'Recall')
                    tip(ui.button(icon='delete_outline', on_click=lambda n=name: self.delete(n))
                        .props('flat round dense size=xs').classes('ds-ghost').mark(f'delete-preset-{name}'),
                        'Delete (asks first)')
