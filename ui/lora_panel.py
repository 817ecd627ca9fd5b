"""The LoRA panel: the LoRA files with a live scale slider each (`lora_scales`), and `.safetensors` uploads."""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from nicegui import ui
from nicegui.elements.upload_files import FileUpload

from services.context import ServerContext
from services.loras import SUFFIX

from .drop_zone import DropZone
from .sync import SessionSync
from .theme import hint, readout, section, tip

DEFAULT_SCALE = 1.0


class LoraPanel:
    """LoRA files of the server, their scales in the session."""

    def __init__(self, context: ServerContext, sync: SessionSync) -> None:
        self.context = context
        self.sync = sync
        self.sliders: dict[str, ui.slider] = {}
        self.readouts: dict[str, ui.label] = {}
        self.paths: list[str] | None = None
        with section('LoRA', 'layers', hint='scales apply live'):
            self.support = hint('')
            self.list = ui.column().classes('w-full gap-1').mark('lora-list')
            DropZone('Drop a .safetensors LoRA here', f'a {SUFFIX} LoRA', store=self.store, accept=SUFFIX,
                     max_file_size=context.config.max_upload_bytes).mark('lora-upload')
        self.show_support()
        self.show_files()
        sync.every(30, self.show_files, self.list)
        sync.watch('lora_scales', self.show_scales, self.list)
        sync.on_pipeline_change(self.show_support)

    def show_support(self) -> None:
        info = self.sync.info
        self.support.set_text(f'{info.name} applies LoRA scales.' if info.supports_lora else
                              f'{info.name} does not use LoRAs: scales are sent and kept, but change nothing.')

    def show_files(self) -> None:
        """List the LoRA folder (again when files came or went)."""
        files = self.context.loras.files()
        paths = [info.path for info in files]
        if paths == self.paths:
            return
        self.paths = paths
        current = {entry['path']: entry['scale'] for entry in self.sync.value('lora_scales', [])}
        self.list.clear()
        self.sliders, self.readouts = {}, {}
        with self.list:
            if not files:
                hint(f'No LoRA files yet in {self.context.config.lora_dir}.')
            for index, info in enumerate(files):
                scale = float(current.get(info.path, DEFAULT_SCALE))
                with ui.row().classes('w-full items-center no-wrap gap-2 ds-item'):
                    name = f'{info.folder}/{info.name}' if info.folder else info.name
                    tip(ui.label(name).classes('w-32 truncate'), f'{info.path} · {info.size_mb} MB')
                    self.sliders[info.path] = ui.slider(min=0, max=2, step=0.05, value=scale,
                                                        on_change=lambda e, path=info.path: self.moved(path, e.value)) \
                        .props('dense').classes('grow').mark(f'lora-scale-{index}')
                    self.readouts[info.path] = readout(f'{scale:.2f}').classes('w-10 text-right')

    def moved(self, path: str, value: float | None) -> None:
        if value is None:
            return
        self.readouts[path].set_text(f'{value:.2f}')
        self.sync.send({'lora_scales': [{'path': p, 'scale': float(s.value)} for p, s in self.sliders.items()]})

    def show_scales(self, scales: Any) -> None:
        for entry in scales or []:
            slider = self.sliders.get(entry.get('path'))
            if slider is not None:
                slider.set_value(float(entry.get('scale', DEFAULT_SCALE)))
                self.readouts[entry['path']].set_text(f'{float(entry.get("scale", DEFAULT_SCALE)):.2f}')

    async def store(self, file: FileUpload) -> str:
        """Store an uploaded LoRA as `POST /api/v1/loras/upload` does (type, name, size and header checks)."""
        await self.context.loras.store(file.name, file.iterate(), file.size())
        self.show_files()
        return f'LoRA {PurePosixPath(file.name).stem} uploaded'
