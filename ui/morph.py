"""Morphs in time: transition steps as seconds at the session's chunk rate, and the progress of a running morph."""
from __future__ import annotations

from nicegui import ui

from pipeline.session import Session

from .sync import SessionSync
from .theme import readout

MORPH_SECONDS = 2.0  # what a default morph lasts: long enough to read as a morph, not a cut


def default_steps(session: Session) -> int:
    """The steps that make a morph of `MORPH_SECONDS` at the rate the session renders."""
    return max(1, round(MORPH_SECONDS * session.worker.chunk_rate))


def seconds_of(steps: int, session: Session) -> float:
    """How long a morph of `steps` steps takes (one step a chunk)."""
    return steps / max(0.1, session.worker.chunk_rate)


def morph_progress(session: Session) -> tuple[int, int] | None:
    """(steps done, steps in all) of the session's running morph, if one runs."""
    conditioner = session.worker.conditioner
    return conditioner.progress if conditioner else None


def describe(session: Session) -> str:
    """'12/60 · 1.6 s left' for a running morph, 'idle' otherwise."""
    progress = morph_progress(session)
    if progress is None:
        return 'idle'
    step, num_steps = progress
    return f'{step}/{num_steps} · {seconds_of(num_steps - step, session):.1f} s left'


class MorphProgress(ui.row):
    """A bar and a readout that follow the session's running morph, wherever a morph can start."""

    def __init__(self, sync: SessionSync, name: str) -> None:
        """`name`: the markers of the bar and the readout are `<name>-progress` and `<name>-status`."""
        super().__init__()
        self.sync = sync
        self.classes('w-full items-center no-wrap gap-2')
        with self:
            self.bar = ui.linear_progress(value=0, show_value=False, size='6px') \
                .props('rounded instant-feedback color=secondary track-color=grey-9').classes('grow') \
                .mark(f'{name}-progress')
            self.status = readout('idle').classes('text-right whitespace-nowrap').mark(f'{name}-status')
        sync.every(1, self.show, self)

    def show(self) -> None:
        progress = morph_progress(self.sync.session)
        self.bar.set_value(progress[0] / max(1, progress[1]) if progress else 0)
        self.status.set_text(describe(self.sync.session))


class StageMorph(ui.element):
    """A thin bar over the bottom of the video while a morph runs, whichever tab (or shortcut) started it."""

    def __init__(self, sync: SessionSync) -> None:
        super().__init__('div')
        self.sync = sync
        self.running = False
        self.classes('ds-stage-morph').mark('stage-morph')
        with self:
            self.label = ui.label('').classes('ds-stage-morph-label').mark('stage-morph-label')
            with ui.element('div').classes('ds-stage-morph-track'):
                self.fill = ui.element('div').classes('ds-stage-morph-fill')
        self.set_visibility(False)
        sync.every(1, self.show, self)

    def show(self) -> None:
        progress = morph_progress(self.sync.session)
        if progress is None:
            if self.running:
                self.running = False
                self.set_visibility(False)
            return
        if not self.running:
            self.running = True
            self.set_visibility(True)
        step, num_steps = progress
        self.label.set_text(f'morph {describe(self.sync.session)}')
        self.fill.style(f'width: {100 * step / max(1, num_steps):.1f}%')
