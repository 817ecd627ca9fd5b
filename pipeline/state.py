"""The parameter state of a session: every control source merges into it, the worker takes it once per chunk."""
from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .parameters import ONE_SHOT_KEYS, PROMPT_KEYS
from .prompts import PromptChange, PromptTracker

MODULATORS = frozenset({'audio'})  # sources that add to the creator's prompts instead of setting them


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
    _changed: dict[str, str] = field(default_factory=dict)  # key -> the source that changed it last
    _authored: list[dict[str, Any]] | None = None  # the prompts as their author set them, before any modulator
    _tracker: PromptTracker = field(default_factory=PromptTracker)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wakeup: threading.Event = field(default_factory=threading.Event)
    _listeners: list[Callable[[], None]] = field(default_factory=list)

    def update(self, message: dict[str, Any], source: str = 'api') -> dict[str, Any]:
        """Merge one (validated) message; returns the keys it changed with their new values."""
        applied: dict[str, Any] = {}
        with self._lock:
            prompts = message.get('prompts')
            transition = message.get('transition')
            if prompts is not None or transition is not None:
                change = self._tracker.receive(prompts, transition)
                if change is not None:
                    self._prompt_change = change
                    before = self.values.get('prompts')
                    self.values['prompts'] = [{'text': t, 'weight': w} for t, w in change.prompts]
                    applied['prompts'] = self.values['prompts']
                    if source not in MODULATORS:
                        self._authored = self._authored_after(before, self.values['prompts'])
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
                self._changed.update(dict.fromkeys(applied, source))
                self._wakeup.set()
        if applied:
            self._notify()
        return applied

    def _authored_after(self, before: Any, after: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The author's prompts after a change: a change of weights alone keeps the author's texts (a matrix route
        moving the weights of the prompts the audio engine added words to)."""
        authored = self._authored
        if authored and isinstance(before, list) and len(before) == len(after) == len(authored) \
                and [p['text'] for p in before] == [p['text'] for p in after]:
            return [{'text': mine['text'], 'weight': new['weight']} for mine, new in zip(authored, after, strict=True)]
        return after

    def take(self) -> ChunkParams:
        """The parameters for the next chunk; one-shot values and the prompt change are consumed."""
        with self._lock:
            taken = ChunkParams(dict(self.values), self._one_shots, self._prompt_change, self.version)
            self._one_shots, self._prompt_change = {}, None
            self._wakeup.clear()
            return taken

    def revert(self, failed: dict[str, Any], good: dict[str, Any]) -> list[str]:
        """Put back the good value of every key that a failed chunk had changed (and nobody changed since)."""
        reverted: list[str] = []
        with self._lock:
            for key in set(failed) | set(good):
                if key in PROMPT_KEYS or failed.get(key, _MISSING) == good.get(key, _MISSING):
                    continue
                if self.values.get(key, _MISSING) != failed.get(key, _MISSING):
                    continue  # changed again meanwhile: the newer value gets its own chance
                if key in good:
                    self.values[key] = good[key]
                else:
                    self.values.pop(key, None)
                reverted.append(key)
            if reverted:
                self.version += 1
                self._changed.update(dict.fromkeys(reverted, 'pipeline'))
        if reverted:
            self._notify()
        return sorted(reverted)

    def pop_changes(self) -> dict[str, tuple[Any, str]]:
        """The keys changed since the last call, each with its current value and the source that changed it last
        (for `parameters_updated`, which tells every client the changes that did not come from itself)."""
        with self._lock:
            changes = {key: (self.values.get(key), source) for key, source in self._changed.items()}
            self._changed.clear()
            return changes

    def changed_event(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        """An event of `loop` that is set whenever parameters change (from any thread)."""
        event = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(event.set)

        self._listeners.append(wake)
        return event

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from the updating thread) after every change; keep it short."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.values)

    def authored_prompts(self) -> list[dict[str, Any]]:
        """The prompts as a person or client last set them, without what a modulator (the audio engine) added.

        The session renders `values['prompts']`; the studio shows these in the prompt box, and the audio engine adds
        its words to them, so applying a prompt never bakes the engine's words in."""
        with self._lock:
            prompts = self._authored if self._authored is not None else self.values.get('prompts')
            return [dict(prompt) for prompt in prompts or []]

    @property
    def paused(self) -> bool:
        return bool(self.values.get('paused'))

    def wait_for_change(self, timeout: float) -> bool:
        """Block until an update arrives (used by a paused worker)."""
        return self._wakeup.wait(timeout)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


_MISSING = object()
