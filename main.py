"""Dreamstage: command line, environment, and wiring the app together."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from fastapi.middleware.cors import CORSMiddleware
from nicegui import app, background_tasks, ui

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
    scope_web,
    sessions,
    webrtc,
    workflows,
    ws_video,
)
from api import audio as audio_api
from api.auth import AccessControl
from pipeline.memory import keep_frame_memory
from rtc.ice import configure_host_addresses
from rtc.stats import LOOP_LAG
from services.context import ServerContext
from services.uploads import remove_partial_uploads
from ui import audio_page, pages

log = logging.getLogger('dreamstage')


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Scope-like command line flags."""
    parser = argparse.ArgumentParser(prog='dreamstage', description='Real-time AI video studio and Scope server.')
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
    app.add_middleware(AccessControl, api_key=config.api_key, offers_per_minute=config.offers_per_minute,
                       uploads_per_minute=config.uploads_per_minute)
    # Open CORS as in Scope without a key; with a key only the origins named in DREAMSTAGE_CORS_ORIGINS.
    origins = config.cors_origins if config.api_key else ['*']
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=['*'], allow_headers=['*'],
                       allow_credentials=False)
    for router in (health.router, pipelines.router, models.router, webrtc.router, assets.router, loras.router,
                   plugins.router, sessions.router, sessions.sessions_router, login.router,
                   ws_video.router, audio_api.router, logs.router, onboarding.router, keys.router, cloud.router,
                   nodes.router, dmx.router, input_sources.router, workflows.router):
        app.include_router(router)
    if config.scope_ui_dir is not None:
        scope_web.install(app, config.scope_ui_dir)
    pages.register(context)
    audio_page.register(context)
    app.on_startup(lambda: startup(context))
    app.on_shutdown(lambda: shutdown(context))
    return context


def startup(context: ServerContext) -> None:
    """Create the server's folders, watch the event loop and the sessions, and pre-load the configured pipeline."""
    background_tasks.create(LOOP_LAG.watch(), name='loop-lag')
    background_tasks.create(context.lifecycle.run(), name='session-lifecycle')
    context.sessions.follow_pipeline_reloads(asyncio.get_running_loop())
    config = context.config
    for folder in (config.models_dir, config.lora_dir, config.assets_dir):
        folder.mkdir(parents=True, exist_ok=True)
        if removed := remove_partial_uploads(folder):
            log.info('removed %d unfinished uploads from %s', removed, folder)
    if config.preload_pipeline:
        try:
            context.manager.load(context.manager.validate([(config.preload_pipeline, config.preload_pipeline, {})]))
        except ValueError as error:
            log.error('cannot pre-load %s: %s', config.preload_pipeline, error)


async def shutdown(context: ServerContext) -> None:
    """Stop the audio loops, close every peer (they get `stream_stopped`) and session, then unload pipelines."""
    await asyncio.to_thread(context.audio.stop_all)
    await context.peers.close_all()
    await context.sessions.close_all()
    context.manager.unload_all()


def cli(argv: list[str] | None = None) -> None:
    """Run the server (the `dreamstage` command)."""
    simulated = bool(os.environ.get('NICEGUI_USER_SIMULATION'))
    args = parse_args([] if simulated else sys.argv[1:] if argv is None else argv)
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
           show=config.open_browser, fastapi_docs=True, show_welcome_message=True, favicon='🎬')


if __name__ in {'__main__', '__mp_main__'}:
    cli()
