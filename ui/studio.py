"""The studio page of a session: live video first, every control in tabs beside (or under) it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.elements.mixins.disableable_element import DisableableElement

from pipeline.session import Session
from services.access import role_of
from services.context import ServerContext
from services.reports import who_is_connected

from .assets_panel import AssetsPanel
from .audio_panel import audio_panel
from .control_panel import ControlPanel
from .controls import generation_controls
from .input_source import InputSource
from .lora_panel import LoraPanel
from .pipeline_panel import PipelinePanel
from .presets import PresetPanel
from .prompt_panel import PromptPanel
from .render_panel import RenderPanel
from .session_panel import SessionPanel
from .shortcuts import CONTROLLING, install_shortcuts, shortcut_table
from .sync import POLL_INTERVAL, SessionSync
from .theme import apply_theme, notify, section
from .transition_panel import TransitionPanel
from .video_panel import VideoPanel

NAVIGATION = (ui.tab, ui.tabs, ui.tab_panel, ui.tab_panels, ui.expansion)
TEXT_FIELDS = (ui.textarea, ui.input, ui.number)
SCRIPTS = ('<script src="/static/socket_video.js"></script><script src="/static/stream.js"></script>'
           '<script src="/static/studio.js"></script>')


def studio(context: ServerContext, session: Session, token: str, *, base_url: str, studio_link: bool) -> None:
    """Build the studio for `session`; the token decides between control and view-only."""
    client = ui.context.client
    can_control = role_of(session.tokens, token) == 'control'
    sync = SessionSync(session, f'studio-{client.id[:4]}', can_control)
    audience = context.peers.attachment(session)
    audience.add_member(sync.source, 'page')  # an open studio page is a controller (or viewer): the session renders
    client.on_delete(lambda: audience.remove_member(sync.source))
    ui.page_title(f'Dreamstage · {session.name or session.id[:8]}')
    apply_theme()
    ui.add_head_html(SCRIPTS)
    help_dialog = shortcuts_dialog(can_control)
    header(context, sync, help_dialog.open)
    with ui.element('div').classes('ds-main'):
        with ui.column().classes('ds-left'):
            video = VideoPanel(sync, open_media=lambda: tabs.set_value(tab['Media']))
        with ui.column().classes('ds-right' if can_control else 'ds-right ds-readonly') as right:
            with ui.tabs().props('dense no-caps active-color=primary indicator-color=primary narrow-indicator') \
                    .classes('ds-tabs w-full') as tabs:
                tab = {name: ui.tab(name, icon=icon).mark(f'tab-{name.lower()}')
                       for name, icon in tab_names(can_control)}
            with ui.tab_panels(tabs, value=tab['Prompt'], animated=False) \
                    .classes('ds-panels w-full'):
                with ui.tab_panel(tab['Prompt']):
                    prompts = PromptPanel(sync)
                    transition = TransitionPanel(sync)
                with ui.tab_panel(tab['Generate']):
                    generation_controls(sync)
                if can_control:
                    with ui.tab_panel(tab['Presets']):
                        presets = PresetPanel(sync, context.looks, lambda: transition.num_steps)
                    with ui.tab_panel(tab['Pipeline']):
                        PipelinePanel(context, sync)
                    with ui.tab_panel(tab['LoRA']):
                        LoraPanel(context, sync)
                    with ui.tab_panel(tab['Media']):
                        AssetsPanel(context, sync, InputSource(sync))
                    with ui.tab_panel(tab['Audio']):
                        audio_panel(context, lambda: sync.session.id)
                    with ui.tab_panel(tab['Control']):
                        ControlPanel(context, sync)
                    with ui.tab_panel(tab['Render']):
                        RenderPanel(context, sync)
                with ui.tab_panel(tab['Session']):
                    SessionPanel(context, sync, base_url)
    ui.timer(POLL_INTERVAL, sync.poll)
    if not can_control:
        sync.every(10, lambda: make_read_only(right), right)
    sync.every(10, SessionEnd(sync, studio_link).check, right)
    local = {'fullscreen': video.fullscreen, 'snapshot': video.snapshot, 'record': video.toggle_recording,
             'stats': video.toggle_stats, 'help': help_dialog.open}
    if can_control:
        install_shortcuts({**local, 'apply': prompts.apply, 'pause': video.toggle_pause, 'reset': video.reset_cache,
                           'transition': transition.start, 'next': lambda: presets.step(1),
                           'previous': lambda: presets.step(-1)}, presets.recall_index)
    else:
        def refuse() -> None:
            notify('This is a view-only link: only controllers can change the session', 'warning')
        install_shortcuts({**local, **dict.fromkeys(CONTROLLING, refuse)}, lambda index: refuse())
    video.start({'session_id': session.id, 'session_token': token, 'client_label': sync.source})


def tab_names(can_control: bool) -> list[tuple[str, str]]:
    """The tabs (name, icon) a controller or a viewer gets."""
    tabs = [('Prompt', 'edit_note'), ('Generate', 'tune')]
    if can_control:
        tabs += [('Presets', 'bookmarks'), ('Pipeline', 'hub'), ('LoRA', 'layers'), ('Media', 'perm_media'),
                 ('Audio', 'graphic_eq'), ('Control', 'cable'), ('Render', 'movie_creation')]
    return [*tabs, ('Session', 'group')]


def header(context: ServerContext, sync: SessionSync, show_help: Callable[[], Any]) -> None:
    """The top bar: name, session, pipeline and who is connected."""
    session = sync.session
    with ui.header().classes('ds-header items-center no-wrap'):
        ui.html('<span class="ds-logo-mark"></span>', sanitize=False)
        ui.label('Dreamstage').classes('ds-logo')
        ui.label(session.name or f'session {session.id[:8]}').classes('ds-session-name gt-xs').mark('session-name')
        if not sync.can_control:
            ui.badge('view only', color='warning').props('outline').classes('gt-xs').mark('view-only')
        ui.space()
        pipeline = ui.label('').classes('ds-pipeline-chip truncate').mark('header-pipeline')
        peers = ui.label('').classes('ds-peers gt-sm').mark('header-peers')
        ui.button(icon='keyboard', on_click=show_help).props('flat round dense color=grey-5') \
            .tooltip('Keyboard shortcuts (?)')

    shown: list[str] = ['']

    def show() -> None:
        status = context.manager.status()['status']
        state = '' if status == 'loaded' else f' · {status.replace("_", " ")}'
        pipeline.set_text(f'{sync.info.name}{state}')
        if shown[0] != status:
            shown[0] = status
            pipeline.classes(replace=f'ds-pipeline-chip truncate ds-status-{status}')
        peers.set_text(who_is_connected(context.peers, session.id))

    sync.every(5, show, pipeline)


def shortcuts_dialog(can_control: bool) -> ui.dialog:
    """The shortcut list in a dialog (the `?` key)."""
    with ui.dialog() as dialog, ui.card().classes('ds-dialog'):
        with section('Keyboard shortcuts', 'keyboard', hint='outside text fields'):
            shortcut_table(can_control)
    return dialog


def make_read_only(container: ui.element) -> None:
    """Make every input of a viewer's panel read-only (the sync refuses their changes anyway): text stays readable in
    read-only fields, the rest is disabled. Tabs, their panels and folding sections stay usable (a disabled tab panel
    is not shown at all). Runs again every second for controls that panels rebuild."""
    for element in container.descendants():
        if isinstance(element, TEXT_FIELDS):
            if 'readonly' not in element.props:
                element.props('readonly')
        elif isinstance(element, DisableableElement) and not isinstance(element, NAVIGATION):
            element.disable()


class SessionEnd:
    """Tells the page once when its session ends: the studio's own page reloads into a new studio session."""

    def __init__(self, sync: SessionSync, studio_link: bool) -> None:
        self.sync = sync
        self.studio_link = studio_link
        self.told = False

    def check(self) -> None:
        session = self.sync.session
        if self.told or not session.closed:
            return
        self.told = True
        if self.studio_link:
            notify('The studio session ended: starting a new one…', 'warning')
            ui.timer(1.5, ui.navigate.reload, once=True)
        else:
            reason = f': {session.error}' if session.error else ''
            notify(f'This session has ended{reason}', 'negative', timeout=0, close_button=True)
