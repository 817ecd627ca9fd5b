"""The pages: the studio's session at `/`, and any shared session at `/s/{session_id}?token=...`."""
from __future__ import annotations

from fastapi import Request
from nicegui import app, ui

from services.access import role_of
from services.context import ServerContext
from services.errors import ServiceError

from .pipeline_panel import PipelinePanel
from .studio import studio
from .theme import STATIC, apply_theme


def register(context: ServerContext) -> None:
    """Add the static files and pages to the app."""
    app.add_static_files('/static', STATIC)

    @ui.page('/')
    def studio_page(request: Request) -> None:
        """The studio's own session (control)."""
        try:
            session = context.sessions.studio()
        except ServiceError as error:
            waiting(f'Dreamstage is starting: {error}', context)
            return
        studio(context, session, session.tokens['control'], base_url=str(request.base_url), studio_link=True)

    @ui.page('/s/{session_id}')
    def shared_page(request: Request, session_id: str, token: str = '') -> None:
        """A session shared by link; the token decides whether the visitor controls or only watches."""
        session = context.sessions.get(session_id)
        if session is None:
            notice('This session has ended or never existed.')
            return
        if role_of(session.tokens, token) is None:
            notice('This link is missing its token, or the token is wrong.')
            return
        studio(context, session, token, base_url=str(request.base_url), studio_link=False)


def waiting(message: str, context: ServerContext) -> None:
    """Shown while no pipeline is loaded: what is happening, a pipeline loader; reloads once one is loaded."""
    apply_theme()
    with ui.column().classes('w-full items-center p-8 gap-4'):
        with ui.row().classes('items-center gap-3'):
            ui.spinner(size='md', color='primary')
            ui.label(message).classes('text-lg').mark('starting')
        with ui.column().classes('ds-waiting-panel'):
            PipelinePanel(context, None)

    def check() -> None:
        if context.manager.loaded_chain():
            timer.deactivate()  # one reload: the next tick may come before the page is gone
            ui.navigate.reload()

    timer = ui.timer(1.0, check)


def notice(message: str) -> None:
    """A page with one sentence."""
    apply_theme()
    ui.label(message).classes('p-8 text-lg').mark('notice')
