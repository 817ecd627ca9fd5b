"""Generation controls: generated from the runtime schema of the session's pipeline, bound to its state."""
from __future__ import annotations

import json
import random
from typing import Any

from nicegui import ui

from pipeline.catalog import FieldSpec, pipeline_fields

from .schema_form import field_control
from .sync import SessionSync
from .theme import hint, notify, section, tip

SHOWN_ELSEWHERE = frozenset({'prompts', 'negative_prompt', 'prompt_interpolation_method', 'transition', 'paused',
                             'reset_cache', 'lora_scales', 'vace_ref_images', 'images', 'input_mode'})
ELSEWHERE_COMPONENTS = frozenset({'lora', 'vace', 'image', 'resolution'})
SEEDS = ('seed', 'base_seed')


def generation_controls(sync: SessionSync) -> None:
    """The pipeline's runtime controls (rebuilt when the session moves to another pipeline)."""

    @ui.refreshable
    def controls() -> None:
        info = sync.info
        fields = runtime_fields(sync)
        with section('Generation', 'tune', hint=info.name):
            if not fields:
                hint(f'{info.name} declares no runtime controls.')
            for spec in fields:
                control_for(sync, spec)

    controls()
    sync.on_pipeline_change(controls.refresh)
    if sync.can_control:
        with section('Send parameters', 'data_object', hint='any key, as on the data channel'):
            raw_parameters(sync)


def runtime_fields(sync: SessionSync) -> list[FieldSpec]:
    """The runtime controls the pipeline's schema declares, except those another panel shows."""
    fields = pipeline_fields(sync.info)
    return [spec for spec in fields if spec.key not in SHOWN_ELSEWHERE and spec.component not in ELSEWHERE_COMPONENTS]


def control_for(sync: SessionSync, spec: FieldSpec) -> ui.element:
    """One control: its changes go to the session, the session's values come back into it."""
    with ui.row().classes('w-full items-center no-wrap gap-1'):
        control = field_control(spec, sync.value(spec.key), lambda value: sync.send({spec.key: value}))
        control.classes('grow').mark(f'control-{spec.key}')
        if spec.key in SEEDS and sync.can_control:
            tip(ui.button(icon='casino', on_click=lambda: sync.send({spec.key: random.randrange(0, 2 ** 31)}))
                .props('flat round dense'), 'A random seed').mark(f'randomize-{spec.key}')
    if spec.key in SEEDS and sync.can_control:  # a viewer has no Pipeline tab with the other seed
        hint("The seed of the running stream: a change shows at once. The seed in the Pipeline tab's load "
             'parameters is where a freshly loaded pipeline starts.').mark('seed-hint')
    if spec.description:
        tip(control, spec.description)
    sync.watch(spec.key, lambda value: set_control(control, value), control)
    return control


def set_control(control: ui.element, value: Any) -> None:
    """Show a value in a generated control."""
    if value is None:
        return
    setter = getattr(control, 'show_applied', None) or getattr(control, 'set_value', None)
    if setter is None:
        return
    if isinstance(control, ui.input_chips):
        value = [str(v) for v in value]
    setter(value)


def raw_parameters(sync: SessionSync) -> None:
    """A JSON box for keys no control covers (plugins, experiments): sent as one parameters message."""

    def send() -> None:
        try:
            message = json.loads(box.value or '{}')
        except json.JSONDecodeError as error:
            show_error(json_problem(error))
            return
        if not isinstance(message, dict):
            show_error('A JSON object, like {"noise_scale": 0.5}')
            return
        box.props(remove='error error-message')
        if applied := sync.send(message):
            notify(f'Applied: {", ".join(sorted(applied))}', 'positive')

    def show_error(text: str) -> None:
        box.props['error'] = True
        box.props['error-message'] = text
        box.update()

    with ui.row().classes('w-full items-start no-wrap gap-1'):
        box = ui.input(placeholder='{"noise_scale": 0.4}').props('dense').classes('grow font-mono ds-raw-parameters') \
            .mark('raw-parameters')
        box.on('keydown.enter', send)
        box.on_value_change(lambda: box.props(remove='error error-message'))
        ui.button(icon='send', on_click=send).props('flat round dense').tooltip('Send').mark('send-raw-parameters')


def json_problem(error: json.JSONDecodeError) -> str:
    """What is wrong with a JSON text, in words for a person (not the parser's)."""
    where = f'at character {error.colno}' if error.lineno == 1 else f'on line {error.lineno}, character {error.colno}'
    reason = error.msg
    if 'double quotes' in reason:
        reason = 'keys and texts need double quotes'
    elif reason == 'Expecting value':
        reason = 'a value is missing or not JSON (true, false, null, a number, "text", [...] or {...})'
    else:
        reason = reason[0].lower() + reason[1:]
    return f'Not JSON {where}: {reason}. Example: {{"noise_scale": 0.5}}'
