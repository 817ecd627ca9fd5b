"""What a target's value means as a parameter message: prompt blend weights, triggers that recall looks."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

WEIGHT_STEP = 0.01  # smallest weight change worth a new prompt blend


def prompt_weights(prompts: Any, weights: dict[int, float], sent: dict[int, float]) -> list[dict[str, Any]] | None:
    """The session's prompts with the driven weights; None when none moved enough since they were `sent` (the
    session keeps weights normalised, so they are compared with what was sent, not with what it holds)."""
    if not isinstance(prompts, list) or all(abs(w - sent.get(i, -1.0)) < WEIGHT_STEP for i, w in weights.items()):
        return None
    result = []
    for index, prompt in enumerate(prompts):
        weight = round(weights[index], 3) if index in weights else float(prompt.get('weight', 1.0))
        result.append({'text': prompt.get('text', ''), 'weight': weight})
    sent.update({index: round(weight, 3) for index, weight in weights.items()})
    return result


def trigger_message(target: str, recall: Callable[[str], dict[str, Any] | None]) -> dict[str, Any] | None:
    """The change a trigger target makes when it fires (None for a look that is gone)."""
    if target == 'trigger.reset_cache':
        return {'reset_cache': True}
    if target.startswith('trigger.look.'):
        return recall(target.removeprefix('trigger.look.'))
    if target.startswith('trigger.transition.'):
        look = recall(target.removeprefix('trigger.transition.'))
        if look is None or not look.get('prompts'):
            return look
        rest = {key: value for key, value in look.items() if key != 'prompts'}
        return {**rest, 'transition': {'target_prompts': look['prompts'], 'num_steps': 8,
                                       'temporal_interpolation_method': 'slerp'}}
    return None
