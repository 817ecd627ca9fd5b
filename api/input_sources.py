"""Scope's input-source endpoints: the server-side video sources this server has (none: video comes over WebRTC)."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.input_sources import InputSourceType, input_sources, require_source

router = APIRouter(prefix='/api/v1/input-sources', tags=['webrtc'])


class InputSourceList(BaseModel):
    """The source kinds, each with whether it is available."""

    input_sources: list[InputSourceType]


@router.get('')
def list_input_sources() -> InputSourceList:
    """NDI, Spout, Syphon and server-side files: none available here."""
    return InputSourceList(input_sources=input_sources())


@router.get('/{source_type}/sources')
def discover(source_type: str) -> None:
    """400 for a known kind (not available here), 404 for an unknown one."""
    require_source(source_type)


@router.get('/{source_type}/sources/{identifier:path}/resolution')
def resolution(source_type: str, identifier: str) -> None:
    """400 for a known kind (not available here), 404 for an unknown one."""
    require_source(source_type)


@router.get('/{source_type}/sources/{identifier:path}/stream')
def preview(source_type: str, identifier: str) -> None:
    """400 for a known kind (not available here), 404 for an unknown one."""
    require_source(source_type)
