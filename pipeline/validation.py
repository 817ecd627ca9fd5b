"""The one gate every parameter message passes before it reaches a session: strict, finite, bounded, known."""
from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationError

from .parameters import Parameters
from .protocol import PipelineInfo

MAX_DEPTH = 12
MAX_VALUES = 20_000
JSON_SAFE_INT = 2**53  # larger integers lose precision in JavaScript clients and break some JSON encoders


class InvalidParameters(ValueError):
    """A parameters message that cannot be applied; the text names the key and says why."""


def check_parameters(message: Any, info: PipelineInfo | None = None) -> dict[str, Any]:
    """The message without its null values, checked against the common model and the pipeline's own controls.

    Unknown keys pass (Scope clients send keys for other pipelines and plugins) but must be plain, finite JSON.
    """
    if not isinstance(message, dict):
        raise InvalidParameters(f'parameters must be a JSON object, not {type(message).__name__}')
    cleaned = {key: value for key, value in message.items() if value is not None}
    check_json_values(cleaned)
    _validate(Parameters, cleaned)
    if info is not None and info.runtime_params is not None:
        own = {key: value for key, value in cleaned.items() if key in info.runtime_params.model_fields}
        if own:
            _validate(info.runtime_params, own)
    return cleaned


def _validate(model: type[BaseModel], values: dict[str, Any]) -> None:
    try:
        model.model_validate(values, strict=True)
    except ValidationError as error:
        raise InvalidParameters('; '.join(_describe(e) for e in error.errors())) from None


def _describe(error: Any) -> str:
    where = '.'.join(str(part) for part in error['loc']) or 'parameters'
    return f"{where}: {error['msg']}"


def check_json_values(value: Any) -> None:
    """Only plain JSON: string keys, finite numbers, integers a JavaScript client can hold, bounded nesting."""
    count = 0
    stack: list[tuple[str, Any, int]] = [('', value, 0)]
    while stack:
        where, item, depth = stack.pop()
        count += 1
        if count > MAX_VALUES or depth > MAX_DEPTH:
            raise InvalidParameters('parameters are nested too deeply or hold too many values')
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidParameters(f'{where}: numbers must be finite (no NaN or Infinity)')
        elif isinstance(item, int):
            if abs(item) > JSON_SAFE_INT:
                raise InvalidParameters(f'{where}: integer {item} is out of range (at most 2^53 in size)')
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidParameters(f'{where or "parameters"}: keys must be strings')
                stack.append((f'{where}.{key}' if where else key, child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((f'{where}.{index}', child, depth + 1) for index, child in enumerate(item))
        else:
            raise InvalidParameters(f'{where}: {type(item).__name__} is not a JSON value')
