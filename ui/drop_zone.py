"""A drop zone for uploads that shows the server's verdict on each file and fits the device it is shown on."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import nullcontext

from fastapi import HTTPException
from nicegui import ui
from nicegui.elements.upload_files import FileUpload

from services.errors import ServiceError

from .theme import notify

Store = Callable[[FileUpload], Awaitable[str]]  # stores a file and says so (raises ServiceError to refuse it)


class DropZone(ui.upload):
    """An upload box: a file the server refuses is marked failed (red, with the reason under the box and in a
    toast); a stored one leaves the list, since it shows up where it belongs. Desktops read "drop ... here", touch
    screens "tap + to add ..."; an empty box shows no byte counter."""

    def __init__(self, label: str, what: str, *, store: Store, accept: str, max_file_size: int,
                 multiple: bool = False) -> None:
        """`label`: names the box (tests find it by it); `what`: the files it takes, as in "Drop `what` here"."""
        super().__init__(label=label, multiple=multiple, auto_upload=True, max_file_size=max_file_size,
                         on_rejected=self._too_large)
        self.store = store
        self.props(f'accept="{accept}" flat bordered no-thumbnails').classes('w-full ds-upload')
        with self.add_slot('header'), ui.row().classes('ds-upload-header w-full items-center no-wrap gap-2'):
            ui.icon('upload_file', size='20px').classes('ds-muted')
            with ui.column().classes('grow gap-0 min-w-0'):
                ui.html(f'<span class="ds-pointer-fine">Drop {what} here</span>'
                        f'<span class="ds-pointer-coarse">Tap + to add {what}</span>', sanitize=False) \
                    .classes('ds-upload-title')
            with ui.button(icon='add').props('flat round dense').tooltip('Choose files'):
                ui.element('q-uploader-add-trigger')
        self.problem = ui.label('').classes('ds-error').mark('upload-problem')
        self.on('uploaded', lambda: self.run_method('removeUploadedFiles'))
        self.on('removed', lambda: self.problem.set_text(''))

    async def handle_uploads(self, files: list[FileUpload]) -> None:
        """Store each file; a refusal becomes the upload's HTTP answer, so the box marks the file as failed."""
        refused: list[str] = []
        with self.parent_slot or nullcontext():
            for file in files:
                try:
                    notify(await self.store(file), 'positive')
                except ServiceError as error:
                    refused.append(f'{file.name}: {error}')
                    notify(refused[-1], 'negative', multi_line=True)
            self.problem.set_text('\n'.join(refused))
        if refused:
            raise HTTPException(422, '; '.join(refused))

    def _too_large(self) -> None:
        notify('That file is larger than the upload limit', 'negative')
