"""Helpers for control tests: a clock the test moves, and a session on the grey `still` pipeline."""
from __future__ import annotations

from pathlib import Path

from pipeline.protocol import LoadContext, LoadParams
from pipeline.session import Session

from .still_pipeline import StillPipeline


class DrivenClock:
    """Monotonic time that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def still_session(**initial: object) -> Session:
    """A session on the still pipeline (call inside a running event loop); nothing renders until it is started."""
    context = LoadContext(Path('/nonexistent'), Path('/nonexistent'), Path('/nonexistent'))
    return Session(StillPipeline(LoadParams(), context), pipeline_id='still', initial=dict(initial))
