"""The assets panel: drag-and-drop uploads, a browser with thumbnails, reference images and delete."""
from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import quote

from nicegui import ui
from nicegui.elements.upload_files import FileUpload

from services.assets import MEDIA_TYPES, AssetFileInfo
from services.context import ServerContext
from services.errors import ServiceError

from .drop_zone import DropZone
from .input_source import InputSource
from .sync import SessionSync
from .theme import hint, notify, section, tip

KIND_ICONS = {'image': 'image', 'video': 'movie', 'audio': 'graphic_eq'}


class AssetsPanel:
    """Images, videos and audio in the assets folder, and what the session can do with them."""

    def __init__(self, context: ServerContext, sync: SessionSync, input_source: InputSource) -> None:
        self.context = context
        self.sync = sync
        self.input_source = input_source
        self.listed: list[tuple[str, float]] = []
        self.kind = 'all'
        self.last_reference: str | None = None
        with section('Assets', 'perm_media', hint='images · videos · audio'):
            DropZone('Drop images, videos or audio here', 'images, videos or audio', store=self.store,
                     accept=','.join(MEDIA_TYPES), max_file_size=context.config.max_upload_bytes, multiple=True) \
                .mark('asset-upload')
            ui.toggle({'all': 'All', 'image': 'Images', 'video': 'Videos', 'audio': 'Audio'}, value='all',
                      on_change=lambda e: self.filter(e.value)) \
                .props('dense no-caps size=sm toggle-color=primary').classes('ds-toggle').mark('asset-filter')
            self.reference = hint('').mark('reference-status')
            self.grid = ui.element('div').classes('ds-asset-grid w-full').mark('asset-grid')
        self.show_reference_support()
        self.show_assets(force=True)
        sync.every(30, self.show_assets, self.grid)
        sync.on_pipeline_change(lambda: self.show_assets(force=True))

    def filter(self, kind: str) -> None:
        self.kind = kind
        self.show_assets(force=True)

    def show_assets(self, force: bool = False) -> None:
        """The asset cards, newest first (rebuilt only when files came or went)."""
        assets = self.context.assets.files()
        listed = [(asset.path, asset.created_at) for asset in assets]
        if listed == self.listed and not force:
            return
        self.listed = listed
        self.show_reference_support()
        self.grid.clear()
        with self.grid:
            shown = [asset for asset in assets if self.kind in ('all', asset.type)]
            if not shown:
                hint('Nothing here yet: drop files on the box above.')
            for asset in shown:
                self.card(asset)

    def card(self, asset: AssetFileInfo) -> None:
        """One asset: a thumbnail, its name and what it can be used for."""
        relative = self.context.assets.relative(asset)
        url = f'/api/v1/assets/{quote(relative)}'
        with ui.column().classes('ds-asset gap-0').mark(f'asset-{relative}'):
            if asset.type == 'image':
                ui.image(url).props('fit=cover loading=lazy').classes('ds-thumb')
            elif asset.type == 'video':
                ui.element('video').props(f'src="{url}#t=0.5" preload=metadata muted playsinline') \
                    .classes('ds-thumb')
            else:
                with ui.element('div').classes('ds-thumb ds-thumb-icon'):
                    ui.icon(KIND_ICONS[asset.type], size='28px')
            tip(ui.label(PurePosixPath(relative).name).classes('ds-asset-name truncate px-2 pt-1'),
                f'{relative} · {asset.size_mb} MB')
            with ui.row().classes('w-full items-center no-wrap gap-0 px-1'):
                if asset.type == 'image':
                    tip(ui.button(icon='center_focus_strong', on_click=lambda a=asset: self.use_reference(a))
                        .props('flat round dense size=sm'), 'Use as reference image') \
                        .mark(f'reference-{relative}').set_enabled(reference_key(self.sync) is not None)
                if asset.type == 'video':
                    tip(ui.button(icon='input', on_click=lambda u=url: self.input_source.use_video(u))
                        .props('flat round dense size=sm'), 'Use as video input') \
                        .mark(f'video-input-{relative}').set_enabled('video' in self.sync.info.supported_modes)
                ui.space()
                tip(ui.button(icon='open_in_new', on_click=lambda u=url: ui.navigate.to(u, new_tab=True))
                    .props('flat round dense size=sm').classes('ds-ghost'), 'Open')
                tip(ui.button(icon='delete_outline', on_click=lambda r=relative: self.delete(r))
                    .props('flat round dense size=sm').classes('ds-ghost'), 'Delete').mark(f'delete-{relative}')

    def use_reference(self, asset: AssetFileInfo) -> None:
        """Send an image as the reference of the next chunk (`vace_ref_images` or `images`)."""
        key = reference_key(self.sync)
        if key is None:
            notify(f'{self.sync.info.name} takes no reference image', 'warning')
            return
        self.sync.send({key: [asset.path]})
        self.last_reference = self.context.assets.relative(asset)
        self.show_reference_support()
        notify(f'Reference sent: {self.last_reference}', 'positive')

    def show_reference_support(self) -> None:
        key = reference_key(self.sync)
        if key is None:
            self.reference.set_text(f'{self.sync.info.name} takes no reference image.')
        else:
            last = f' Last sent: {self.last_reference}.' if self.last_reference else ''
            self.reference.set_text(f'Images can be sent as a reference ({key}).{last}')

    def delete(self, relative: str) -> None:
        try:
            self.context.assets.delete(relative)
        except ServiceError as error:
            notify(f'{relative}: {error}', 'negative')
        self.show_assets(force=True)

    async def store(self, file: FileUpload) -> str:
        """Store an upload as `POST /api/v1/assets` does (type, name, size and content checks)."""
        await self.context.assets.store(file.name, file.iterate(), file.size())
        self.show_assets(force=True)
        return f'{file.name} uploaded'


def reference_key(sync: SessionSync) -> str | None:
    """The parameter that carries a reference image for the session's pipeline, if it takes one."""
    info = sync.info
    properties = dict(info.load_params.model_json_schema().get('properties', {}))
    if info.runtime_params is not None:
        properties.update(info.runtime_params.model_json_schema().get('properties', {}))
    components = {str((prop.get('ui') or {}).get('component')) for prop in properties.values()}
    if 'vace_ref_images' in properties or 'vace' in components:
        return 'vace_ref_images'
    if {'images', 'ref_images'} & set(properties) or 'image' in components:
        return 'images'
    return None
