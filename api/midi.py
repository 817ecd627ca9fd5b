"""MIDI over REST: server-side ports (where the machine has a MIDI system), and raw bytes from any client."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from .context import Context

router = APIRouter(prefix='/api/v1/midi', tags=['midi'])


class Port(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    virtual: bool = Field(default=False, description='create a virtual input others can connect to (ALSA)')


class Bytes(BaseModel):
    """Raw MIDI bytes as a browser's Web MIDI delivers them (running status kept per port)."""

    data: list[int] = Field(max_length=4096)
    port: str = Field(default='api', max_length=80)


@router.get('/status')
def midi_status(context: Context) -> dict[str, Any]:
    """Whether server ports can be used here, the open ones, the ones that vanished, the last messages."""
    return context.control.midi.status()


@router.post('/ports')
def open_port(port: Port, context: Context) -> dict[str, Any]:
    context.control.midi.open(port.name, virtual=port.virtual)
    return context.control.midi.status()


@router.delete('/ports/{name}')
def close_port(name: str, context: Context) -> dict[str, Any]:
    context.control.midi.close(name)
    return context.control.midi.status()


@router.post('/messages')
def messages(body: Bytes, context: Context) -> dict[str, int]:
    """Feed MIDI bytes (CC, notes, program changes, clock) as if they came from a port."""
    return {'messages': context.control.midi.receive_bytes(body.data, body.port)}
