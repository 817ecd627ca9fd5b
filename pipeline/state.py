"""The parameter state of a session: every control source merges into it, the worker takes it once per chunk."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .parameters import ONE_SHOT_KEYS, PROMPT_KEYS
from .prompts import PromptChange, PromptTracker


@dataclass(slots=True)
class ChunkParams:
    """What the worker takes for one chunk: sticky values, one-shot values and a pending prompt change."""

    values: dict[str, Any]
    one_shots: dict[str, Any]
    prompt_change: PromptChange | None
    version: int


@dataclass(slots=True)
class ParameterState:
    """Merged parameters. Updates between two chunks coalesce; a pending prompt change is never lost."""

    values: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    _one_shots: dict[str, Any] = field(default_factory=dict)
    _prompt_change: PromptChange | None = None
    _changed: set[str] = field(default_factory=set)
    _tracker: PromptTracker = field(default_factory=PromptTracker)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wakeup: threading.Event = field(default_factory=threading.Event)

    def update(self, message: dict[str, Any]) -> dict[str, Any]:
        """Merge one message (Scope's `parameters` schema); returns the keys it changed with their new values."""
        applied: dict[str, Any] = {}
        with self._lock:
            prompts = message.get('prompts')
            transition = message.get('transition')
            if prompts is not None or transition is not None:
                change = self._tracker.receive(prompts, transition)
                if change is not None:
                    self._prompt_change = change
                    self.values['prompts'] = [{'text': t, 'weight': w} for t, w in change.prompts]
                    applied['prompts'] = self.values['prompts']
                    if change.num_steps:
                        applied['transition'] = dict(transition or {})
            for key, value in message.items():
                if key in PROMPT_KEYS:
                    continue
                if key in ONE_SHOT_KEYS:
                    self._one_shots[key] = value
                    if key == 'lora_scales':
                        self.values[key] = value
                    applied[key] = value
                elif self.values.get(key, _MISSING) != value:
                    self.values[key] = value
                    applied[key] = value
            if applied:
                self.version += 1
                self._changed.update(applied)
                self._wakeup.set()
        return applied

    def take(self) -> ChunkParams:
        """The parameters for the next chunk; one-shot values and the prompt change are consumed."""
        with self._lock:
            taken = ChunkParams(dict(self.values), self._one_shots, self._prompt_change, self.version)
            self._one_shots, self._prompt_change = {}, None
            self._wakeup.clear()
            return taken

    def pop_changed(self) -> dict[str, Any]:
        """The keys changed since the last call, with their current values (for `parameters_updated`)."""
        with self._lock:
            changed = {key: self.values.get(key) for key in self._changed if key != 'reset_cache'}
            self._changed.clear()
            return changed

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.values)

    @property
    def paused(self) -> bool:
        return bool(self.values.get('paused'))

    def wait_for_change(self, timeout: float) -> bool:
        """Block until an update arrives (used by a paused worker)."""
        return self._wakeup.wait(timeout)


_MISSING = object()
