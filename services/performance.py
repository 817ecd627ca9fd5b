"""What a session just performed, as a batch request: its prompt changes and transitions, at their chunks."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.session import Change, Session

from .batch_request import MAX_FRAMES


@dataclass(slots=True)
class Performance:
    """The prompts a performance started from, its prompt changes as chunk specs, and its length."""

    prompts: list[dict[str, Any]]
    chunk_specs: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0
    num_frames: int = 0


def performed(changes: Iterable[Change], now: int, chunk_size: int, max_frames: int = MAX_FRAMES) -> Performance | None:
    """The prompt changes and transitions of `changes`, from the first one up to chunk `now` (the most recent
    `max_frames` frames of it), with chunk indices counted from its start; None when there is none."""
    prompt_changes = [change for change in changes if 'prompts' in change.values and change.chunk <= now]
    if not prompt_changes:
        return None
    chunk_size = max(1, chunk_size)
    start = max(prompt_changes[0].chunk, now - max_frames // chunk_size)
    before = [change for change in prompt_changes if change.chunk <= start]
    prompts = before[-1].values['prompts'] if before else prompt_changes[0].values['prompts']
    specs: dict[int, dict[str, Any]] = {}
    for change in prompt_changes:
        if change.chunk <= start:
            continue
        chunk = change.chunk - start
        transition = change.values.get('transition')
        if transition:
            specs[chunk] = {'chunk': chunk, 'transition_target_prompts': change.values['prompts'],
                            'transition_num_steps': int(transition.get('num_steps', 0)),
                            'transition_method': transition.get('temporal_interpolation_method') or 'linear'}
        else:
            specs[chunk] = {'chunk': chunk, 'prompts': change.values['prompts']}
    chunks = max(1, now - start)
    return Performance(prompts=list(prompts), chunk_specs=[specs[c] for c in sorted(specs) if c < chunks],
                       chunks=chunks, num_frames=min(max_frames, chunks * chunk_size))


def session_performance(session: Session) -> Performance | None:
    """What `session` performed lately (its change log up to the chunk it makes now)."""
    return performed(list(session.change_log), session.chunk_index, session.pipeline.info.chunk_size)
