"""Session metrics (Scope's `/api/v1/session/metrics` shape, plus transition progress and parameters)."""
from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends

from pipeline.session import Session
from rtc.stats import server_figures

from .context import ServerContext, get_context

router = APIRouter(prefix='/api/v1/session', tags=['sessions'])


@router.get('/metrics')
def session_metrics(context: ServerContext = Depends(get_context)) -> dict[str, Any]:
    """Frames, rates and the state of every running session."""
    return {'sessions': {session.id: metrics(session) for session in context.sessions.sessions.values()},
            'gpu': None, 'server': server_figures()}


def metrics(session: Session) -> dict[str, Any]:
    """One session's figures."""
    worker = session.worker
    elapsed = max(1e-6, time.monotonic() - session.created)
    conditioner = worker.conditioner
    progress = conditioner.progress if conditioner else None
    return {
        'pipeline_id': session.pipeline_id,
        'input_mode': session.input_mode,
        'frames_in': session.inputs.received,
        'frames_out': worker.frames,
        'elapsed_seconds': round(elapsed, 3),
        'fps_out': round(worker.frames / elapsed, 2),
        'generate_ms_per_chunk': round(1000 * worker.generate_seconds / max(1, worker.chunks), 3),
        'generate_cpu_seconds': round(worker.generate_cpu_seconds, 4),
        'paused': session.state.paused,
        'transition': {'step': progress[0], 'num_steps': progress[1]} if progress else None,
        'transitions_completed': conditioner.transitions_completed if conditioner else 0,
        'parameters_version': session.state.version,
        'parameters': session.state.snapshot(),
        'error': session.error,
    }
