"""Prompt conditioning per chunk: encoding with a cache, weighted blends and transitions (lerp or slerp)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .prompts import PromptChange, WeightedPrompts


@dataclass(slots=True)
class TransitionPlan:
    """A running transition: from the conditioning shown when it started to the target, one step per chunk."""

    source: Any
    target: Any
    num_steps: int
    method: str
    step: int = 0

    def advance(self) -> Any:
        """The conditioning of the next chunk."""
        self.step += 1
        t = min(1.0, self.step / self.num_steps)
        return interpolate(self.source, self.target, t, self.method)

    @property
    def done(self) -> bool:
        return self.step >= self.num_steps


class PromptConditioner:
    """The conditioning a stream shows, moved by prompt changes."""

    def __init__(self, encode: Callable[[str], Any]) -> None:
        self.encode = encode
        self.cache: dict[str, Any] = {}
        self.current: Any = None
        self.plan: TransitionPlan | None = None
        self.transitions_started = 0
        self.transitions_completed = 0

    def apply(self, change: PromptChange | None, spatial_method: str = 'linear') -> None:
        """Start moving to a new blend (a new change replaces a running transition, from where it stands)."""
        if change is None:
            return
        target = self.blend(change.prompts, spatial_method)
        if target is None:
            return
        if self.current is None or change.num_steps <= 0 or distance(self.current, target) < 1e-2:
            self.current, self.plan = target, None
        else:
            self.plan = TransitionPlan(self.current, target, change.num_steps, change.method)
            self.transitions_started += 1

    def next(self) -> Any:
        """The conditioning for the next chunk, advancing a running transition by one step."""
        if self.plan is not None:
            self.current = self.plan.advance()
            if self.plan.done:
                self.plan = None
                self.transitions_completed += 1
        return self.current

    @property
    def progress(self) -> tuple[int, int] | None:
        """(steps done, steps in all) of the running transition (read from other threads: the plan is read once)."""
        plan = self.plan
        return (plan.step, plan.num_steps) if plan else None

    def blend(self, prompts: WeightedPrompts, method: str) -> Any:
        """The weighted blend of prompt embeddings: slerp for exactly two prompts when asked, else linear."""
        embeddings = [self._embedding(text) for text, _ in prompts]
        weights = [weight for _, weight in prompts]
        if not embeddings or embeddings[0] is None:
            return None
        if len(embeddings) == 1:
            return embeddings[0]
        if method == 'slerp' and len(embeddings) == 2:
            return interpolate(embeddings[0], embeddings[1], weights[1], 'slerp')
        mixed = sum(w * e for w, e in zip(weights, embeddings, strict=True))
        target_norm = sum(w * norm(e) for w, e in zip(weights, embeddings, strict=True))
        mixed_norm = norm(mixed)
        return mixed * (target_norm / mixed_norm) if mixed_norm > 1e-8 else mixed

    def _embedding(self, text: str) -> Any:
        if text not in self.cache:
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[text] = self.encode(text)
        return self.cache[text]


def interpolate(a: Any, b: Any, t: float, method: str) -> Any:
    """Lerp or slerp between two embeddings (numpy arrays or torch tensors alike)."""
    if method != 'slerp':
        return a * (1 - t) + b * t
    na, nb = norm(a), norm(b)
    if na < 1e-8 or nb < 1e-8:
        return a * (1 - t) + b * t
    cos = max(-1.0, min(1.0, float((a * b).sum()) / (na * nb)))
    omega = math.acos(cos)
    if omega < 1e-3 or abs(math.sin(omega)) < 1e-6:
        return a * (1 - t) + b * t
    s = math.sin(omega)
    return a * (math.sin((1 - t) * omega) / s) + b * (math.sin(t * omega) / s)


def norm(x: Any) -> float:
    return float((x * x).sum()) ** 0.5


def distance(a: Any, b: Any) -> float:
    return norm(a - b)
