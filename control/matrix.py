"""The modulation matrix: every route evaluated once a tick, totals per target summed and clamped, live meters."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from audio.mapping import MappingState

from .routes import Route, Target

RouteStatus = Literal['ok', 'disabled', 'waiting', 'missing target']
TRIGGER_HIGH, TRIGGER_LOW = 0.5, 0.4  # a trigger fires when its output rises past half its range, re-arms below 40%


@dataclass(slots=True)
class Meter:
    """What one route did in the last tick: its source value, its output and whether it could run."""

    status: RouteStatus
    source: float | None = None
    output: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {'status': self.status, 'source': _round(self.source), 'output': _round(self.output)}


@dataclass(slots=True)
class Evaluation:
    """One tick of the matrix: clamped totals per continuous target, triggers that fired, a meter per route."""

    totals: dict[str, float] = field(default_factory=dict)
    fired: list[Route] = field(default_factory=list)
    meters: dict[str, Meter] = field(default_factory=dict)


class RouteState(MappingState[Route]):
    """A route's gate and smoothed output (the audio mapping's machinery), plus a trigger's armed state."""

    __slots__ = ('high',)

    def __init__(self, route: Route) -> None:
        super().__init__(route)
        self.high = False

    def crossed(self, value: float) -> bool:
        """Whether a trigger's output rose past its firing point now."""
        route = self.mapping
        span = route.out_max - route.out_min
        position = (value - route.out_min) / span if span else 0.0
        if not self.high and position >= TRIGGER_HIGH:
            self.high = True
            return True
        if self.high and position < TRIGGER_LOW:
            self.high = False
        return False


class Matrix:
    """Routes and their running state; `evaluate` is the whole per-tick work (no I/O, no locks)."""

    def __init__(self, routes: list[Route] | None = None) -> None:
        self.routes: list[Route] = []
        self.states: dict[str, RouteState] = {}
        self.set_routes(routes or [])

    def set_routes(self, routes: list[Route]) -> None:
        """Replace the routes; a route that did not change keeps its smoothed value and gate."""
        states = {}
        for route in routes:
            state = self.states.get(route.id)
            states[route.id] = state if state is not None and state.mapping == route else RouteState(route)
        self.routes, self.states = list(routes), states

    def evaluate(self, values: Mapping[str, float], dt: float, targets: Mapping[str, Target]) -> Evaluation:
        """Run every route for one tick of `dt` seconds on the current source values."""
        result = Evaluation()
        sums: dict[str, float] = {}
        for route in self.routes:
            if not route.enabled:
                result.meters[route.id] = Meter('disabled')
                continue
            target = targets.get(route.target)
            if target is None:
                result.meters[route.id] = Meter('missing target')
                continue
            value = values.get(route.source)
            if value is None:
                result.meters[route.id] = Meter('waiting')
                continue
            state = self.states[route.id]
            output = state.step(value, dt)
            result.meters[route.id] = Meter('ok', value, output)
            if target.kind == 'trigger':
                if state.crossed(output):
                    result.fired.append(route)
            else:
                sums[target.key] = sums.get(target.key, 0.0) + output
        for key, total in sums.items():
            target = targets[key]
            result.totals[key] = min(target.high, max(target.low, total))
        return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
