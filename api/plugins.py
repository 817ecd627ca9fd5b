"""Scope's plugin listing (Dreamstage has no plugin system: always empty)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix='/api/v1', tags=['plugins'])


class PluginList(BaseModel):
    """Installed plugins and the ones that failed to load."""

    plugins: list[dict[str, Any]]
    total: int
    failed_plugins: list[dict[str, Any]]


@router.get('/plugins')
def list_plugins() -> PluginList:
    """The installed plugins: none."""
    return PluginList(plugins=[], total=0, failed_plugins=[])
