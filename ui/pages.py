"""The pages: the studio's session at `/`, and any shared session at `/s/{session_id}?token=...`."""
from __future__ import annotations

import json
from pathlib import Path

from fastapi.responses import RedirectResponse
from nicegui import app, ui

from api.access import role_of
from api.context import ServerContext
from api.session_links import studio_session
from pipeline.session import Session

STATIC = Path(__file__).parent.parent / 'static'


def register(context: ServerContext) -> None:
    """Add the static files and pages to the app."""
    app.add_static_files('/static', STATIC)

    @ui.page('/')
    async def studio_page() -> None:
        """The studio's own session (control)."""
        try:
            session = studio_session(context)
        except LookupError as error:
            ui.label(f'Dreamstage is starting: {error}').classes('p-8')
            ui.timer(2.0, lambda: ui.navigate.reload(), once=True)
            return
        await live_view(session, session.tokens['control'])

    @ui.page('/s/{session_id}')
    async def shared_page(session_id: str, token: str = '') -> RedirectResponse | None:
        """A session shared by link; the token decides whether the visitor controls or only watches."""
        session = context.sessions.get(session_id)
        if session is None or session.closed:
            ui.label('This session has ended or never existed.').classes('p-8 text-lg')
            return None
        if role_of(session, token) is None:
            ui.label('This link is missing its token, or the token is wrong.').classes('p-8 text-lg')
            return None
        await live_view(session, token)
        return None


async def live_view(session: Session, token: str) -> None:
    """The live video of a session with a prompt box (controllers only)."""
    can_control = session.tokens.get('control') == token
    ui.add_head_html('<script src="/static/stream.js"></script>')
    with ui.column().classes('w-full items-center gap-4 p-4'):
        ui.label('Dreamstage').classes('text-2xl font-bold')
        video = ui.element('video').props('autoplay playsinline muted') \
            .classes('w-full max-w-3xl rounded-lg bg-black')
        state = ui.label('connecting…').classes('text-sm opacity-70').mark('connection-state')
        prompts = session.state.snapshot().get('prompts') or [{'text': ''}]
        if can_control:
            with ui.row().classes('w-full max-w-3xl items-center'):
                prompt = ui.input('Prompt', value=prompts[0]['text']).classes('flex-grow').mark('prompt')
                ui.button('Apply', on_click=lambda: send_prompt()).mark('apply')
            prompt.on('keydown.enter', lambda: send_prompt())

    def send_prompt() -> None:
        session.update({'prompts': [{'text': prompt.value, 'weight': 1.0}]}, source='studio')

    await ui.context.client.connected()
    join = {'session_id': session.id, 'session_token': token}
    ui.run_javascript(f'''
        const video = document.getElementById("{video.html_id}");
        const state = document.getElementById("{state.html_id}");
        window.dreamstage = new DreamstageStream(video, {{
            initialParameters: {json.dumps(join)},
            onState: (s) => {{ state.innerText = s; }},
        }});
        window.dreamstage.start().catch((e) => {{ state.innerText = "error: " + e.message; }});
    ''')
