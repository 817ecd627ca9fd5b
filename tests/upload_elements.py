"""The upload elements a page of a running server shows: NiceGUI's own upload route, found the way a browser does."""
from __future__ import annotations

import json
import re
import time

import httpx

from .server import RunningServer

ELEMENT = re.compile(r'"tag":"nicegui-upload".*?"props":(\{[^{}]*\})')


def upload_routes(server: RunningServer, page: str = '/', headers: dict[str, str] | None = None,
                  timeout: float = 60) -> dict[str, str]:
    """The upload elements' URLs of a freshly built page, by label (waits while the studio is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        html = httpx.get(server.url + page, headers=headers, timeout=30).text
        routes = {props['label']: props['url'] for props in map(json.loads, ELEMENT.findall(html))}
        if routes or time.monotonic() > deadline:
            return routes
        time.sleep(0.5)
