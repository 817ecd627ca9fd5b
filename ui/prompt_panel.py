"""The prompt panel: weighted prompts, the blend method and a negative prompt, applied on Enter or Apply."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from .prompt_layers import EngineAdditions
from .prompt_list import PromptList
from .sync import SessionSync
from .theme import hint, section

BLEND_METHODS = {'linear': 'Linear', 'slerp': 'Slerp'}


class PromptPanel:
    """What the picture shows: the prompt blend of the session."""

    def __init__(self, sync: SessionSync) -> None:
        self.sync = sync
        editable = sync.can_control
        with section('Prompts', 'edit_note', hint='Enter applies · Esc reverts' if editable else 'live · read-only') \
                as self.column:
            self.unsupported = hint('').classes('text-warning')
            self.prompts = PromptList(self.authored(), on_apply=self.apply, on_weights=self.apply_weights,
                                      editable=editable)
            EngineAdditions(sync)
            with ui.row().classes('w-full items-center no-wrap gap-2'):
                ui.label('Blend').classes('ds-field-label')
                self.method = ui.toggle(BLEND_METHODS, value=sync.value('prompt_interpolation_method', 'linear'),
                                        on_change=lambda e: self.sync.send({'prompt_interpolation_method': e.value})) \
                    .props('dense no-caps size=sm toggle-color=primary').classes('ds-toggle').mark('blend-method')
                ui.space()
                self.edited = ui.badge('edited', color='warning').props('outline').classes('ds-edited')
                self.edited.set_visibility(False)
                ui.button('Apply', icon='play_arrow', on_click=self.apply).props('unelevated dense no-caps') \
                    .classes('px-3').mark('apply-prompts').set_visibility(editable)
            hint('Slerp: a spherical blend of exactly two prompts (more blend linearly).')
            self.negative_slot = ui.column().classes('w-full gap-1')
        self.prompts.dirty_listeners.append(self.edited.set_visibility)
        self.prompts.revert_listeners.append(lambda: self.prompts.set_value(self.authored()))
        self._negative_prompt()
        self._prompt_support()
        sync.watch('prompts', self.prompts.set_value, self.prompts, read=lambda _: self.authored())
        sync.watch('prompt_interpolation_method', lambda value: self.method.set_value(value or 'linear'), self.method)
        sync.on_pipeline_change(self._negative_prompt)
        sync.on_pipeline_change(self._prompt_support)

    def authored(self) -> list[dict[str, Any]]:
        """The session's prompts as their author set them: what the audio engine adds is shown apart."""
        return self.sync.session.state.authored_prompts()

    def apply(self) -> None:
        """Send the prompts (and the negative prompt) to the session."""
        message: dict[str, Any] = {'prompt_interpolation_method': self.method.value}
        if prompts := self.prompts.value:
            message['prompts'] = prompts
        if self.negative is not None:
            message['negative_prompt'] = self.negative.value or ''
        self.sync.send(message)
        self.prompts.mark_applied()

    def apply_weights(self) -> None:
        """Send a new blend after a share slider moved (texts as shown)."""
        if prompts := self.prompts.value:
            self.sync.send({'prompts': prompts})
            self.prompts.mark_applied()

    def _prompt_support(self) -> None:
        info = self.sync.info
        self.unsupported.set_text('' if info.supports_prompts else f'{info.name} does not use prompts.')
        self.unsupported.set_visibility(not info.supports_prompts)

    def _negative_prompt(self) -> None:
        """A negative prompt field where the pipeline supports one."""
        self.negative: ui.input | None = None
        self.negative_slot.clear()
        if not self.sync.info.supports_negative_prompt:
            return
        with self.negative_slot:
            self.negative = ui.input('Negative prompt', value=self.sync.value('negative_prompt', ''),
                                     placeholder='what to avoid').props('dense clearable').classes('w-full') \
                .mark('negative-prompt')
            self.negative.on('keydown.enter', self.apply)
            self.sync.watch('negative_prompt', lambda value: self._show_negative(value), self.negative)

    def _show_negative(self, value: Any) -> None:
        if self.negative is not None:
            self.negative.set_value(value or '')
