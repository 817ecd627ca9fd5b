"""Scope's DMX (Art-Net) endpoints: disabled here (no Art-Net listener), the mapping configuration kept."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.dmx import NOT_AVAILABLE, DmxConfig, DmxMapping, DmxStatus
from services.errors import Unavailable

from .context import Context

router = APIRouter(prefix='/api/v1/dmx', tags=['dmx'])
Port = Field(default=None, ge=1024, le=65535)


class DmxSettings(BaseModel):
    """Runtime settings; enabling is refused (503)."""

    enabled: bool | None = None
    log_all_messages: bool | None = None
    preferred_port: int | None = Port


class DmxRestart(BaseModel):
    """A restart on another port."""

    preferred_port: int | None = Port


class DmxConfigChange(BaseModel):
    """Some or all of the configuration."""

    enabled: bool | None = None
    preferred_port: int | None = Port
    log_all_messages: bool | None = None
    mappings: list[DmxMapping] | None = Field(default=None, max_length=4096)


@router.get('/status')
def dmx_status(context: Context) -> DmxStatus:
    """Not enabled, not listening."""
    return context.dmx.status()


@router.put('/settings')
def dmx_settings(body: DmxSettings, context: Context) -> DmxStatus:
    """Store the logging and port preferences; 503 for `enabled: true`."""
    context.dmx.save(enabled=body.enabled, preferred_port=body.preferred_port, log_all_messages=body.log_all_messages)
    return context.dmx.status()


@router.post('/restart')
def dmx_restart(body: DmxRestart) -> DmxStatus:
    """There is no listener to restart (503)."""
    raise Unavailable(NOT_AVAILABLE)


@router.get('/paths')
def dmx_paths(context: Context) -> dict[str, Any]:
    """The numeric controls a DMX channel could drive, `active` (loaded pipelines) and `available`."""
    return context.dmx.paths()


@router.get('/config')
def dmx_config(context: Context) -> DmxConfig:
    """The stored configuration."""
    return context.dmx.config()


@router.put('/config')
def save_dmx_config(body: DmxConfigChange, context: Context) -> DmxConfig:
    """Store the configuration (mappings, port, logging); 503 for `enabled: true`."""
    return context.dmx.save(**body.model_dump(exclude={'mappings'}), mappings=body.mappings)


@router.get('/stream')
def dmx_stream() -> None:
    """There is no DMX input to stream (503)."""
    raise Unavailable(NOT_AVAILABLE)
