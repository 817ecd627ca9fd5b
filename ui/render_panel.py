"""The Render tab: a clip rendered offline from prompts and a timeline (or from what was just performed)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nicegui import ui
from pydantic import ValidationError

from services.batch import Generation
from services.batch_request import GenerateRequest
from services.context import ServerContext
from services.errors import ServiceError
from services.performance import session_performance

from .render_timeline import RenderTimeline
from .sync import SessionSync
from .theme import hint, notify, readout, section

DOWNLOAD = '/api/v1/generate/download'
SHOW_EVERY = 0.1  # seconds between progress updates on the page


class RenderPanel:
    """Prompt, timeline, frames, seed and input video; Render, Cancel, progress, and the result to watch or save."""

    def __init__(self, context: ServerContext, sync: SessionSync) -> None:
        self.context = context
        self.sync = sync
        self.generation: Generation | None = None
        self.prompt_items: list[dict[str, Any]] = []
        self.shown_at = 0.0
        with section('Render', 'movie_creation', hint='offline · full quality · same seed, same clip'):
            with ui.row().classes('w-full items-start no-wrap gap-1'):
                self.prompt = ui.textarea('Prompt', placeholder='what the clip starts with') \
                    .props('dense autogrow').classes('grow ds-render-prompt').mark('render-prompt')
                ui.button(icon='content_copy', on_click=self.use_live_prompts).props('flat round dense') \
                    .tooltip('Start from the live prompts').mark('render-live-prompts')
            self.timeline = RenderTimeline()
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.frames = ui.number('Frames', value=90, min=1, max=10_000, step=1, precision=0) \
                    .props('dense').classes('w-24 ds-render-frames').mark('render-frames')
                self.seed = ui.number('Seed', value=42, min=0, step=1, precision=0).props('dense').classes('w-24') \
                    .mark('render-seed')
                self.input = ui.select({'': 'No input video'}, value='', label='Input video') \
                    .props('dense options-dense').classes('grow').mark('render-input')
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.start_button = ui.button('Render', icon='movie', on_click=self.render) \
                    .props('unelevated dense no-caps').classes('px-3 ds-render-start').mark('render-start')
                ui.button('Render what I just performed', icon='history', on_click=self.render_performance) \
                    .props('flat dense no-caps').classes('ds-render-performed').mark('render-performed')
                ui.space()
                self.cancel_button = ui.button(icon='stop', on_click=self.cancel).props('flat round dense') \
                    .tooltip('Cancel (keeps what was rendered)').mark('render-cancel')
                self.cancel_button.disable()
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.progress = ui.linear_progress(value=0, show_value=False, size='6px') \
                    .props('rounded color=secondary track-color=grey-9').classes('grow').mark('render-progress')
                self.status = readout('idle').classes('ds-render-status whitespace-nowrap').mark('render-status')
            hint('Renders on the loaded pipeline, shared with the live stream: live frames come slower meanwhile.')
        with section('Result', 'smart_display'):
            self.result = ui.column().classes('w-full gap-2 ds-render-result').mark('render-result')
            with self.result:
                hint('The rendered clip shows here.')
        self.use_live_prompts()
        self.show_inputs()
        sync.every(50, self.show_inputs, self.input)
        ui.context.client.on_delete(self.cancel)

    def use_live_prompts(self) -> None:
        """Start from the prompts the session shows now."""
        self._show_prompts(list(self.sync.value('prompts', [])))

    def show_inputs(self) -> None:
        """The video assets offered as input (kept when the selection still exists)."""
        options = {'': 'No input video'}
        for asset in self.context.assets.files('video'):
            options[asset.path] = self.context.assets.relative(asset)
        if options != self.input.options:
            self.input.set_options(options, value=self.input.value if self.input.value in options else '')

    async def render_performance(self) -> None:
        """Fill the form with the session's recent prompt changes and transitions, and render them."""
        performance = session_performance(self.sync.session)
        if performance is None:
            notify('Nothing performed yet: change the prompt or run a transition first', 'warning')
            return
        self._show_prompts(performance.prompts)
        self.timeline.set_specs(performance.chunk_specs)
        self.frames.set_value(performance.num_frames)
        self.seed.set_value(int(self.sync.value('seed', self.seed.value or 42)))
        await self.render()

    async def render(self) -> None:
        """Render the form as a batch generation, showing its progress, then the clip."""
        if self.generation is not None and not self.generation.done:
            notify('A render is running: cancel it first', 'warning')
            return
        try:
            request = await self._request()
            self.generation = generation = self.context.batch.start(request)
        except (ServiceError, ValidationError) as error:
            notify(f'Cannot render: {_message(error)}', 'negative', multi_line=True)
            return
        self.start_button.disable()
        self.cancel_button.enable()
        self.status.set_text('starting…')
        self.progress.set_value(0)
        last = None
        try:
            async for event in generation.stream():
                last = event
                if event.name == 'progress':
                    self._show_progress(event.data, request.num_frames)
        finally:
            self.start_button.enable()
            self.cancel_button.disable()
        if last is None or last.name == 'error':
            reason = last.data.get('error') if last else 'no events'
            self.status.set_text('failed')
            notify(f'The render failed: {reason}', 'negative', multi_line=True)
        else:
            await self._show_result(last.name, last.data)

    def cancel(self) -> None:
        """Stop the render after the current chunk."""
        if self.generation is not None:
            self.generation.cancel()

    async def _request(self) -> GenerateRequest:
        sync = self.sync
        text = (self.prompt.value or '').strip()
        prompts = self.prompt_items if text == _text(self.prompt_items) and self.prompt_items else text
        frames = int(self.frames.value or 0)
        body: dict[str, Any] = {
            'pipeline_id': sync.session.pipeline_id, 'prompt': prompts, 'num_frames': frames,
            'seed': int(self.seed.value or 0), 'chunk_specs': self.timeline.specs() or None,
            'noise_scale': sync.value('noise_scale', 0.7), 'manage_cache': sync.value('manage_cache', True),
            'denoising_steps': sync.value('denoising_step_list'),
            'prompt_interpolation_method': sync.value('prompt_interpolation_method', 'linear')}
        request = GenerateRequest.model_validate(body)
        if self.input.value:
            pipeline = sync.session.pipeline
            size = (None, None) if pipeline.keeps_input_size else (pipeline.width, pipeline.height)
            self.status.set_text('reading the input video…')
            uploaded = await self.context.batch.import_video(Path(self.input.value), frames, *size)
            request.input_path = uploaded['input_path']
        return request

    def _show_progress(self, progress: dict[str, Any], total: int) -> None:
        frames, fps = int(progress['frames']), float(progress['fps'])
        now = time.monotonic()
        if now - self.shown_at < SHOW_EVERY and progress['chunk'] < progress['total_chunks']:
            return
        self.shown_at = now
        left = (total - frames) / fps if fps > 0 else 0
        self.progress.set_value(frames / max(1, total))
        self.status.set_text(f'{frames}/{total} frames · {fps:.1f} fps · {left:.0f} s left')

    async def _show_result(self, name: str, data: dict[str, Any]) -> None:
        frames, height, width, _ = data['video_shape']
        output = data['output_path']
        self.status.set_text(f'{"cancelled at" if name == "cancelled" else "done:"} {frames} frames')
        self.result.clear()
        with self.result:
            if frames == 0:
                hint('Cancelled before the first frame.')
                return
            try:
                await self.context.batch.mp4(output)
            except ServiceError as error:
                hint(f'The MP4 could not be made: {error.message}')
                return
            mp4 = f'{DOWNLOAD}?{urlencode({"path": output, "format": "mp4"})}'
            ui.video(mp4, autoplay=True, loop=True, muted=True).classes('w-full ds-render-video').mark('render-video')
            with ui.row().classes('w-full items-center gap-2'):
                readout(f'{frames} frames · {width}x{height}')
                ui.space()
                ui.link('MP4', mp4).props('download').classes('ds-render-download').mark('render-download')
                ui.link('raw', f'{DOWNLOAD}?{urlencode({"path": output})}').props('download') \
                    .tooltip("Scope's raw format: 20-byte header, uint8 THWC frames")

    def _show_prompts(self, prompts: list[dict[str, Any]]) -> None:
        self.prompt_items = prompts
        self.prompt.set_value(_text(prompts))


def _text(prompts: list[dict[str, Any]]) -> str:
    return ' + '.join(str(p.get('text', '')) for p in prompts)


def _message(error: Exception) -> str:
    if isinstance(error, ServiceError):
        return error.message
    if isinstance(error, ValidationError):
        return '; '.join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    return str(error)
