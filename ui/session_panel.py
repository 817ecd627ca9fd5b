"""The session panel: who is connected, links to share, and who changed what lately."""
from __future__ import annotations

import asyncio
import json
import time

from nicegui import events, ui

from pipeline.session import Change
from services.access import Role
from services.context import ServerContext
from services.stream_views import urls

from .shortcuts import shortcut_table
from .sync import SessionSync
from .theme import hint, notify, section

LOG_ENTRIES = 8
ROLE_ICONS = {'control': 'tune', 'view': 'visibility'}


LINKS = {
    'control': ('Control link', 'opens the full studio: whoever has it can change everything'),
    'view': ('View link', 'for the audience: the video and the values, nothing to change'),
}


def share_link(title: str, purpose: str, url: str, key: str, icon: str = 'link', primary: bool = False) -> None:
    """One link to share: what it is for, the whole address, and a copy button that says when it copied."""
    with ui.column().classes('ds-share w-full gap-1').mark(f'share-{key}'):
        with ui.row().classes('w-full items-center no-wrap gap-2'):
            ui.icon(icon, size='16px').classes('text-primary' if primary else 'ds-muted')
            ui.label(title).classes('ds-share-title')
            ui.label(purpose).classes('ds-hint grow min-w-0')
        with ui.row().classes('w-full items-start no-wrap gap-1'):
            ui.label(url).classes('ds-share-url grow min-w-0').mark(f'link-{key}')
            copy = ui.button('Copy', icon='content_copy').props('flat dense no-caps size=sm') \
                .classes('ds-copy').mark(f'copy-{key}')

    async def copied(event: events.GenericEventArguments) -> None:
        if not event.args:
            notify('This browser did not let the page copy: select the link and copy it', 'warning')
            return
        copy.set_text('Copied')
        copy.props('icon=check color=positive')
        notify(f'{title} copied', 'positive', timeout=1500)
        await asyncio.sleep(2.0)
        if not copy.is_deleted:
            copy.set_text('Copy')
            copy.props('icon=content_copy color=primary')

    # copied in the browser, within the click (clipboards want a user's gesture); the page hears whether it worked
    copy.on('click', copied, js_handler=f'() => window.dreamstageCopy({json.dumps(url)}).then((ok) => emit(ok))')


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
                    title, purpose = LINKS.get(role, (f'{role.capitalize()} link', ''))
                    share_link(title, purpose, f'{base_url.rstrip("/")}/s/{session.id}?token={token}', role,
                               ROLE_ICONS.get(role, 'link'), primary=role == 'control')
        if (stream := context.streams.of_session(session.id)) is not None:
            stream_urls = urls(stream, base_url)
            shown = [('WHIP', 'publish video here (OBS, a WHIP client)', 'whip', stream_urls.whip)] \
                if sync.can_control else []
            shown += [('WHEP', 'watch over WebRTC', 'whep', stream_urls.whep),
                      ('HLS', 'watch in any HLS player', 'hls', stream_urls.hls)]
            with section('Daydream stream', 'cell_tower', hint=stream.id):
                for title, purpose, key, url in shown:
                    share_link(title, purpose, url, f'stream-{key}', 'cell_tower')
        with section('Recent changes', 'history'):
            self.log = ui.column().classes('w-full gap-0 ds-log').mark('change-log')
        with section('Keyboard', 'keyboard'):
            shortcut_table(sync.can_control)
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
