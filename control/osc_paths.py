"""OSC addresses: the path inventory of a pipeline (Scope's `/api/v1/osc/paths` shape), and turning an OSC
message into a parameter message, with the value types OSC senders really send (TouchDesigner sends floats)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.catalog import FieldSpec, runtime_fields
from pipeline.protocol import PipelineInfo

SCOPE_PREFIX = '/scope/'
DREAMSTAGE_PREFIX = '/dreamstage/'
SOURCE_SEGMENT = 'source'  # /dreamstage/source/<name>: a value the matrix reads as osc.<name>
NOT_SENT = frozenset({'prompts', 'transition', 'lora_scales', 'pipeline_ids', 'input_mode', 'base_seed'})
TYPES = {'bool': 'bool', 'int': 'integer', 'float': 'float', 'enum': 'string', 'text': 'string'}
GLOBALS: list[dict[str, Any]] = [
    {'key': 'prompt', 'type': 'string', 'description': 'Set the prompt text (one prompt, weight 1.0; a transition '
                                                       'when transition_steps is above 0)'},
    {'key': 'input_mode', 'type': 'string', 'description': 'Switch input mode', 'enum': ['text', 'video']},
    {'key': 'transition_steps', 'type': 'integer', 'min': 0, 'max': 1000,
     'description': 'Pipeline calls a prompt change blends over (0 = instant); applies to the next prompts'},
    {'key': 'interpolation_method', 'type': 'string', 'enum': ['linear', 'slerp'],
     'description': 'Spatial interpolation method for blending multiple prompts'},
    {'key': 'temporal_interpolation_method', 'type': 'string', 'enum': ['linear', 'slerp'],
     'description': 'Temporal interpolation method for transitions between prompts'},
]
SETTINGS = frozenset({'transition_steps', 'temporal_interpolation_method'})  # remembered per session, not sent


class OscRefused(ValueError):
    """An OSC message that cannot be applied; `reason` is the counter it goes to."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class Address:
    """Where an OSC address points: the sessions it addresses (`session` None: the default ones) and the key."""

    key: str
    session: str | None = None  # the session segment of /dreamstage/<session>/<key>
    source: bool = False  # /dreamstage/source/<name>


def parse_address(address: str) -> Address:
    """The key and the session of an address; OscRefused('unknown_address') outside Scope's and our namespace."""
    if address.startswith(SCOPE_PREFIX) and len(address) > len(SCOPE_PREFIX):
        return Address(address[len(SCOPE_PREFIX):])
    if address.startswith(DREAMSTAGE_PREFIX):
        parts = address[len(DREAMSTAGE_PREFIX):].split('/', 1)
        if len(parts) == 2 and parts[0] and parts[1]:
            if parts[0] == SOURCE_SEGMENT:
                return Address(parts[1], source=True)
            return Address(parts[1], session=parts[0])
    raise OscRefused('unknown_address', f'{address}: not a /scope/<param> or /dreamstage/<session>/<param> address')


def session_slug(name: str) -> str:
    """A session name as one OSC address segment (lower case, '-' for anything but letters and digits)."""
    return re.sub(r'[^a-z0-9_]+', '-', name.strip().lower()).strip('-') or 'session'


def paths(info: PipelineInfo | None) -> list[dict[str, Any]]:
    """Every runtime control of a pipeline as an OSC path entry (the globals first)."""
    entries = [dict(entry) for entry in GLOBALS]
    for spec in runtime_fields(info).values():
        if spec.key in NOT_SENT or spec.is_load_param or (entry := _entry(spec)) is None:
            continue
        entries.append(entry)
    for entry in entries:
        entry['osc_address'] = SCOPE_PREFIX + entry['key']
    return entries


def to_message(key: str, args: list[Any], known: dict[str, dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """The parameter message an OSC message asks for; settings (`transition_steps`) are stored in `settings` and
    give an empty message. OscRefused for unknown keys and values of the wrong type (ranges: `Session.update`)."""
    entry = known.get(key)
    if entry is None:
        raise OscRefused('unknown_address', f'{key}: no such parameter in the loaded pipeline')
    if not args:
        raise OscRefused('invalid_value', f'{key}: the message carries no value')
    value = coerce(entry, args[0] if len(args) == 1 else list(args))
    if key in SETTINGS:
        settings[key] = value
        return {}
    if key == 'prompt':
        prompts = [{'text': value, 'weight': 1.0}]
        steps = int(settings.get('transition_steps') or 0)
        if steps <= 0:
            return {'prompts': prompts}
        return {'transition': {'target_prompts': prompts, 'num_steps': steps,
                               'temporal_interpolation_method': settings.get('temporal_interpolation_method',
                                                                             'linear')}}
    if key == 'interpolation_method':
        return {'prompt_interpolation_method': value}
    return {key: value}


def coerce(entry: dict[str, Any], value: Any) -> Any:
    """An OSC value as the parameter's JSON type: 0/1 for booleans, integral floats for integers, ints for floats."""
    kind, key = entry.get('type'), entry['key']
    if kind == 'bool':
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
    elif kind == 'integer':
        if _integral(value):
            return int(value)
    elif kind == 'float':
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return single(float(value))
    elif kind == 'string':
        if isinstance(value, str) and (not entry.get('enum') or value in entry['enum']):
            return value
    elif kind == 'integer_list':
        items = value if isinstance(value, list) else [value]
        if items and all(_integral(item) for item in items):
            return [int(item) for item in items]
    raise OscRefused('invalid_value', f'{key}: {value!r} is not a valid {kind}'
                                      + (f' (one of {entry["enum"]})' if entry.get('enum') else ''))


def single(value: float) -> float:
    """A float that came as OSC's 32-bit float as the decimal it was meant to be (0.4, not 0.4000000059604645)."""
    narrow = np.float32(value)
    if float(narrow) != value:
        return value  # a double (typetag d): kept as it is
    return float(np.format_float_positional(narrow, unique=True, trim='-'))


def _integral(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
        and float(value).is_integer()


def _entry(spec: FieldSpec) -> dict[str, Any] | None:
    if spec.kind == 'list':
        kind = 'integer_list' if spec.item_kind == 'int' else None
    else:
        kind = TYPES.get(spec.kind)
    if kind is None:
        return None
    entry: dict[str, Any] = {'key': spec.key, 'type': kind, 'description': spec.description or spec.label}
    if spec.minimum is not None:
        entry['min'] = spec.minimum
    if spec.maximum is not None:
        entry['max'] = spec.maximum
    if spec.options:
        entry['enum'] = list(spec.options)
    if spec.default is not None:
        entry['default'] = spec.default
    return entry
