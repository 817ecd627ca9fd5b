"""Transitions: morph to target prompts over a number of steps (shown in seconds), and the running morph's progress."""
from __future__ import annotations

from nicegui import ui

from .morph import MorphProgress, default_steps, seconds_of
from .prompt_list import PromptList
from .prompt_panel import BLEND_METHODS
from .sync import SessionSync
from .theme import hint, notify, readout, section


class TransitionPanel:
    """Target prompts, steps (with their duration) and method, a Transition action and a progress bar.

    A viewer sees only the progress of the morph a controller started."""

    def __init__(self, sync: SessionSync) -> None:
        self.sync = sync
        info = sync.info
        self.steps: ui.number | None = None
        with section('Transition', 'moving', hint='morph to new prompts' if sync.can_control else 'live'):
            if sync.can_control:
                self.targets = PromptList([], on_apply=self.start, placeholder='Where to morph to', name='target')
                with ui.row().classes('w-full items-center no-wrap gap-2'):
                    self.steps = ui.number('Steps', value=default_steps(sync.session), min=0, max=1000, step=1,
                                           precision=0, on_change=self.show_duration) \
                        .props('dense').classes('w-20').mark('transition-steps')
                    self.duration = readout('').classes('w-16 whitespace-nowrap').mark('transition-seconds') \
                        .tooltip('How long the morph takes at the rate the pipeline renders now (one step a chunk)')
                    self.method = ui.toggle(BLEND_METHODS, value=info.default_temporal_interpolation_method) \
                        .props('dense no-caps size=sm toggle-color=primary').classes('ds-toggle') \
                        .mark('transition-method')
                    ui.space()
                    ui.button(icon='content_copy', on_click=self.copy_current).props('flat round dense') \
                        .tooltip('Start from the current prompts').mark('copy-prompts')
                    ui.button('Transition', icon='moving', on_click=self.start).props('unelevated dense no-caps') \
                        .classes('px-3').mark('start-transition')
            else:
                hint('A morph a controller starts shows here while it runs.')
            self.progress = MorphProgress(sync, 'transition')
        if self.steps is not None:
            sync.every(10, self.show_duration, self.duration)

    @property
    def num_steps(self) -> int:
        """The steps a morph takes (the Presets tab's morph uses them too)."""
        return max(0, int(self.steps.value or 0)) if self.steps is not None else default_steps(self.sync.session)

    def start(self) -> None:
        """Send the transition to the target prompts."""
        targets = self.targets.value
        if not targets:
            notify('Write a target prompt first', 'warning')
            return
        self.sync.send({'transition': {'target_prompts': targets, 'num_steps': self.num_steps,
                                       'temporal_interpolation_method': self.method.value or 'linear'}})
        self.targets.mark_applied()

    def copy_current(self) -> None:
        """Fill the targets with the creator's prompts (without what the audio engine adds), as a starting point."""
        self.targets.dirty = False
        self.targets.set_value(self.sync.session.state.authored_prompts())

    def show_duration(self) -> None:
        """The morph's length in seconds at the rate the session renders now."""
        self.duration.set_text(f'≈ {seconds_of(self.num_steps, self.sync.session):.1f} s')
