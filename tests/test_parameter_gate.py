"""Every parameter message passes one gate: strict types, finite numbers, bounded integers, the pipeline's own rules."""
from __future__ import annotations

import json
import math

import pytest

from pipeline.catalog import modulatable, runtime_fields
from pipeline.dreamfield.info import DREAMFIELD
from pipeline.streamdiffusion.info import STREAMDIFFUSION
from pipeline.validation import InvalidParameters, check_parameters
from rtc.datachannel import parse_message


@pytest.mark.parametrize('message, complaint', [
    ({'noise_scale': 'high'}, 'noise_scale'),
    ({'noise_scale': math.nan}, 'finite'),
    ({'noise_scale': math.inf}, 'finite'),
    ({'paused': 'false'}, 'paused'),
    ({'paused': 0}, 'paused'),
    ({'manage_cache': 'yes'}, 'manage_cache'),
    ({'prompts': [{'text': 'a', 'weight': math.inf}]}, 'finite'),
    ({'prompts': [{'text': 'a', 'weight': '1'}]}, 'prompts.0.weight'),
    ({'prompts': 'not a list'}, 'prompts'),
    ({'seed': 10**41}, 'seed'),
    ({'seed': 2**32}, 'seed'),
    ({'seed': -1}, 'seed'),
    ({'seed': 4.5}, 'seed'),
    ({'base_seed': 10**40}, 'base_seed'),
    ({'unknown_plugin_key': 10**30}, 'out of range'),
    ({'unknown_plugin_key': {'deep': [math.nan]}}, 'finite'),
    ({'transition': {'target_prompts': [{'text': 'b'}], 'num_steps': '4'}}, 'num_steps'),
    ({'denoising_step_list': [1000, 2000]}, 'denoising_step_list'),
])
def test_wrong_values_are_refused_with_a_message_naming_the_key(message: dict, complaint: str) -> None:
    """What killed shared sessions before (a string for a number, NaN, a string boolean, huge integers) is refused."""
    with pytest.raises(InvalidParameters, match=complaint):
        check_parameters(message, DREAMFIELD)


def test_good_messages_pass_unchanged_and_unknown_keys_are_kept() -> None:
    """Scope clients send keys for other pipelines and plugins: they pass, as plain JSON."""
    message = {'noise_scale': 1, 'paused': False, 'seed': 2**32 - 1, 'tempo': {'bpm': 120.5},
               'prompts': [{'text': 'a', 'weight': 100}], 'ctrl_input': {'button': ['KeyW'], 'mouse': [0.1, -2]}}
    assert check_parameters(message, DREAMFIELD) == message
    assert check_parameters({'noise_scale': None, 'seed': 3}, DREAMFIELD) == {'seed': 3}, 'null means not set'


def test_the_pipeline_s_own_controls_are_checked_by_its_schema() -> None:
    """Streamdiffusion declares guidance_scale 0..20 and a non-decreasing t_index_list; dreamfield does not."""
    with pytest.raises(InvalidParameters, match='guidance_scale'):
        check_parameters({'guidance_scale': 50.0}, STREAMDIFFUSION)
    with pytest.raises(InvalidParameters, match='t_index_list'):
        check_parameters({'t_index_list': [32, 12]}, STREAMDIFFUSION)
    assert check_parameters({'guidance_scale': 50.0}, DREAMFIELD) == {'guidance_scale': 50.0}


def test_a_data_channel_message_is_parsed_then_checked_by_the_same_gate() -> None:
    """Bare NaN in JSON parses (Python accepts it) but never gets past the gate."""
    with pytest.raises(InvalidParameters):
        check_parameters(parse_message('{"noise_scale": NaN}'), DREAMFIELD)
    with pytest.raises(InvalidParameters):
        check_parameters(parse_message(json.dumps({'seed': 10**41})), DREAMFIELD)


def test_ranges_and_modulatable_controls_come_from_one_catalog() -> None:
    """The audio mapper's targets, the studio's sliders and the validation read the same declared ranges."""
    assert modulatable(None) == {'noise_scale': (0.0, 1.0), 'kv_cache_attention_bias': (0.01, 1.0),
                                 'vace_context_scale': (0.0, 2.0)}
    assert modulatable(STREAMDIFFUSION)['guidance_scale'] == (0.0, 5.0)
    noise = runtime_fields(DREAMFIELD)['noise_scale']
    assert (noise.minimum, noise.maximum) == (0.0, 1.0)
    with pytest.raises(InvalidParameters):
        check_parameters({'noise_scale': 1.01}, DREAMFIELD)
