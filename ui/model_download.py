"""Model files of a pipeline: whether they are on disk, and a download button with a progress bar."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from nicegui import app, background_tasks, ui

from .theme import hint

POLL_SECONDS = 0.5


class ModelDownload(ui.column):
    """Download state of one pipeline's weights, through the server's own `/api/v1/models` endpoints."""

    def __init__(self, pipeline_id: str, load_params: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
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
        """Check soon (after the page or a load parameter changed)."""
        background_tasks.create(self.check(), name=f'model-status-{self.pipeline_id}')

    async def check(self) -> None:
        """Ask for the download status and show it."""
        try:
            query = {'pipeline_id': self.pipeline_id}
            if model_id := self.load_params().get('model_id'):
                query['model_id'] = str(model_id)
            body = await call('GET', '/api/v1/models/status', params=query)
        except DownloadError as error:
            self.show_problem(str(error))
            return
        progress: dict[str, Any] = body.get('progress') or {}
        if body.get('downloaded'):
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

    async def download(self) -> None:
        """Start the download and follow its progress."""
        self.button.disable()
        self.message.set_text('')
        try:
            answer = await call('POST', '/api/v1/models/download',
                                json={'pipeline_id': self.pipeline_id, 'load_params': self.load_params()})
        except DownloadError as error:
            self.show_problem(str(error))
            self.button.enable()
            return
        self.message.set_text(str(answer.get('message', '')))
        self.progress.set_visibility(True)
        self.poller.activate()

    def show_problem(self, text: str) -> None:
        self.message.set_text(text)
        self.message.classes('text-negative')


class DownloadError(RuntimeError):
    """The models endpoints answered with an error (their `detail` is the message)."""


async def call(method: str, path: str, **options: Any) -> dict[str, Any]:
    """A request to this server's own API, in process (no network)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url='http://dreamstage', timeout=30) as client:
        response = await client.request(method, path, **options)
    try:
        body = response.json()
    except ValueError:
        body = {'detail': response.text}
    if response.status_code >= 400:
        detail = body.get('detail') if isinstance(body, dict) else body
        if response.status_code in (404, 405, 501):
            raise DownloadError(f'Model downloads are not available: {detail}')
        raise DownloadError(str(detail))
    return body if isinstance(body, dict) else {}
