"""The video input of this tab: nothing (text mode), the webcam, or a video asset played in the browser."""
from __future__ import annotations

import json
from typing import Any

from nicegui import ui

from .sync import SessionSync
from .theme import hint, notify, section

SOURCES = {'none': 'Text only', 'webcam': 'Webcam', 'video': 'Video asset'}
JS_TIMEOUT = 15.0


class InputSource:
    """Sends this browser's webcam or a video asset to the session for video-to-video (the stream reconnects)."""

    def __init__(self, sync: SessionSync) -> None:
        self.sync = sync
        self.video_url: str | None = None
        self.active = 'none'  # what the browser sends now
        with section('Video input', 'videocam', hint='video-to-video'):
            self.choice = ui.toggle(SOURCES, value='none', on_change=lambda e: self._chosen(e.value)) \
                .props('dense no-caps size=sm toggle-color=primary').classes('ds-toggle').mark('input-source')
            self.status = hint('').mark('input-status')
        self.frames_seen = sync.session.inputs.received
        sync.every(10, self.show_status, self.status)
        sync.on_pipeline_change(self.pipeline_changed)

    async def use_video(self, url: str) -> None:
        """Play a video asset in the browser and send it as the input."""
        self.video_url = url
        if self.choice.value == 'video':
            await self._switch('video', url)
        else:
            self.choice.set_value('video')

    async def _chosen(self, kind: str) -> None:
        if kind == self.active:
            return
        if kind == 'video' and not self.video_url:
            notify('Choose a video in the asset browser below (upload one first if there is none): '
                   'its input button sends it', 'info')
            self.choice.set_value(self.active)  # nothing is sent yet: the toggle shows what is
            return
        await self._switch(kind, self.video_url if kind == 'video' else None)

    async def _switch(self, kind: str, url: str | None) -> None:
        if kind != 'none' and 'video' not in self.sync.info.supported_modes:
            notify(f'{self.sync.info.name} does not take video input', 'warning')
            self.choice.set_value('none')
            return
        self.status.set_text(f'switching to {SOURCES[kind].lower()}…')
        try:
            result: Any = await ui.run_javascript(
                f'return await window.dreamstageStudio.setInput({json.dumps(kind)}, {json.dumps(url)})',
                timeout=JS_TIMEOUT)
        except TimeoutError:
            result = {'kind': 'none', 'error': 'the browser did not answer'}
        self.active = result.get('kind', 'none') if isinstance(result, dict) else 'none'
        if isinstance(result, dict) and result.get('error'):
            notify(f'{SOURCES[kind]}: {result["error"]}', 'negative', multi_line=True)
        self.choice.set_value(self.active)
        self.show_status()

    def pipeline_changed(self) -> None:
        """Back to text mode when nobody sends video any more and the new pipeline can generate from text."""
        session = self.sync.session
        idle = session.inputs.received == self.frames_seen and self.active == 'none'
        if idle and session.input_mode == 'video' and 'text' in self.sync.info.supported_modes:
            self.sync.send({'input_mode': 'text'})
        self.show_status()

    def show_status(self) -> None:
        """What the session receives: its input mode and how many input frames arrived."""
        session = self.sync.session
        self.frames_seen = session.inputs.received
        if 'video' not in self.sync.info.supported_modes:
            self.status.set_text(f'{self.sync.info.name} generates from text only.')
            return
        source = SOURCES[self.active].lower()
        if self.active == 'video' and self.video_url:
            source = f'video {self.video_url.rsplit("/", 1)[-1]}'
        if session.input_mode != 'video':
            self.status.set_text(f'This tab sends: {source} · the session generates from text')
            return
        if session.waiting_for_input():  # no count of frames that stopped coming: it would read as live
            received = 'no input is coming in' if session.inputs.received else 'no input yet'
        else:
            received = f'{session.inputs.received} input frames so far'
        self.status.set_text(f'This tab sends: {source} · the session transforms video · {received}')
