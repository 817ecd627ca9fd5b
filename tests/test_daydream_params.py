"""Daydream's stream parameters: what is accepted, what is refused (naming the field), and how they map."""
from __future__ import annotations

from typing import Any

import pytest

from pipeline.dreamfield.info import DREAMFIELD
from pipeline.passthrough import PASSTHROUGH
from pipeline.streamdiffusion.info import STREAMDIFFUSION
from services import daydream_mapping as mapping
from services.daydream_params import ParamsError, merge, parse_params, pipeline_model
from services.stream_requests import read_create, read_hot_update, read_update

SEED_002_PARAMS = {'model_id': 'stabilityai/sdxl-turbo', 'prompt': 'your prompt here', 'negative_prompt': '',
                   'width': 1024, 'height': 576, 'guidance_scale': 1.0, 'num_inference_steps': 50, 'seed': 42}


def refused(raw: dict[str, Any]) -> str:
    with pytest.raises(ParamsError) as caught:
        parse_params(raw)
    return caught.value.field


def test_every_documented_shape_is_accepted() -> None:
    assert parse_params(SEED_002_PARAMS) == SEED_002_PARAMS
    weighted = {'model_id': 'Lykon/dreamshaper-8', 'prompt': [['a fox', 0.7], ['a wolf', 0.3]], 'seed': [[1, 0.5],
                [2, 0.5]], 't_index_list': [5, 15, 32], 'controlnets': [
                    {'model_id': 'lllyasviel/control_v11f1p_sd15_depth', 'conditioning_scale': 0.5,
                     'preprocessor': 'depth_tensorrt', 'enabled': True}],
                'ip_adapter': {'enabled': True, 'scale': 0.5, 'type': 'regular'}, 'acceleration': 'tensorrt',
                'image_postprocessing': {'enabled': True, 'processors': [{'type': 'upscale'}]},
                'cached_attention': {'enabled': False, 'max_frames': 1, 'interval': 4}, 'gop_size': 30}
    assert parse_params(weighted) == weighted
    assert parse_params({})['model_id'] == 'stabilityai/sd-turbo'
    assert parse_params({}, pipeline_model=pipeline_model('streamdiffusion-sdxl'))['model_id'] == \
        'stabilityai/sdxl-turbo'


def test_values_outside_daydreams_ranges_name_the_field() -> None:
    assert refused({'width': 1000}) == 'params.width'
    assert refused({'height': 320}) == 'params.height'
    assert refused({'t_index_list': [30, 20]}) == 'params'
    assert refused({'t_index_list': [1, 2, 3, 4, 5]}) == 'params.t_index_list'
    assert refused({'guidance_scale': 'high'}) == 'params.guidance_scale'
    assert refused({'use_lcm_lora': 'true'}) == 'params.use_lcm_lora'
    assert refused({'num_inference_steps': 0}) == 'params.num_inference_steps'
    assert refused({'seed': -1}) == 'params.seed'
    assert refused({'model_id': 'someone/else'}) == 'params.model_id'
    assert refused({'acceleration': 'cuda'}) == 'params.acceleration'
    assert refused({'sharpness': 3}) == 'params.sharpness'
    assert refused({'controlnets': [{'model_id': 'xinsir/controlnet-depth-sdxl-1.0', 'conditioning_scale': 1.0}]}) \
        == 'params.controlnets.0.model_id'
    assert refused({'ip_adapter': {'enabled': True}}) == 'params.ip_adapter'
    with pytest.raises(ParamsError, match='pipeline'):
        pipeline_model('stable-video')


def test_create_bodies_in_every_shape() -> None:
    official = read_create({'pipeline': 'streamdiffusion', 'params': {'model_id': 'stabilityai/sd-turbo'}})
    assert (official.pipeline, official.name, official.legacy_pipeline_id) == ('streamdiffusion', '', None)
    legacy = read_create({'pipeline_id': 'pip_SDXL-turbo', 'pipeline_params': {'prompt': 'x'}})
    assert legacy.params == {'prompt': 'x', 'model_id': 'stabilityai/sdxl-turbo'} and legacy.legacy_params
    bare = read_create({'pipeline_id': 'pip_qpUgXycjWF6YMeSL'})
    assert bare.params == {'model_id': 'stabilityai/sd-turbo'}
    self_hosted = read_create({'name': 'My Stream', 'pipeline': 'streamdiffusion-sdxl', 'params': SEED_002_PARAMS,
                               'output_rtmp_url': 'rtmp://your-server:1935/live/key'})
    assert self_hosted.output_rtmp_url == 'rtmp://your-server:1935/live/key'
    for bad in ('http://example.com/live', 'rtmp://', 'rtmp://host'):
        with pytest.raises(ParamsError, match='output_rtmp_url'):
            read_create({'params': {}, 'output_rtmp_url': bad})
    assert read_update({'params': {'prompt': 'y'}}).pipeline is None


def test_updates_merge_and_say_whether_they_restart() -> None:
    stored = {'model_id': 'stabilityai/sdxl-turbo', 'prompt': 'a', 'ip_adapter': {'enabled': False, 'scale': 0.5}}
    merged = merge(stored, {'prompt': 'b', 'ip_adapter': {'scale': 0.8}})
    assert merged == {'model_id': 'stabilityai/sdxl-turbo', 'prompt': 'b', 'ip_adapter': {'enabled': False,
                                                                                          'scale': 0.8}}
    assert mapping.reload_changes(stored, merged) == []
    assert mapping.reload_changes(stored, {**merged, 'width': 768}) == ['width']
    scaled = {'controlnets': [{'model_id': 'xinsir/controlnet-depth-sdxl-1.0', 'conditioning_scale': 0.2}]}
    assert mapping.reload_changes(scaled, {'controlnets': [{**scaled['controlnets'][0], 'conditioning_scale': 0.9}]}) \
        == []
    assert read_hot_update({'prompt': 'c', 'controlnet_scales': {'0': 0.9}}, scaled)['params']['controlnets'][0][
        'conditioning_scale'] == 0.9
    with pytest.raises(ParamsError, match='width'):
        read_hot_update({'width': 768}, stored)


def test_params_map_onto_each_pipelines_own_controls() -> None:
    params = {'model_id': 'stabilityai/sd-turbo', 'prompt': [['a fox', 3], ['snow', 1]], 'seed': 7, 'delta': 0.4,
              't_index_list': [10, 25], 'guidance_scale': 1.2, 'negative_prompt': 'blur'}
    on_streamdiffusion = mapping.runtime_message(params, STREAMDIFFUSION)
    assert on_streamdiffusion['prompts'] == [{'text': 'a fox', 'weight': 3.0}, {'text': 'snow', 'weight': 1.0}]
    assert (on_streamdiffusion['seed'], on_streamdiffusion['delta'], on_streamdiffusion['t_index_list'],
            on_streamdiffusion['negative_prompt']) == (7, 0.4, [10, 25], 'blur')
    on_dreamfield = mapping.runtime_message(params, DREAMFIELD)
    assert on_dreamfield['denoising_step_list'] == [800, 500] and 'delta' not in on_dreamfield
    assert mapping.not_applied(params, STREAMDIFFUSION) == {}
    assert set(mapping.not_applied(params, DREAMFIELD)) == {'model_id', 'guidance_scale', 'delta', 'negative_prompt'}
    assert 'prompt' in mapping.not_applied(params, PASSTHROUGH)
    unsupported = {'model_id': 'Lykon/dreamshaper-8', 'acceleration': 'tensorrt', 'seed': [[1, 0.2], [9, 0.8]],
                   'controlnets': [{'model_id': 'lllyasviel/control_v11p_sd15_canny', 'conditioning_scale': 0.3}],
                   'ip_adapter': {'enabled': True}}
    reasons = mapping.not_applied(unsupported, STREAMDIFFUSION)
    assert set(reasons) == {'acceleration', 'seed', 'controlnets', 'ip_adapter'}
    assert 'seed 9' in reasons['seed']
    assert mapping.load_params({'model_id': 'stabilityai/sd-turbo'}) == {
        'model_id': 'stabilityai/sd-turbo', 'width': 512, 'height': 512}
