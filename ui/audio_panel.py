"""The studio's audio panel: source picker, on/off, live meters, mapping editor and presets."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from nicegui import events, run, ui
from nicegui.elements.upload_files import FileUpload
from pydantic import ValidationError

from audio.engine import AudioEngine
from audio.presets import Preset
from audio.sources import SourceSpec, device_status
from services.assets import AUDIO_SUFFIXES
from services.context import ServerContext
from services.errors import ServiceError

from .audio_mappings import MappingEditor
from .audio_meters import AudioMeters
from .confirm import confirm
from .drop_zone import DropZone

REFRESH = 1 / 12  # meters update at 12 Hz
LIST_EVERY = 60  # refreshes between two listings of the song folder (uploads through the server show at once)
KINDS = {'file': 'Song', 'test': 'Test beat', 'microphone': 'Microphone', 'device': 'Input device'}
UPLOAD_FOLDER = 'audio'


def audio_panel(context: ServerContext, session_id_getter: Callable[[], str | None]) -> ui.card:
    """A card that drives the session `session_id_getter()` names with sound; mount it on any page."""
    return AudioPanel(context, session_id_getter).card


class AudioPanel:
    """The controls of one session's audio engine, talking to the audio service in-process."""

    def __init__(self, context: ServerContext, session_id_getter: Callable[[], str | None]) -> None:
        self.context = context
        self.service = context.audio
        self.session_id = session_id_getter
        self.preset: Preset = self.service.preset('soundscape')
        self.edited = False
        self.shown_engine: AudioEngine | None = None
        self.assets_version = -1
        self.refreshes = 0
        with ui.card().classes('w-full gap-2').mark('audio-panel') as self.card:
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                ui.icon('graphic_eq', size='20px').classes('text-primary')
                ui.label('Audio').classes('text-base font-bold')
                self.status = ui.label('').classes('text-xs opacity-70 truncate').mark('audio-status')
                ui.space()
                self.switch = ui.switch('Off', on_change=self._switched).mark('audio-switch') \
                    .tooltip('Start or stop the audio engine')
            self._source_picker()
            self.meters = AudioMeters()
            with ui.expansion('Mappings', icon='tune').classes('w-full').props('dense'):
                self._presets_row()
                self.editor = MappingEditor(self._edited)
                self.editor.show(self.preset)
        self.timer = ui.timer(REFRESH, self._refresh)

    @property
    def engine(self) -> AudioEngine | None:
        session_id = self.session_id()
        return self.service.get(session_id) if session_id else None

    def _source_picker(self) -> None:
        with ui.row().classes('w-full items-center gap-2'):
            self.kind = ui.toggle(KINDS, value='file', on_change=self._show_source_options) \
                .props('dense no-caps size=sm').mark('audio-source-kind')
        with ui.column().classes('w-full gap-2') as self.file_row:
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                self.asset = ui.select(self._assets(), label='Song (audio asset)', with_input=True) \
                    .props('dense options-dense').classes('flex-grow').mark('audio-asset')
                self.loop = ui.checkbox('Loop', value=True).props('dense')
            DropZone('Drop a song', 'a song', store=self._store, accept='audio/*,.wav,.mp3,.flac,.ogg,.m4a',
                     max_file_size=self.context.config.max_upload_bytes).mark('audio-upload')
        with ui.row().classes('w-full items-center gap-2') as self.test_row:
            self.bpm = ui.number('BPM', value=120, min=40, max=240, step=1).props('dense').classes('w-24') \
                .mark('audio-bpm-input')
        with ui.row().classes('w-full items-center gap-2') as self.mic_row:
            ui.label('Listens to the audio track a WebRTC peer of this session sends (a browser microphone).') \
                .classes('text-xs opacity-70')
        with ui.row().classes('w-full items-center gap-2') as self.device_row:
            devices = device_status()
            self.device = ui.select(devices.get('devices', []), label='Input device').props('dense') \
                .classes('flex-grow')
            if not devices['available']:
                self.device.disable()
                ui.label(str(devices.get('reason', ''))).classes('text-xs text-warning')
        self._show_source_options()

    def _presets_row(self) -> None:
        """The preset to edit and Apply on one row, saving and deleting on the next (fits a phone)."""
        with ui.row().classes('w-full items-center gap-2 no-wrap'):
            self.preset_select = ui.select(self.service.presets.names(), value=self.preset.name, label='Preset',
                                           on_change=self._load_preset).props('dense').classes('grow min-w-0') \
                .mark('audio-preset')
            self.apply_button = ui.button('Apply', icon='play_arrow', on_click=self._apply) \
                .props('unelevated dense no-caps').classes('px-3').mark('audio-apply')
        with ui.row().classes('w-full items-center gap-1 no-wrap'):
            self.preset_name = ui.input('Save as', placeholder='my-preset').props('dense').classes('grow min-w-0') \
                .mark('audio-preset-name')
            ui.button('Save', icon='save', on_click=self._save_preset).props('flat dense no-caps') \
                .classes('ds-nowrap-button').mark('audio-save-preset')
            ui.button('Delete', icon='delete', on_click=self._delete_preset).props('flat dense no-caps') \
                .classes('ds-nowrap-button').mark('audio-delete-preset')
        self.preset_hint = ui.label(self.preset.description).classes('text-xs opacity-60')

    def _show_source_options(self) -> None:
        kind = self.kind.value
        for row, name in ((self.file_row, 'file'), (self.test_row, 'test'), (self.mic_row, 'microphone'),
                          (self.device_row, 'device')):
            row.set_visibility(kind == name)

    def _spec(self) -> SourceSpec:
        kind = self.kind.value
        if kind == 'file':
            return SourceSpec(kind='file', path=self.asset.value, loop=bool(self.loop.value))
        if kind == 'test':
            return SourceSpec(kind='test', bpm=float(self.bpm.value or 120))
        if kind == 'device':
            device = self.device.value
            return SourceSpec(kind='device', device=int(device.split(':')[0]) if device else None)
        return SourceSpec(kind='microphone')

    async def _switched(self, event: events.ValueChangeEventArguments) -> None:
        if event.value == (self.engine is not None and self.engine.running):
            return
        if event.value:
            await self._start()
        else:
            session_id = self.session_id()
            if session_id:
                await run.io_bound(self.service.stop, session_id)

    async def _start(self) -> None:
        session_id = self.session_id()
        session = self.context.sessions.get(session_id) if session_id else None
        if session is None:
            ui.notify('Pick a running session first', type='warning')
            self.switch.set_value(False)
            return
        try:
            spec = self._spec()
            await run.io_bound(self.service.start, session, spec, self.preset.model_copy(deep=True))
        except (ServiceError, ValidationError) as error:
            ui.notify(str(error), type='negative', multi_line=True)
            self.switch.set_value(False)

    def _apply(self) -> None:
        """Use the edited mappings now (if the engine runs); they are kept for the next start anyway."""
        try:
            preset = Preset.model_validate(self.preset.model_dump())
        except ValidationError as error:
            ui.notify(f'This preset is not valid: {error.errors()[0]["msg"]}', type='negative')
            return
        if (engine := self.engine) is not None and engine.running:
            engine.use_preset(preset)
        self.edited = False
        self.apply_button.props('color=primary')

    def _edited(self) -> None:
        self.edited = True
        self.apply_button.props('color=warning')

    def _load_preset(self, event: events.ValueChangeEventArguments) -> None:
        if not event.value or (event.value == self.preset.name and not self.edited):
            return
        try:
            self._show_preset(self.service.preset(event.value))
        except ServiceError as error:
            ui.notify(str(error), type='negative')
            return
        self._apply()

    def _show_preset(self, preset: Preset) -> None:
        self.preset = preset
        self.editor.show(preset)
        self.preset_hint.set_text(preset.description)
        if preset.name not in self.preset_select.options:
            self.preset_select.set_options([*self.service.presets.names(), preset.name])
        self.preset_select.set_value(preset.name)

    def _save_preset(self) -> None:
        name = self.preset_name.value or self.preset.name
        try:
            saved = self.service.save_preset(name, self.preset.model_copy(deep=True))
        except (ServiceError, ValidationError) as error:
            ui.notify(str(error), type='negative')
            return
        self.preset = saved
        self.preset_select.set_options(self.service.presets.names(), value=saved.name)
        ui.notify(f'Saved preset {saved.name}', type='positive')

    async def _delete_preset(self) -> None:
        name = self.preset_select.value
        if name in self.service.presets.builtin:
            ui.notify(f'{name} is a built-in preset and stays', type='warning')
            return
        if not name or not await confirm(f'Delete the audio preset “{name}”?', 'Its file on the server goes.',
                                         'Delete'):
            return
        try:
            deleted = self.service.presets.delete(name or '')
        except ServiceError as error:
            ui.notify(str(error), type='negative')
            return
        if deleted:
            self.preset_select.set_options(self.service.presets.names(), value='soundscape')
            ui.notify(f'Deleted preset {name}')

    async def _store(self, file: FileUpload) -> str:
        """Store a song in the assets' audio folder and pick it."""
        name = PurePosixPath(file.name).name
        await self.context.assets.store(f'{UPLOAD_FOLDER}/{name}', file.iterate(), file.size(), suffixes=AUDIO_SUFFIXES)
        self._show_songs(f'{UPLOAD_FOLDER}/{name}')
        return f'{name} is ready: switch the audio on'

    def _show_songs(self, chosen: str | None = None) -> None:
        """The song list as the assets folder holds it now (songs uploaded anywhere appear without a reload)."""
        self.assets_version = self.context.assets.version
        songs = self._assets()
        value = chosen or (self.asset.value if self.asset.value in songs else None)
        if songs != list(self.asset.options) or value != self.asset.value:
            self.asset.set_options(songs, value=value)

    def _assets(self) -> list[str]:
        return self.context.assets.audio_files()

    def _refresh(self) -> None:
        self.refreshes += 1
        if self.context.assets.version != self.assets_version or self.refreshes % LIST_EVERY == 0:
            self._show_songs()
        engine = self.engine
        running = engine is not None and engine.running
        if self.switch.value != running:
            self.switch.set_value(running)
        self.switch.set_text('On' if running else 'Off')
        if engine is None:
            self.meters.show(None, [])
            self.status.set_text('off' if self.session_id() else 'no session')
            return
        if engine is not self.shown_engine:  # another tab or REST started it: show what it runs
            self.shown_engine = engine
            self._show_preset(engine.preset.model_copy(deep=True))
        self.meters.show(engine.features.to_dict() if running else None, engine.mapper.words if running else [])
        self.status.set_text(_describe(engine.status()) if running else f'off {engine.error or ""}'.strip())


def _describe(status: dict[str, Any]) -> str:
    source = status['source']
    if source['kind'] == 'microphone' and not source.get('received_seconds'):
        return 'waiting for a microphone: a peer of this session has to send an audio track'
    position = source.get('position_seconds')
    where = f' · {int(position // 60)}:{int(position % 60):02d}' if position is not None else ''
    return f"{source['description']}{where} · {status['preset']} · {status['messages_sent']} messages"
