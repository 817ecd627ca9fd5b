"""Scope's cloud endpoints, answered truthfully: this server runs the pipelines itself, it connects to no cloud."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.errors import InvalidRequest

router = APIRouter(prefix='/api/v1/cloud', tags=['cloud'])
NO_CLOUD = ('This server runs the pipelines itself (it is the cloud for its clients): there is no Daydream Cloud '
            'to connect to. Use it directly, with "Run Locally".')


class CloudStatus(BaseModel):
    """Scope's cloud connection status: never connected here."""

    connected: bool = False
    connecting: bool = False
    webrtc_connected: bool = False
    error: str | None = None
    app_id: str | None = None
    connection_id: str | None = None
    credentials_configured: bool = False
    last_close_code: int | None = None
    last_close_reason: str | None = None
    connect_stage: str | None = None


@router.get('/status')
def cloud_status() -> CloudStatus:
    """Not connected, not connecting."""
    return CloudStatus()


@router.post('/connect')
def connect() -> CloudStatus:
    """Refused with a reason (400): there is no cloud behind this server."""
    raise InvalidRequest(NO_CLOUD)


@router.post('/disconnect')
def disconnect() -> CloudStatus:
    """Nothing to disconnect: the status, unchanged."""
    return CloudStatus()
