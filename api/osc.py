"""OSC over REST, in Scope's shapes: status, settings, on/off, the path inventory, the HTML reference, a live SSE
stream of received messages; plus where OSC out sends the analysis."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from .context import Context

router = APIRouter(prefix='/api/v1/osc', tags=['osc'])
KEEPALIVE = 15.0


class OscSettings(BaseModel):
    """Runtime settings of the OSC server."""

    log_all_messages: bool


class OscConfig(BaseModel):
    """Listen for OSC or not."""

    enabled: bool


class InventoryEntry(BaseModel):
    """One extra address (Scope's graph inventory): `/scope/<key>`, mapped onto `param` when given."""

    osc_address: str = Field(max_length=300)
    type: str = Field(max_length=40)
    description: str | None = Field(default=None, max_length=1000)
    min: float | None = None
    max: float | None = None
    enum: list[Any] | None = None
    default: Any | None = None
    node_id: str | None = None
    param: str | None = None
    pipeline_id: str | None = None
    group: str | None = None


class Inventory(BaseModel):
    paths: list[InventoryEntry] = Field(max_length=1000)


class OscOut(BaseModel):
    """Where features and beats are sent ('host:port'; null stops sending)."""

    target: str | None = Field(default=None, max_length=300)


@router.get('/status')
def osc_status(context: Context) -> dict[str, Any]:
    """Listening or not, on which port; how many messages arrived, applied and dropped (by reason)."""
    osc = context.control.osc
    out = osc.out.to_dict() if osc.out is not None else None
    return {**osc.server.status(), 'out': out}


@router.put('/settings')
def osc_settings(settings: OscSettings, context: Context) -> dict[str, Any]:
    """Log every valid message (or not)."""
    context.control.osc.server.log_all_messages = settings.log_all_messages
    return context.control.osc.server.status()


@router.post('/config')
async def osc_config(config: OscConfig, context: Context) -> dict[str, Any]:
    """Start or stop the OSC server."""
    await context.control.osc.set_enabled(config.enabled)
    return context.control.osc.server.status()


@router.get('/paths')
def osc_paths(context: Context) -> dict[str, Any]:
    """Every address: `active` (globals, the loaded pipeline's controls, the graph inventory), `available`
    (other pipelines), and Dreamstage's per-session addresses."""
    return context.control.osc.paths()


@router.post('/inventory')
def osc_inventory(inventory: Inventory, context: Context) -> dict[str, int]:
    """Replace the extra addresses (an empty list clears them)."""
    count = context.control.osc.set_inventory([entry.model_dump(exclude_none=True) for entry in inventory.paths])
    return {'count': count}


@router.get('/inventory')
def osc_inventory_list(context: Context) -> dict[str, Any]:
    return {'paths': context.control.osc.server.graph_inventory or []}


@router.get('/docs', response_class=HTMLResponse)
def osc_docs(context: Context) -> HTMLResponse:
    """An HTML reference: every address with a copy-paste python-osc snippet."""
    return HTMLResponse(context.control.osc.docs())


@router.get('/stream')
async def osc_stream(context: Context) -> StreamingResponse:
    """Server-sent events: every accepted OSC message as `{"type": "osc_command", "key", "value"}`."""
    server = context.control.osc.server
    queue = server.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            yield ': connected\n\n'
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE):  # not wait_for: on 3.11 it can drop the disconnect's cancel
                        event = await queue.get()
                except TimeoutError:
                    yield ': keepalive\n\n'
                    continue
                yield f'data: {json.dumps(event)}\n\n'
        finally:
            server.unsubscribe(queue)

    return StreamingResponse(events(), media_type='text/event-stream',
                             headers={'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})


@router.get('/out')
def osc_out(context: Context) -> dict[str, Any]:
    out = context.control.osc.out
    return {'target': f'{out.host}:{out.port}' if out else None, **(out.to_dict() if out else {})}


@router.put('/out')
def set_osc_out(body: OscOut, context: Context) -> dict[str, Any]:
    """Send audio features, beats and tempo to `host:port` as `/dreamstage/<session>/...` (null: stop)."""
    context.control.osc.set_out(body.target)
    return osc_out(context)
