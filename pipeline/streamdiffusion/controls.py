"""The runtime controls of one chunk, read leniently from the sticky parameters (Daydream's and Scope's names)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
MAX_STEPS = 200
MAX_INDICES = 8


@dataclass(frozen=True, slots=True)
class Controls:
    """What one frame is made with; every field changes without a reload."""

    t_index_list: tuple[int, ...]
    num_inference_steps: int
    guidance_scale: float
    delta: float
    seed: int | list[list[float]]
    negative_prompt: str


def read_controls(params: dict[str, Any], defaults: dict[str, Any]) -> Controls:
    """Controls from a chunk's parameters; a value of the wrong kind falls back to its default (with a warning)."""
    steps = _number(params, defaults, 'num_inference_steps', int, 1, MAX_STEPS)
    if params.get('t_index_list') is not None:
        indices = _indices(params['t_index_list'], defaults['t_index_list'])
    elif params.get('denoising_step_list') is not None:  # Scope's timesteps (1000 = pure noise) mapped onto the grid
        indices = _indices(_timesteps_to_indices(params['denoising_step_list'], steps), defaults['t_index_list'])
    else:
        indices = tuple(defaults['t_index_list'])
    indices = tuple(min(max(i, 0), steps - 1) for i in indices)
    return Controls(
        t_index_list=indices,
        num_inference_steps=steps,
        guidance_scale=_number(params, defaults, 'guidance_scale', float, 0.0, 100.0),
        delta=_number(params, defaults, 'delta', float, 0.0, 10.0),
        seed=_seed(params.get('seed'), defaults['seed']),
        negative_prompt=str(params.get('negative_prompt') if params.get('negative_prompt') is not None
                            else defaults['negative_prompt']),
    )


def _number(params: dict[str, Any], defaults: dict[str, Any], key: str, kind: type, low: float,
            high: float) -> Any:
    value = params.get(key)
    if value is None:
        return defaults[key]
    try:
        return kind(min(max(kind(value), low), high))
    except (TypeError, ValueError):
        _warn(key, value)
        return defaults[key]


def _indices(value: Any, fallback: list[int]) -> tuple[int, ...]:
    try:
        indices = sorted(int(v) for v in _list(value))
    except (TypeError, ValueError):
        _warn('t_index_list', value)
        indices = []
    return tuple(indices[:MAX_INDICES]) or tuple(fallback)


def _timesteps_to_indices(value: Any, steps: int) -> list[int]:
    try:
        return [round((1000 - float(t)) / 1000 * steps) for t in _list(value)]
    except (TypeError, ValueError):
        _warn('denoising_step_list', value)
        return []


def _seed(value: Any, fallback: Any) -> Any:
    if value is None:
        return fallback
    if isinstance(value, list):  # Daydream's seed blend: [[seed, weight], ...]
        try:
            return [[int(s), float(w)] for s, w in value] or fallback
        except (TypeError, ValueError):
            _warn('seed', value)
            return fallback
    try:
        return int(value)
    except (TypeError, ValueError):
        _warn('seed', value)
        return fallback


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


_warned: set[str] = set()


def _warn(key: str, value: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning('ignoring %s=%r: not a valid value', key, value)
