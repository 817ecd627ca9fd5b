"""The live output: the session's WebRTC video with a stats overlay, and the transport bar under it."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nicegui import ui

from .morph import StageMorph
from .stage_hints import InputWait
from .sync import SessionSync
from .theme import notify


class VideoPanel:
    """Video, stats overlay, pause/resume, reset cache, snapshot, recording and fullscreen.

    On a view-only link pause and reset are disabled (they show the session's state) and say why."""

    def __init__(self, sync: SessionSync, open_media: Callable[[], Any]) -> None:
        """`open_media`: shows the Media tab (where video input is chosen)."""
        self.sync = sync
        with ui.element('div').classes('ds-stage').mark('stage') as self.stage:
            self.video = ui.element('video').props('autoplay playsinline muted').classes('ds-video').mark('video')
            self.overlay = ui.element('div').classes('ds-overlay').mark('stats')
            self.paused_veil = ui.label('PAUSED').classes('ds-paused')
            self.input_wait = InputWait(sync, self.stage, open_media)
            StageMorph(sync)
        with ui.row().classes('ds-transport w-full items-center no-wrap'):
            self.pause = ui.button('Pause', icon='pause', on_click=self.toggle_pause) \
                .props('unelevated dense no-caps').classes('ds-transport-main').mark('pause')
            with ui.button('Reset', icon='restart_alt', on_click=self.reset_cache) \
                    .props('flat dense no-caps').mark('reset-cache') as self.reset:
                self.reset_tip = ui.tooltip('Reset the cache (R)')
            if not sync.can_control:  # shown, to tell paused from playing, but plainly not a button to press
                self.pause.props(remove='unelevated').props('flat').disable()
                self.reset.disable()
                ui.label('view only').classes('ds-view-only-note').mark('transport-view-only') \
                    .tooltip('This link watches: pause, reset and every other control belong to the controllers')
            self.state = ui.label('connecting').classes('ds-conn-state truncate').mark('connection-state')
            ui.space()
            ui.button(icon='photo_camera', on_click=self.snapshot).props('flat round dense') \
                .tooltip('PNG snapshot (S)').mark('snapshot')
            self.record = ui.button(icon='fiber_manual_record', on_click=self.toggle_recording) \
                .props('flat round dense').tooltip('Record up to a minute of webm (V)').mark('record')
            self.sound = ui.button(icon='volume_off', on_click=self.toggle_sound).props('flat round dense') \
                .tooltip('Sound on/off (the music the audio engine plays)').mark('sound')
            ui.button(icon='query_stats', on_click=self.toggle_stats).props('flat round dense') \
                .tooltip('Stats overlay (I)').mark('stats-toggle')
            ui.button(icon='fullscreen', on_click=self.fullscreen).props('flat round dense') \
                .tooltip('Fullscreen (F)').mark('fullscreen')
        sync.watch('paused', self.show_paused, self.pause)
        sync.on_pipeline_change(self.show_cache_support)
        self.show_cache_support()

    def start(self, join: dict[str, Any]) -> None:
        """Start the browser side: the stream joins the session with this page's token."""
        ids = {'video': self.video.html_id, 'stage': self.stage.html_id, 'overlay': self.overlay.html_id,
               'state': self.state.html_id}
        ui.run_javascript(f'window.dreamstageStudio = new DreamstageStudio({json.dumps({**ids, "join": join})});')

    def toggle_pause(self) -> None:
        self.sync.send({'paused': not bool(self.sync.value('paused', False))})

    def reset_cache(self) -> None:
        self.sync.send({'reset_cache': True})
        notify('Cache reset', timeout=800)

    def show_paused(self, paused: Any) -> None:
        self.pause.set_text('Resume' if paused else 'Pause')
        self.pause.props(f'icon={"play_arrow" if paused else "pause"}')
        self.pause.classes(add='ds-paused-button' if paused else '', remove='' if paused else 'ds-paused-button')
        self.paused_veil.set_visibility(bool(paused))

    def show_cache_support(self) -> None:
        """Reset stays in its place; where the pipeline keeps no cache it is disabled and says so."""
        supported = self.sync.info.supports_cache_management
        self.reset.set_enabled(supported and self.sync.can_control)
        name = self.sync.info.name
        self.reset_tip.set_text('Reset the cache (R)' if supported else f'{name} keeps no cache to reset')

    def snapshot(self) -> None:
        ui.run_javascript('window.dreamstageStudio.snapshot()')

    async def toggle_recording(self) -> None:
        try:
            recording = await ui.run_javascript('return window.dreamstageStudio.toggleRecording()', timeout=3)
        except TimeoutError:
            return
        if recording:
            self.record.props('color=negative')
        else:
            self.record.props(remove='color')
        self.record.classes(add='ds-recording' if recording else '', remove='' if recording else 'ds-recording')

    async def toggle_sound(self) -> None:
        muted = await ui.run_javascript('const v = window.dreamstageStudio.video; v.muted = !v.muted; '
                                        'if (!v.muted) v.play(); return v.muted;', timeout=3)
        self.sound.props(f"icon={'volume_off' if muted else 'volume_up'}")

    def toggle_stats(self) -> None:
        ui.run_javascript('window.dreamstageStudio.toggleOverlay()')

    def fullscreen(self) -> None:
        ui.run_javascript('window.dreamstageStudio.fullscreen()')
