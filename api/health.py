"""Health and hardware info."""
from __future__ import annotations

import datetime
import logging
import os
import platform
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

import config

from .context import Context

router = APIRouter(tags=['health'])
log = logging.getLogger(__name__)


class Availability(BaseModel):
    """Whether an output (Spout, NDI, Syphon) can be used here, and why not."""

    available: bool
    reason: str | None = None
    install_hint: str | None = None


class HardwareInfo(BaseModel):
    """What this machine offers: GPU memory (null without CUDA, which Scope's onboarding reads as "no GPU"), system
    memory, video sharing outputs, CPUs."""

    vram_gb: float | None
    gpu_name: str | None
    system_memory_gb: float | None
    spout: Availability
    ndi: Availability
    syphon: Availability
    cpu_count: int | None
    platform: str


@router.get('/health')
def health(context: Context) -> dict[str, Any]:
    """Whether the server is up, since when, and which version it runs."""
    return {'status': 'healthy', 'timestamp': datetime.datetime.now().isoformat(),
            'server_start_time': context.started_at, 'version': config.VERSION, 'git_commit': git_commit()}


@router.get('/api/v1/hardware/info')
def hardware_info() -> HardwareInfo:
    """GPU memory (null without CUDA), system memory, and which video sharing outputs this machine offers (none yet)."""
    not_yet = 'Dreamstage does not support {} output yet'
    gpu = cuda_device()
    return HardwareInfo(
        vram_gb=gpu[1] if gpu else None,
        gpu_name=gpu[0] if gpu else None,
        system_memory_gb=system_memory_gb(),
        spout=Availability(available=False, reason=not_yet.format('Spout') if sys.platform == 'win32'
                           else 'Spout is only available on Windows'),
        ndi=Availability(available=False, reason=not_yet.format('NDI')),
        syphon=Availability(available=False, reason=not_yet.format('Syphon') if sys.platform == 'darwin'
                            else 'Syphon is only available on macOS'),
        cpu_count=os.cpu_count(),
        platform=platform.platform(),
    )


@cache
def cuda_device() -> tuple[str, float] | None:
    """The name and total memory (GiB) of CUDA device 0, or None without torch or CUDA (torch is imported here)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        properties = torch.cuda.get_device_properties(0)
        return properties.name, round(properties.total_memory / 1024 ** 3, 2)
    except Exception:
        log.debug('no CUDA device info', exc_info=True)
        return None


def system_memory_gb() -> float | None:
    """The machine's memory in GiB (what CPU pipelines run in), or None where the system does not say."""
    try:
        return round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024 ** 3, 2)
    except (AttributeError, ValueError, OSError):
        return None


@cache
def git_commit() -> str:
    """The short commit hash of the running code."""
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=2, check=True).stdout.strip() or 'unknown'
    except (OSError, subprocess.SubprocessError):
        return 'unknown (not a git checkout)'
