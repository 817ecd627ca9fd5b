"""Reading Daydream's create and update bodies, in every shape its clients send (official, legacy, self-hosted)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .daydream_params import ParamsError, parse_params, pipeline_model

MAX_NAME = 200
HOT_KEYS = ('prompt', 'negative_prompt', 'guidance_scale', 'delta', 'num_inference_steps', 't_index_list', 'seed')


@dataclass(slots=True)
class CreateRequest:
    """A checked create body."""

    name: str
    pipeline: str  # the name the client used
    legacy_pipeline_id: str | None
    params: dict[str, Any]
    output_rtmp_url: str | None
    legacy_params: bool  # sent as `pipeline_params`


@dataclass(slots=True)
class UpdateRequest:
    """A checked update body: the params to merge, and the other fields it changes."""

    params: dict[str, Any]
    pipeline: str | None
    name: str | None
    output_rtmp_url: str | None
    changes_rtmp: bool


def read_create(body: Any, any_model: bool = False) -> CreateRequest:
    """`{pipeline, params, name?, output_rtmp_url?}`, legacy `{pipeline_id, pipeline_params}` or a bare
    `{pipeline_id}`; raises ParamsError naming the field."""
    if not isinstance(body, dict):
        raise ParamsError('body', 'must be a JSON object')
    legacy_id = body.get('pipeline_id')
    if legacy_id is not None and not isinstance(legacy_id, str):
        raise ParamsError('pipeline_id', 'must be a string')
    pipeline = body.get('pipeline')
    if pipeline is None:
        pipeline = legacy_id or 'streamdiffusion'
    model = pipeline_model(pipeline)
    if legacy_id and model is None:
        model = pipeline_model(legacy_id)
    raw_params = body.get('params')
    legacy_params = raw_params is None and body.get('pipeline_params') is not None
    if legacy_params:
        raw_params = body.get('pipeline_params')
    params = parse_params({} if raw_params is None else raw_params, pipeline_model=model, any_model=any_model)
    return CreateRequest(name=read_name(body.get('name')), pipeline=pipeline, legacy_pipeline_id=legacy_id,
                         params=params, output_rtmp_url=read_rtmp_url(body.get('output_rtmp_url')),
                         legacy_params=legacy_params)


def read_update(body: Any) -> UpdateRequest:
    """`{pipeline?, params}` (or `pipeline_params`), and optionally `name` and `output_rtmp_url`."""
    if not isinstance(body, dict):
        raise ParamsError('body', 'must be a JSON object')
    pipeline = body.get('pipeline')
    if pipeline is not None:
        pipeline_model(pipeline)
    params = body.get('params', body.get('pipeline_params'))
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamsError('params', 'must be an object')
    name = read_name(body['name']) if 'name' in body else None
    return UpdateRequest(params=params, pipeline=pipeline, name=name,
                         output_rtmp_url=read_rtmp_url(body.get('output_rtmp_url')),
                         changes_rtmp='output_rtmp_url' in body)


def read_name(value: Any) -> str:
    if value is None:
        return ''
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise ParamsError('name', f'must be a string of at most {MAX_NAME} characters')
    return value


def read_rtmp_url(value: Any) -> str | None:
    """An `rtmp://` or `rtmps://` URL with a host and a path (None or '' for none)."""
    if value is None or value == '':
        return None
    if not isinstance(value, str) or not value.lower().startswith(('rtmp://', 'rtmps://')):
        raise ParamsError('output_rtmp_url', 'must be an rtmp:// or rtmps:// URL')
    rest = value.split('://', 1)[1]
    host, _, path = rest.partition('/')
    if not host or not path or any(c.isspace() for c in value) or len(value) > 2048:
        raise ParamsError('output_rtmp_url', 'must name a host and an application path, e.g. '
                                             'rtmp://live.example.com/app/stream-key')
    return value


def read_hot_update(body: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """The self-hosted replacement's flat hot-only body (`PATCH /v1/streams/{id}/params`) as an update body;
    `controlnet_scales` ({index: scale}) changes the stored ControlNets' conditioning scales."""
    if not isinstance(body, dict):
        raise ParamsError('body', 'must be a JSON object')
    params: dict[str, Any] = {}
    for key, value in body.items():
        if key in HOT_KEYS:
            params[key] = value
        elif key == 'controlnet_scales':
            params['controlnets'] = _scaled_controlnets(value, stored.get('controlnets') or [])
        else:
            raise ParamsError(key, 'cannot change without a restart here: use PATCH /v1/streams/{id}')
    return {'params': params}


def _scaled_controlnets(scales: Any, controlnets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(scales, dict):
        raise ParamsError('controlnet_scales', 'must be an object of {index: scale}')
    updated = [dict(controlnet) for controlnet in controlnets]
    for index, scale in scales.items():
        position = int(index) if str(index).isdigit() else -1
        if not 0 <= position < len(updated):
            raise ParamsError(f'controlnet_scales.{index}', 'the stream has no ControlNet at this index')
        updated[position]['conditioning_scale'] = scale
    return updated
