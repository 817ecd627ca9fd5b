"""What the API and the studio show about a session: who is connected, its figures, who changed what."""
from __future__ import annotations

import time
from typing import Any

from pipeline.session import Session
from rtc.peers import PeerRegistry


def summary(session: Session, peers: PeerRegistry) -> dict[str, Any]:
    """What a session list shows about one session."""
    connected = peers.of_session(session.id)
    return {'id': session.id, 'name': session.name, 'kind': session.kind, 'pipeline_id': session.pipeline_id,
            'shared': session.shared, 'rendering': session.rendering.is_set(),
            'peers': [{'id': p.id, 'role': p.role, 'label': p.label} for p in connected],
            'viewers': sum(p.role == 'view' for p in connected),
            'controllers': sum(p.role == 'control' for p in connected)}


def detail(session: Session, peers: PeerRegistry) -> dict[str, Any]:
    """One session: its summary, parameters and the recent log of who changed what."""
    log = [{'time': change.time, 'who': change.source, 'keys': change.keys} for change in session.change_log]
    return {**summary(session, peers), 'parameters': session.state.snapshot(), 'log': log}


def metrics(session: Session) -> dict[str, Any]:
    """One session's figures."""
    worker = session.worker
    elapsed = max(1e-6, time.monotonic() - session.created)
    conditioner = worker.conditioner
    progress = conditioner.progress if conditioner else None
    return {
        'pipeline_id': session.pipeline_id,
        'input_mode': session.input_mode,
        'rendering': session.rendering.is_set(),
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


def who_is_connected(peers: PeerRegistry, session_id: str) -> str:
    """'2 controlling · 1 watching' for the studio's header."""
    connected = peers.of_session(session_id)
    controlling = sum(peer.role == 'control' for peer in connected)
    return f'{controlling} controlling · {len(connected) - controlling} watching'
