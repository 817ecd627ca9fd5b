"""The session panel: who is connected, links to share, and who changed what lately."""
from __future__ import annotations

import time

from nicegui import ui

from pipeline.session import Change
from services.access import Role
from services.context import ServerContext
from services.stream_views import urls

from .shortcuts import shortcut_table
from .sync import SessionSync
from .theme import hint, section

LOG_ENTRIES = 8
ROLE_ICONS = {'control': 'tune', 'view': 'visibility'}


class SessionPanel:
    """Peers of the session by role, share links (controllers only), the change log and the shortcut list."""

    def __init__(self, context: ServerContext, sync: SessionSync, base_url: str) -> None:
        self.context = context
        self.sync = sync
        session = sync.session
        with section('Connected', 'group'):
            self.peers = ui.column().classes('w-full gap-1').mark('peer-list')
        if sync.can_control and session.tokens:
            with section('Share', 'share', hint='anyone with a link can join'):
                for role, token in session.tokens.items():
                    url = f'{base_url.rstrip("/")}/s/{session.id}?token={token}'
                    with ui.row().classes('w-full items-center no-wrap gap-1'):
                        ui.icon(ROLE_ICONS.get(role, 'link'), size='16px').classes('ds-muted')
                        ui.input(value=url).props('dense readonly borderless').classes('grow font-mono text-xs') \
                            .mark(f'link-{role}')
                        ui.button(icon='content_copy', on_click=lambda u=url: ui.clipboard.write(u)) \
                            .props('flat round dense size=sm').tooltip(f'Copy the {role} link')
        if (stream := context.streams.of_session(session.id)) is not None:
            stream_urls = urls(stream, base_url)
            shown = [('WHIP (publish)', 'whip', stream_urls.whip)] if sync.can_control else []
            shown += [('WHEP (watch)', 'whep', stream_urls.whep), ('HLS (watch)', 'hls', stream_urls.hls)]
            with section('Daydream stream', 'cell_tower', hint=stream.id):
                for label, key, url in shown:
                    copy_row(label, url, f'stream-{key}')
        with section('Recent changes', 'history'):
            self.log = ui.column().classes('w-full gap-0 ds-log').mark('change-log')
        with section('Keyboard', 'keyboard'):
            shortcut_table()
        self.shown_peers: list[tuple[Role, str]] | None = None
        self.shown_log: list[Change] | None = None
        sync.every(5, self.show, self.peers)

    def show(self) -> None:
        """Refresh the peer list and the change log when they changed."""
        peers = sorted((peer.role, peer.label) for peer in self.context.peers.of_session(self.sync.session.id))
        if peers != self.shown_peers:
            self.shown_peers = peers
            self.peers.clear()
            with self.peers:
                if not peers:
                    hint('Nobody is connected over WebRTC.')
                for role, label in peers:
                    with ui.row().classes('items-center gap-2 no-wrap'):
                        ui.icon(ROLE_ICONS.get(role, 'person'), size='16px') \
                            .classes('text-primary' if role == 'control' else 'ds-muted')
                        ui.label(label).classes('font-mono text-xs')
                        if label == self.sync.source:
                            ui.badge('this tab', color='grey-8').classes('ds-flag')
                        ui.label(role).classes('ds-hint')
        entries = list(self.sync.session.change_log)[-LOG_ENTRIES:]
        if entries != self.shown_log:
            self.shown_log = entries
            self.log.clear()
            with self.log:
                if not entries:
                    hint('No changes yet.')
                for change in reversed(entries):
                    with ui.row().classes('w-full no-wrap gap-2 ds-log-row'):
                        ui.label(time.strftime('%H:%M:%S', time.localtime(change.time))).classes('ds-readout')
                        ui.label(change.source).classes('font-mono text-xs w-24 truncate')
                        ui.label(', '.join(change.keys)).classes('text-xs grow truncate')



def copy_row(label: str, url: str, marker: str) -> None:
    """A labelled read-only URL with a copy button."""
    with ui.row().classes('w-full items-center no-wrap gap-1'):
        ui.label(label.split(' ')[0]).classes('ds-hint w-10')
        ui.input(value=url).props('dense readonly borderless').classes('grow font-mono text-xs').mark(marker)
        ui.button(icon='content_copy', on_click=lambda: ui.clipboard.write(url)) \
            .props('flat round dense size=sm').tooltip(f'Copy the {label} URL')
