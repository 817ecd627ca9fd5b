"""Model files of a pipeline: whether they are on disk, and a download button with a progress bar."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from services.downloads import DownloadService
from services.errors import ServiceError

from .theme import hint

POLL_SECONDS = 0.5


class ModelDownload(ui.column):
    """Download state of one pipeline's weights, from the download service."""

    def __init__(self, downloads: DownloadService, pipeline_id: str, load_params: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
        self.downloads = downloads
        self.pipeline_id = pipeline_id
        self.load_params = load_params
        self.classes('w-full gap-1 ds-models')
        with self:
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.icon = ui.icon('inventory_2', size='18px')
                self.status = ui.label('Checking model files…').classes('grow text-sm').mark('model-status')
                self.button = ui.button('Download', icon='download', on_click=self.download) \
                    .props('unelevated dense no-caps no-wrap').classes('px-3').mark('download-models')
            self.progress = ui.linear_progress(value=0, show_value=False, size='6px') \
                .props('rounded color=secondary track-color=grey-9').mark('download-progress')
            self.message = hint('').mark('download-message')
        self.progress.set_visibility(False)
        self.poller = ui.timer(POLL_SECONDS, self.check, active=False)
        self.schedule_check()

    def schedule_check(self) -> None:
        """Check now (after the page or a load parameter changed)."""
        self.check()

    def check(self) -> None:
        """Look at the download status and show it."""
        try:
            model_id = self.load_params().get('model_id')
            status = self.downloads.status(self.pipeline_id, str(model_id) if model_id else None)
        except ServiceError as error:
            self.show_problem(str(error))
            return
        progress: dict[str, Any] = status.progress or {}
        if status.stand_in and not progress.get('is_downloading'):
            self.status.set_text(f'Model files are not here: {status.stand_in} runs in their place on this machine '
                                 '(no CUDA). Download them to run the real model.')
            self.icon.props('color=info')
            self.button.enable()
            self.poller.deactivate()
            return
        if status.downloaded:
            self.status.set_text('Model files are ready')
            self.icon.props('color=positive')
            self.button.set_visibility(False)
            self.progress.set_visibility(False)
            self.poller.deactivate()
            return
        self.icon.props('color=warning')
        if progress.get('is_downloading'):
            percent = float(progress.get('percentage') or 0)
            self.status.set_text(f'Downloading {progress.get("current_artifact") or "model files"}… {percent:.0f} %')
            self.progress.set_visibility(True)
            self.progress.set_value(percent / 100)
            self.button.disable()
            self.poller.activate()
            return
        self.status.set_text('Model files are missing: download them before loading')
        self.button.enable()
        self.poller.deactivate()
        if progress.get('error'):
            self.show_problem(str(progress['error']))

    def download(self) -> None:
        """Start the download and follow its progress."""
        self.button.disable()
        self.message.set_text('')
        try:
            message = self.downloads.start(self.pipeline_id, load_params=self.load_params())
        except ServiceError as error:
            self.show_problem(str(error))
            self.button.enable()
            return
        self.message.set_text(message)
        self.progress.set_visibility(True)
        self.poller.activate()

    def show_problem(self, text: str) -> None:
        self.message.set_text(text)
        self.message.classes('text-negative')

