"""A page's link to its session: controls send through `Session.update`, state changes flow back by polling."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from pipeline.protocol import PipelineInfo
from pipeline.session import Session
from pipeline.validation import InvalidParameters

Apply = Callable[[Any], Any]
POLL_INTERVAL = 0.1
_UNSEEN = object()


@dataclass(slots=True)
class Watch:
    """A control that shows one parameter: `apply` puts a new value into it while its `owner` lives.

    `read` takes the value from the session (default: the parameter `key` of its state)."""

    key: str
    apply: Apply
    owner: ui.element
    read: Callable[[dict[str, Any]], Any]
    seen: Any = _UNSEEN


@dataclass(slots=True)
class Every:
    """Work done every n-th poll (progress bars, peer lists), while its `owner` lives."""

    ticks: int
    work: Callable[[], None]
    owner: ui.element
    count: int = field(default=0)


class SessionSync:
    """Keeps the controls of one page in step with a session's parameter state, both ways, without echo loops.

    Every control sends its change with `send` (the one path, `Session.update`, with this page as the source),
    and registers with `watch` to be told when the value changed anywhere else: another tab, a Scope client,
    the audio loop. Values put into controls by `watch` are never sent back.
    """

    def __init__(self, session: Session, source: str, can_control: bool) -> None:
        self.session = session
        self.source = source
        self.can_control = can_control
        self.watches: list[Watch] = []
        self.periodic: list[Every] = []
        self.pipeline_listeners: list[Callable[[], Any]] = []
        self.pipeline = session.pipeline
        self.applying = False

    @property
    def info(self) -> PipelineInfo:
        """The declaration of the pipeline the session runs now."""
        return self.session.pipeline.info

    def value(self, key: str, default: Any = None) -> Any:
        """The current value of a parameter."""
        value = self.session.state.snapshot().get(key)
        return default if value is None else value

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        """Apply a change made on this page (ignored while values are put into controls, or for viewers)."""
        if not self.can_control:
            if not self.applying:
                ui.notify('This is a view-only link: only controllers can change the session', type='warning')
            return {}
        if self.applying or self.session.closed:
            return {}
        for watch in self.watches:
            if watch.key in message:
                watch.seen = _UNSEEN  # the next poll shows the session's value, even if it changes right back
        try:
            return self.session.update(message, source=self.source)
        except InvalidParameters as error:
            ui.notify(f'Not applied: {error}', type='negative', multi_line=True)
            return {}

    def watch(self, key: str, apply: Apply, owner: ui.element,
              read: Callable[[dict[str, Any]], Any] | None = None) -> None:
        """Call `apply` with the parameter's value now and whenever it changes, for as long as `owner` exists
        (`read`: how to take the value from the state's snapshot, when it is not simply the parameter `key`)."""
        watch = Watch(key, apply, owner, read or (lambda snapshot: snapshot.get(key)))
        self.watches.append(watch)
        self._apply(watch, watch.read(self.session.state.snapshot()))

    def every(self, ticks: int, work: Callable[[], None], owner: ui.element) -> None:
        """Run `work` every `ticks` polls (and once now), for as long as `owner` exists."""
        self.periodic.append(Every(ticks, work, owner))
        work()

    def on_pipeline_change(self, callback: Callable[[], Any]) -> None:
        """Call `callback` when the session goes on with another pipeline."""
        self.pipeline_listeners.append(callback)

    def poll(self) -> None:
        """Bring every watching control up to date (called by the page's timer)."""
        if self.session.pipeline is not self.pipeline:
            self.pipeline = self.session.pipeline
            for callback in list(self.pipeline_listeners):
                callback()
        snapshot = self.session.state.snapshot()
        self.watches = [watch for watch in self.watches if not watch.owner.is_deleted]
        for watch in list(self.watches):
            self._apply(watch, watch.read(snapshot))
        self.periodic = [every for every in self.periodic if not every.owner.is_deleted]
        for every in list(self.periodic):
            every.count += 1
            if every.count >= every.ticks:
                every.count = 0
                every.work()

    def _apply(self, watch: Watch, value: Any) -> None:
        if watch.seen is not _UNSEEN and value == watch.seen:
            return
        watch.seen = value
        with self.quiet():
            watch.apply(value)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Put values into controls without sending them back."""
        applying, self.applying = self.applying, True
        try:
            yield
        finally:
            self.applying = applying
