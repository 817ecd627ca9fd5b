"""Hints over the video that explain a picture that does not move: a pipeline waiting for video input."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from .sync import SessionSync


class InputWait(ui.element):
    """Over the video while the session waits for video input that does not come, and where to send some."""

    def __init__(self, sync: SessionSync, stage: ui.element, open_media: Callable[[], Any]) -> None:
        """`stage`: the element around the video (dimmed while waiting)."""
        super().__init__('div')
        self.sync = sync
        self.stage = stage
        self.waiting = False
        self.classes('ds-stage-hint').mark('input-wait')
        with self:
            ui.icon('videocam_off', size='32px').classes('text-warning')
            ui.label('No video input').classes('ds-stage-hint-title')
            self.text = ui.label('').classes('ds-stage-hint-text')
            if sync.can_control:
                ui.button('Open Media', icon='perm_media', on_click=open_media) \
                    .props('unelevated dense no-caps').classes('px-3').mark('open-media')
        self.set_visibility(False)
        sync.every(5, self.show, self)

    def show(self) -> None:
        waiting = self.sync.session.waiting_for_input()
        if waiting == self.waiting:
            return
        self.waiting = waiting
        name = self.sync.info.name
        self.text.set_text(f'{name} makes its picture from incoming video: send your webcam or a video asset from '
                           'the Media tab.' if self.sync.can_control else
                           f'{name} makes its picture from incoming video and waits for a controller to send some.')
        self.set_visibility(waiting)
        self.stage.classes(add='ds-waiting' if waiting else '', remove='' if waiting else 'ds-waiting')
