"""Dreamstage: command line, environment, and wiring the app together."""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import sys

from fastapi.middleware.cors import CORSMiddleware
from nicegui import app, background_tasks, ui
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp

import config as settings
from api import (
    assets,
    cloud,
    dmx,
    errors,
    health,
    input_sources,
    keys,
    login,
    logs,
    loras,
    models,
    nodes,
    onboarding,
    pipelines,
    plugins,
    recordings,
    scope_web,
    sessions,
    streams,
    webrtc,
    whip,
    workflows,
    ws_video,
)
from api import audio as audio_api
from api import batch as batch_api
from api.auth import AccessControl
from api.body_limit import BodyLimit
from api.midi import router as midi_router
from api.modulation import router as modulation_router
from api.osc import router as osc_router
from api.tempo import router as tempo_router
from pipeline.memory import keep_frame_memory
from rtc.ice import configure_host_addresses
from rtc.stats import LOOP_LAG
from services.context import ServerContext
from services.uploads import remove_partial_uploads
from ui import audio_page, pages

log = logging.getLogger('dreamstage')
GRACEFUL_SHUTDOWN = 1.0  # seconds requests get to finish after SIGTERM; then uploads still running are cancelled


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Scope-like command line flags."""
    parser = argparse.ArgumentParser(prog='dreamstage', description='Real-time AI video studio and Scope server.',
                                     epilog='dreamstage generate --help: render a clip offline (batch generation)')
    parser.add_argument('--host', default='127.0.0.1', help='address to bind to (default: 127.0.0.1)')
    parser.add_argument('--port', type=int, default=8000, help='port to bind to (default: 8000)')
    parser.add_argument('-N', '--no-browser', action='store_true', help="don't open the studio in a browser")
    parser.add_argument('--pipeline', default=None, help='pipeline to load at start (env PIPELINE)')
    parser.add_argument('--version', action='version', version=f'dreamstage {settings.VERSION}')
    return parser.parse_args(argv)


def build(config: settings.Config) -> ServerContext:
    """Wire routers, pages and lifecycle hooks onto NiceGUI's FastAPI app."""
    keep_frame_memory()
    context = ServerContext.build(config)
    context.logbook.install()
    configure_host_addresses(config.ice_hosts)
    app.state.context = context
    errors.install(app)
    # batch videos and data blobs (`upload`, `upload-data`) stream to disk under the batch service's own 2 GiB limit
    batch_uploads = ('/api/v1/generate/upload', '/api/v1/batch/upload')
    app.add_middleware(BodyLimit, max_bytes=config.max_upload_bytes, own_limits=batch_uploads)  # after AccessControl
    app.add_middleware(AccessControl, api_key=config.api_key, offers_per_minute=config.offers_per_minute,
                       uploads_per_minute=config.uploads_per_minute)
    # Open CORS as in Scope without a key; with a key only the origins named in DREAMSTAGE_CORS_ORIGINS.
    origins = config.cors_origins if config.api_key else ['*']
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=['*'], allow_headers=['*'],
                       allow_credentials=False, expose_headers=whip.EXPOSED.split(', '))
    for router in (health.router, pipelines.router, models.router, webrtc.router, assets.router, loras.router,
                   plugins.router, sessions.router, sessions.sessions_router, login.router,
                   ws_video.router, audio_api.router, osc_router, tempo_router, modulation_router,
                   midi_router, *batch_api.routers, streams.router, whip.router, recordings.router, logs.router,
                   onboarding.router, keys.router, cloud.router, nodes.router, dmx.router, input_sources.router,
                   workflows.router):
        app.include_router(router)
    if config.scope_ui_dir is not None:
        scope_web.install(app, config.scope_ui_dir)
    pages.register(context)
    audio_page.register(context)
    app.on_startup(lambda: startup(context))
    app.on_shutdown(lambda: shutdown(context))
    return context


def startup(context: ServerContext) -> None:
    """Create the server's folders (without the uploads a stopped server cut short), watch the event loop and the
    sessions, and pre-load the configured pipeline."""
    background_tasks.create(LOOP_LAG.watch(), name='loop-lag')
    background_tasks.create(context.lifecycle.run(), name='session-lifecycle')
    background_tasks.create(context.control.start(), name='control')  # OSC, MIDI inputs, the control loop
    background_tasks.create(context.batch.run_sweeps(), name='batch-sweeps')
    background_tasks.create(context.streams.run(), name='streams')
    context.sessions.follow_pipeline_reloads(asyncio.get_running_loop())
    config = context.config
    for folder in (config.models_dir, config.lora_dir, config.assets_dir):
        folder.mkdir(parents=True, exist_ok=True)
        if removed := remove_partial_uploads(folder):
            log.info('removed %d unfinished uploads from %s', removed, folder)
    if removed := context.batch.files.clear():
        log.info('removed %d batch uploads and outputs of the last run', removed)
    if config.preload_pipeline:
        try:
            context.manager.load(context.manager.validate([(config.preload_pipeline, config.preload_pipeline, {})]))
        except ValueError as error:
            log.error('cannot pre-load %s: %s', config.preload_pipeline, error)


async def shutdown(context: ServerContext) -> None:
    """Stop the audio loops, the control surfaces, streams and recordings, close every peer (each hears
    `stream_stopped`) and session, then unload pipelines; uvicorn has already ended the requests still running after
    `GRACEFUL_SHUTDOWN` seconds (an upload cut short removes its partial file)."""
    await asyncio.to_thread(context.audio.stop_all)
    await context.control.stop()
    await context.streams.close_all()
    await context.recordings.close_all()
    await context.peers.close_all()
    await context.sessions.close_all()
    context.manager.unload_all(collect=False)  # the process ends: no garbage collection (most of a second)


def cli(argv: list[str] | None = None) -> None:
    """Run the server (the `dreamstage` command)."""
    limit_malloc_arenas()
    simulated = bool(os.environ.get('NICEGUI_USER_SIMULATION'))
    arguments = [] if simulated else sys.argv[1:] if argv is None else argv
    if arguments[:1] == ['generate']:
        from cli.generate import main as generate

        sys.exit(generate(arguments[1:]))
    args = parse_args(arguments)
    config = settings.Config.from_env()
    config.host, config.port, config.open_browser = args.host, args.port, not args.no_browser
    config.preload_pipeline = args.pipeline or config.preload_pipeline or settings.DEFAULT_PIPELINE
    if config.preload_pipeline.lower() == 'none':
        config.preload_pipeline = None
    logging.basicConfig(level=logging.DEBUG if config.verbose else logging.INFO,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    if config.host not in ('127.0.0.1', 'localhost', '::1') and not config.api_key:
        log.warning('listening on %s without DREAMSTAGE_API_KEY: anyone who can reach this address can use the '
                    'server. Set DREAMSTAGE_API_KEY to protect it.', config.host)
    build(config)
    ui.run(host=config.host, port=config.port, title='Dreamstage', dark=True, reload=False,
           show=config.open_browser, fastapi_docs=True, show_welcome_message=True, favicon='🎬',
           timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,  # passed on to uvicorn
           gzip_middleware_factory=gzip_except_raw_video)


def gzip_except_raw_video(inner: ASGIApp) -> GZipMiddleware:
    """NiceGUI's gzip, except for raw binary bodies (batch video downloads: large, and slow to compress)."""
    return GZipMiddleware(inner, exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, 'application/octet-stream'))


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let glibc's malloc use at most two arenas instead of eight per core.

    Every session's worker thread and every encoder thread would otherwise allocate from an arena of its own, and
    each arena keeps the pages it freed: after 300 connect/disconnect cycles they held ~90 MB of free memory, ~30 MB
    with two arenas (issue 9). Without glibc (macOS, Windows, musl) nothing changes."""
    m_arena_max = -8  # from glibc's malloc.h
    try:
        ctypes.CDLL('libc.so.6').mallopt(m_arena_max, arenas)
    except (OSError, AttributeError):
        pass


if __name__ in {'__main__', '__mp_main__'}:
    cli()
