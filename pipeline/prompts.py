"""Prompt intents: which prompt messages change the picture, and which are stale re-sends to ignore."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WeightedPrompts = tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class PromptChange:
    """A new prompt blend to move to, at once (`num_steps` 0) or over `num_steps` pipeline calls."""

    prompts: WeightedPrompts
    num_steps: int = 0
    method: str = 'linear'


def normalize(prompts: list[dict[str, Any]] | list[Any]) -> WeightedPrompts:
    """Prompts as (text, weight) pairs with weights summing to 1, so equal blends compare equal."""
    pairs = [(_text(p).strip(), max(0.0, float(_weight(p)))) for p in prompts]
    pairs = [(text, weight) for text, weight in pairs if text]
    total = sum(weight for _, weight in pairs)
    if not pairs:
        return ()
    if total <= 0:
        return tuple((text, round(1 / len(pairs), 6)) for text, _ in pairs)
    return tuple((text, round(weight / total, 6)) for text, weight in pairs)


class PromptTracker:
    """Turns `prompts` and `transition` messages into prompt changes, as Scope clients expect.

    A `prompts` value equal to the previous one is a re-send and changes nothing, so a client that repeats its
    source prompts at 30 Hz while a transition runs never restarts, cancels or snaps it; a `prompts` value equal
    to where the picture is already heading (the target of the last transition) changes nothing either.
    """

    def __init__(self) -> None:
        self.last_incoming: WeightedPrompts | None = None
        self.active_target: WeightedPrompts | None = None

    def receive(self, prompts: list[Any] | None, transition: dict[str, Any] | None) -> PromptChange | None:
        """The change a message asks for, or None when it asks for none."""
        if prompts is not None:
            incoming = normalize(prompts)
            repeated = incoming == self.last_incoming
            self.last_incoming = incoming
        else:
            incoming, repeated = None, True
        if transition is not None:
            target = normalize(transition.get('target_prompts') or [])
            if not target or target == self.active_target:
                return None
            self.active_target = target
            steps = int(transition.get('num_steps') or 0)
            return PromptChange(target, steps, str(transition.get('temporal_interpolation_method') or 'linear'))
        if incoming is None or repeated or not incoming or incoming == self.active_target:
            return None
        self.active_target = incoming
        return PromptChange(incoming)


def _text(prompt: Any) -> str:
    return str(prompt.get('text', '') if isinstance(prompt, dict) else getattr(prompt, 'text', prompt))


def _weight(prompt: Any) -> float:
    return float(prompt.get('weight', 1.0) if isinstance(prompt, dict) else getattr(prompt, 'weight', 1.0))
