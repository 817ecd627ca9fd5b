"""Health and hardware info."""
from __future__ import annotations

import datetime
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends

import config

from .context import ServerContext, get_context

router = APIRouter(tags=['health'])


@router.get('/health')
def health(context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """Whether the server is up, since when, and which version it runs."""
    return {'status': 'healthy', 'timestamp': datetime.datetime.now().isoformat(),
            'server_start_time': context.started_at, 'version': config.VERSION, 'git_commit': git_commit()}


@cache
def git_commit() -> str:
    """The short commit hash of the running code."""
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=2, check=True).stdout.strip() or 'unknown'
    except (OSError, subprocess.SubprocessError):
        return 'unknown (not a git checkout)'
