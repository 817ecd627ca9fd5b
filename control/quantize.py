"""Beat-quantized changes: a change waits for the next beat, bar, 2 or 4 bars, and fires early by the lead."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .tempo import QuantizeMode, Timeline, next_boundary, quantum


@dataclass(slots=True)
class Pending:
    """A change waiting for its boundary (a beat number)."""

    boundary: float
    message: dict[str, Any]
    mode: QuantizeMode
    sources: list[str] = field(default_factory=list)


class Quantizer:
    """Holds changes until their beat; changes for the same boundary merge (later values win, as in Scope)."""

    def __init__(self) -> None:
        self.pending: list[Pending] = []
        self.fired = 0

    def schedule(self, message: dict[str, Any], mode: QuantizeMode, line: Timeline | None, now: float, lead: float,
                 beats_per_bar: int, source: str = 'api') -> Pending | None:
        """Queue a change for its boundary; None when it should apply at once (no quantizing, or no tempo)."""
        if mode == 'none' or line is None:
            return None
        boundary = next_boundary(line, now, quantum(mode, beats_per_bar), lead)
        for pending in self.pending:
            if abs(pending.boundary - boundary) < 1e-6:
                _merge(pending.message, message)
                pending.sources.append(source)
                return pending
        pending = Pending(boundary, dict(message), mode, [source])
        self.pending.append(pending)
        self.pending.sort(key=lambda p: p.boundary)
        return pending

    def due(self, line: Timeline | None, now: float, lead: float) -> list[Pending]:
        """The changes whose boundary is reached (`lead` seconds early); all of them when the tempo went away."""
        if not self.pending:
            return []
        if line is None:
            ready, self.pending = self.pending, []
        else:
            beat = line.beat_at(now + lead)
            ready = [p for p in self.pending if p.boundary <= beat + 1e-9]
            self.pending = [p for p in self.pending if p.boundary > beat + 1e-9]
        self.fired += len(ready)
        return ready

    def next_due(self, line: Timeline | None, lead: float) -> float | None:
        """When the next change fires (monotonic time), for a loop that wakes exactly then."""
        if not self.pending or line is None:
            return None
        return line.time_of(self.pending[0].boundary) - lead

    def to_list(self, line: Timeline | None, now: float, lead: float) -> list[dict[str, Any]]:
        return [{'boundary': p.boundary, 'mode': p.mode, 'keys': sorted(p.message), 'sources': p.sources,
                 'in_ms': None if line is None else round(1000 * (line.time_of(p.boundary) - lead - now), 1)}
                for p in self.pending]


def _merge(into: dict[str, Any], message: dict[str, Any]) -> None:
    """Later values win; a later `prompts` replaces a pending transition's target and the other way round."""
    if 'prompts' in message:
        into.pop('transition', None)
    if 'transition' in message:
        into.pop('prompts', None)
    into.update(message)
