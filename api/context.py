"""What every router reaches: settings, pipelines, sessions and peers of this server process."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from config import Config
from pipeline.manager import PipelineManager
from pipeline.registry import PipelineRegistry
from pipeline.session import SessionRegistry

if TYPE_CHECKING:
    from rtc.peers import PeerRegistry


@dataclass(slots=True)
class ServerContext:
    """The state of one server process, shared by the routers and pages."""

    config: Config
    registry: PipelineRegistry
    manager: PipelineManager
    sessions: SessionRegistry
    peers: PeerRegistry
    started_at: float = field(default_factory=time.time)


def get_context(request: Request) -> ServerContext:
    """The server context (a FastAPI dependency)."""
    return request.app.state.context
