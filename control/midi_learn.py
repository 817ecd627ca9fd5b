"""MIDI learn: arm a target, move a knob, and the knob drives the target (or move first, then click)."""
from __future__ import annotations

from dataclasses import dataclass

from .midi import SourceValue
from .routes import Route, Target

RECENT = 10.0  # seconds a moved control stays offered for "click a control to map it"


@dataclass(slots=True)
class Moved:
    """The control that moved last."""

    source: str
    label: str
    at: float


class MidiLearn:
    """The learn state of one session's matrix."""

    def __init__(self) -> None:
        self.armed: Target | None = None
        self.last: Moved | None = None
        self.learned = 0

    def arm(self, target: Target) -> None:
        self.armed = target

    def cancel(self) -> None:
        self.armed = None

    def moved(self, value: SourceValue, now: float) -> Route | None:
        """A learnable control moved: the route to make when a target is armed (the target's whole range)."""
        if not value.learnable:
            return None
        self.last = Moved(value.name, value.label, now)
        if self.armed is None:
            return None
        target, self.armed = self.armed, None
        self.learned += 1
        return route_for(value.name, target)

    def recent(self, now: float) -> Moved | None:
        """The control moved in the last few seconds, for "move a knob, then click a control"."""
        return self.last if self.last is not None and now - self.last.at <= RECENT else None


def route_for(source: str, target: Target) -> Route:
    """A route from a MIDI control over the target's whole range (a note or a trigger fires on press)."""
    return Route(id=f'learn-{source.replace(".", "-")}-{target.key.replace(".", "-")}'[:40], source=source,
                 target=target.key, out_min=target.low, out_max=target.high)
