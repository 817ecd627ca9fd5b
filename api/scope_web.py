"""Scope's own web app, built from its public source, served from this origin at `/scope` (DREAMSTAGE_SCOPE_UI)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)
PAGE = '/scope'
NO_CACHE = {'Cache-Control': 'no-cache, no-store, must-revalidate'}


def install(app: FastAPI, folder: Path) -> None:
    """Serve a built `frontend/dist` of Scope: its page at `/scope`, its files where the build expects them.

    Vite builds Scope's app for the site root: the page loads `/assets/index-….js`, and the app fetches `/api/...`,
    `/health`, `/icon-white.svg` and `/assets/onboarding/...` by absolute path, so the files keep their own paths.
    """
    index = folder / 'index.html'
    if not index.is_file():
        log.error("DREAMSTAGE_SCOPE_UI=%s holds no index.html (build Scope's frontend with `npm run build`)", folder)
        return

    def page() -> Response:
        return FileResponse(index, media_type='text/html', headers=NO_CACHE)

    app.add_api_route(PAGE, page, methods=['GET'], include_in_schema=False)
    app.add_api_route(PAGE + '/{path:path}', page, methods=['GET'], include_in_schema=False)
    if (folder / 'assets').is_dir():
        app.mount('/assets', StaticFiles(directory=folder / 'assets'), name='scope-assets')
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != 'index.html' and not path.name.startswith('.'):
            app.add_api_route(f'/{path.name}', _file_route(path), methods=['GET'], include_in_schema=False)
    log.info("Scope's web app (%s) is served at %s", folder, PAGE)


def _file_route(path: Path) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(path)

    return serve
