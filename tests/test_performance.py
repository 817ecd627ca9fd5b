"""A session's recent prompt changes and transitions become the chunk specs of a render."""
from __future__ import annotations

from typing import Any

from pipeline.session import Change
from services.performance import performed


def prompts(text: str) -> list[dict[str, Any]]:
    return [{'text': text, 'weight': 1.0}]


def change(chunk: int, values: dict[str, Any], source: str = 'studio-1') -> Change:
    return Change(1000.0 + chunk, source, sorted(values), values, chunk)


def test_prompt_changes_and_transitions_become_chunk_specs_from_the_first_change() -> None:
    log = [change(3, {'noise_scale': 0.4}),
           change(40, {'prompts': prompts('fire')}),
           change(55, {'noise_scale': 0.2}),
           change(70, {'prompts': prompts('ocean')}),
           change(100, {'prompts': prompts('lava'), 'transition': {'target_prompts': prompts('lava'), 'num_steps': 8,
                                                                   'temporal_interpolation_method': 'slerp'}})]
    performance = performed(log, now=130, chunk_size=1)
    assert performance is not None
    assert performance.prompts == prompts('fire')
    assert performance.chunk_specs == [
        {'chunk': 30, 'prompts': prompts('ocean')},
        {'chunk': 60, 'transition_target_prompts': prompts('lava'), 'transition_num_steps': 8,
         'transition_method': 'slerp'}]
    assert performance.chunks == 90 and performance.num_frames == 90


def test_a_long_performance_keeps_its_most_recent_frames() -> None:
    log = [change(0, {'prompts': prompts('dawn')}), change(3000, {'prompts': prompts('noon')}),
           change(9000, {'prompts': prompts('dusk')})]
    performance = performed(log, now=13_000, chunk_size=2, max_frames=10_000)
    assert performance is not None
    assert performance.prompts == prompts('noon'), 'the prompt shown where the window starts (chunk 8000)'
    assert performance.chunk_specs == [{'chunk': 1000, 'prompts': prompts('dusk')}]
    assert performance.chunks == 5000 and performance.num_frames == 10_000


def test_nothing_performed() -> None:
    assert performed([change(4, {'noise_scale': 0.5})], now=10, chunk_size=1) is None
