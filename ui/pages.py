"""The pages: a live view of the generated stream at `/`."""
from __future__ import annotations

import json
from pathlib import Path

from nicegui import app, ui

from api.context import ServerContext

STATIC = Path(__file__).parent.parent / 'static'


def register(context: ServerContext) -> None:
    """Add the static files and pages to the app."""
    app.add_static_files('/static', STATIC)

    @ui.page('/')
    async def live_page() -> None:
        """The live stream with a prompt box."""
        ui.add_head_html('<script src="/static/stream.js"></script>')
        with ui.column().classes('w-full items-center gap-4 p-4'):
            ui.label('Dreamstage').classes('text-2xl font-bold')
            video = ui.element('video').props('autoplay playsinline muted') \
                .classes('w-full max-w-3xl rounded-lg bg-black')
            state = ui.label('connecting…').classes('text-sm opacity-70').mark('connection-state')
            with ui.row().classes('w-full max-w-3xl items-center'):
                prompt = ui.input('Prompt', value='a dreamy nebula of soft light').classes('flex-grow').mark('prompt')
                ui.button('Apply', on_click=lambda: send_prompt()).mark('apply')
            prompt.on('keydown.enter', lambda: send_prompt())

        def send_prompt() -> None:
            message = {'prompts': [{'text': prompt.value, 'weight': 1.0}]}
            ui.run_javascript(f'window.dreamstage && window.dreamstage.send({json.dumps(message)})')

        await ui.context.client.connected()
        ui.run_javascript(f'''
            const video = document.getElementById("{video.html_id}");
            const state = document.getElementById("{state.html_id}");
            window.dreamstage = new DreamstageStream(video, {{
                initialParameters: {{prompts: [{{text: {json.dumps(prompt.value)}, weight: 1.0}}]}},
                onState: (s) => {{ state.innerText = s; }},
            }});
            window.dreamstage.start().catch((e) => {{ state.innerText = "error: " + e.message; }});
        ''')
