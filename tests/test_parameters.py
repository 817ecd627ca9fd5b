"""How parameter messages combine: sticky and one-shot keys, coalescing, prompt changes and transitions."""
from __future__ import annotations

import numpy as np

from pipeline.conditioning import PromptConditioner, interpolate
from pipeline.prompts import PromptTracker, normalize
from pipeline.state import ParameterState

A = [{'text': 'forge', 'weight': 1.0}]
B = [{'text': 'ocean', 'weight': 1.0}]


def embed(text: str) -> np.ndarray:
    """A deterministic toy embedding."""
    return np.random.default_rng(sum(map(ord, text))).normal(size=16)


def test_sticky_keys_stay_and_one_shot_keys_are_used_once() -> None:
    """`noise_scale` stays for every chunk; `reset_cache` applies to the next chunk only."""
    state = ParameterState()
    state.update({'noise_scale': 0.3, 'reset_cache': True})
    first, second = state.take(), state.take()
    assert first.values['noise_scale'] == second.values['noise_scale'] == 0.3
    assert first.one_shots == {'reset_cache': True} and second.one_shots == {}


def test_updates_between_chunks_coalesce_and_keep_the_transition() -> None:
    """Thirty messages between two chunks merge into one; a transition among them is not lost."""
    state = ParameterState()
    state.update({'prompts': A})
    state.take()
    state.update({'prompts': A, 'transition': {'target_prompts': B, 'num_steps': 8}})
    for i in range(29):
        state.update({'prompts': A, 'noise_scale': i / 100})
    taken = state.take()
    assert taken.values['noise_scale'] == 0.28
    assert taken.prompt_change is not None and taken.prompt_change.num_steps == 8
    assert taken.prompt_change.prompts == normalize(B)


def test_re_sent_identical_prompts_change_nothing() -> None:
    """The same prompts again, the source during a transition, or the target after it: no new change."""
    tracker = PromptTracker()
    assert tracker.receive(A, None) is not None
    assert tracker.receive(A, None) is None
    assert tracker.receive(A, {'target_prompts': B, 'num_steps': 8}) is not None
    assert tracker.receive(A, None) is None
    assert tracker.receive(B, None) is None, 'the target as plain prompts must not snap the running transition'
    assert tracker.receive(A, {'target_prompts': B, 'num_steps': 8}) is None, 'an identical transition must not restart'
    assert tracker.receive(B, None) is None
    assert tracker.receive(A, None) is not None, 'going back to A after B is a real change'


def test_weights_are_normalised_before_comparing() -> None:
    """Weights 100 and 1.0 describe the same single prompt (Scope's UI sends 0-100)."""
    assert normalize([{'text': 'x', 'weight': 100}]) == normalize([{'text': 'x', 'weight': 1.0}])
    assert normalize([{'text': 'x', 'weight': 0}, {'text': 'y', 'weight': 0}]) == (('x', 0.5), ('y', 0.5))


def test_transition_moves_one_step_per_chunk_and_ends_at_the_target() -> None:
    """A four-step transition takes four chunks and ends exactly on the target blend."""
    conditioner = PromptConditioner(embed)
    tracker = PromptTracker()
    conditioner.apply(tracker.receive(A, None))
    start = conditioner.next()
    conditioner.apply(tracker.receive(None, {'target_prompts': B, 'num_steps': 4}))
    steps = [conditioner.next() for _ in range(4)]
    distances = [float(np.linalg.norm(s - embed('ocean'))) for s in steps]
    assert distances == sorted(distances, reverse=True) and distances[-1] < 1e-9
    assert np.linalg.norm(steps[0] - start) > 0, 'the first step already moves'
    assert conditioner.transitions_completed == 1 and conditioner.progress is None


def test_slerp_keeps_the_norm_between_unit_vectors() -> None:
    """Slerp between unit embeddings stays on the unit sphere; lerp cuts through it."""
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert abs(np.linalg.norm(interpolate(a, b, 0.5, 'slerp')) - 1) < 1e-9
    assert np.linalg.norm(interpolate(a, b, 0.5, 'linear')) < 0.8


def test_weighted_blend_follows_the_weights() -> None:
    """A 0.9/0.1 blend lies closer to the heavier prompt."""
    conditioner = PromptConditioner(embed)
    blend = conditioner.blend(normalize([{'text': 'forge', 'weight': 9}, {'text': 'ocean', 'weight': 1}]), 'linear')
    assert np.linalg.norm(blend - embed('forge')) < np.linalg.norm(blend - embed('ocean'))
