"""Transitions: morph to target prompts over a number of steps, and the progress of a running transition."""
from __future__ import annotations

from nicegui import ui

from .prompt_list import PromptList
from .prompt_panel import BLEND_METHODS
from .sync import SessionSync
from .theme import notify, readout, section


class TransitionPanel:
    """Target prompts, steps and method, a Transition action and a progress bar."""

    def __init__(self, sync: SessionSync) -> None:
        self.sync = sync
        info = sync.info
        with section('Transition', 'moving', hint='morph over pipeline steps'):
            self.targets = PromptList([], on_apply=self.start, placeholder='Where to morph to', name='target')
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.steps = ui.number('Steps', value=info.default_temporal_interpolation_steps, min=0, max=1000,
                                       step=1, precision=0).props('dense').classes('w-20').mark('transition-steps')
                self.method = ui.toggle(BLEND_METHODS, value=info.default_temporal_interpolation_method) \
                    .props('dense no-caps size=sm toggle-color=primary').classes('ds-toggle') \
                    .mark('transition-method')
                ui.space()
                ui.button(icon='content_copy', on_click=self.copy_current).props('flat round dense') \
                    .tooltip('Start from the current prompts').mark('copy-prompts')
                ui.button('Transition', icon='moving', on_click=self.start).props('unelevated dense no-caps') \
                    .classes('px-3').mark('start-transition')
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                self.progress = ui.linear_progress(value=0, show_value=False, size='6px') \
                    .props('rounded color=secondary track-color=grey-9').classes('grow').mark('transition-progress')
                self.status = readout('idle').classes('w-16 text-right').mark('transition-status')
        sync.every(1, self.show_progress, self.progress)

    def start(self) -> None:
        """Send the transition to the target prompts."""
        targets = self.targets.value
        if not targets:
            notify('Write a target prompt first', 'warning')
            return
        steps = int(self.steps.value or 0)
        self.sync.send({'transition': {'target_prompts': targets, 'num_steps': max(0, steps),
                                       'temporal_interpolation_method': self.method.value or 'linear'}})
        self.targets.mark_applied()

    def copy_current(self) -> None:
        """Fill the targets with the prompts the session shows now, as a starting point."""
        self.targets.dirty = False
        self.targets.set_value(self.sync.value('prompts', []))

    def show_progress(self) -> None:
        """The running transition's step, from the session's worker."""
        conditioner = self.sync.session.worker.conditioner
        progress = conditioner.progress if conditioner else None
        if progress is None:
            self.progress.set_value(0)
            self.status.set_text('idle')
            return
        step, num_steps = progress
        self.progress.set_value(step / max(1, num_steps))
        self.status.set_text(f'{step}/{num_steps}')
