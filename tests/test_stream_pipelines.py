"""Which pipeline a Daydream stream runs: StreamDiffusion when the model is here (tiny random weights in Hugging Face
layout), the configured stand-in when it is not, a clear error when stand-ins are off."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from config import Config
from pipeline.registry import default_registry
from services.context import ServerContext
from services.stream_views import flat_status
from services.streams import Stream

from .test_streamdiffusion_models import tiny_models_home
from .waiting import LOADING


async def context_for(models_dir: Path, aliases: str | None = None, fallback: str | None = None) -> ServerContext:
    env = {'DREAMSTAGE_MODELS_DIR': str(models_dir), 'HF_HUB_OFFLINE': '1'}
    if aliases is not None:
        env['DREAMSTAGE_PIPELINE_ALIASES'] = aliases
    if fallback is not None:
        env['DREAMSTAGE_STREAM_FALLBACK'] = fallback
    config = Config.from_env(env)
    return ServerContext.build(config, registry=default_registry(config.pipeline_aliases, installed_plugins=False))


@pytest.fixture
async def tiny_models() -> AsyncIterator[ServerContext]:
    context = await context_for(tiny_models_home() / 'models')
    yield context
    await context.streams.close_all()


async def until(condition: Callable[[], object], timeout: float = LOADING) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'the condition did not come true in time'
        await asyncio.sleep(0.05)


def frame_shape(stream: Stream) -> tuple[int, ...] | None:
    latest = stream.session.bus.latest
    return latest.image.shape if latest is not None else None


async def test_a_stream_runs_streamdiffusion_when_its_model_is_here(tiny_models: ServerContext) -> None:
    streams = tiny_models.streams
    stream = streams.create({'pipeline': 'streamdiffusion', 'params': {
        'model_id': 'stabilityai/sd-turbo', 'prompt': 'a red fox', 'width': 384, 'height': 384, 't_index_list': [20],
        'acceleration': 'none'}})
    await until(lambda: stream.status == 'running')
    status = flat_status(stream, tiny_models.peers)
    assert status['running_pipeline'] == 'streamdiffusion' and status['pipeline_note'] is None
    assert status['params_not_applied'] == {}
    tiny_models.peers.attachment(stream.session).add_member('test', 'a watcher')
    await until(lambda: frame_shape(stream) == (384, 384, 3))
    await streams.update(stream, {'params': {'prompt': 'a blue sea', 'guidance_scale': 1.5}})
    state = stream.session.state.snapshot()
    assert state['prompts'] == [{'text': 'a blue sea', 'weight': 1.0}] and state['guidance_scale'] == 1.5
    assert (stream.status, stream.restart_count) == ('running', 0), 'hot parameters need no restart'
    await streams.update(stream, {'params': {'width': 448}})
    assert stream.status == 'starting' and stream.restart_count == 1
    await until(lambda: stream.status == 'running' and frame_shape(stream) == (384, 448, 3))
    assert stream.session.state.snapshot()['prompts'] == [{'text': 'a blue sea', 'weight': 1.0}]
    await streams.delete(stream)
    assert stream.session.closed and not streams.pipelines.leases


async def test_a_missing_model_runs_the_alias_and_says_so(tiny_models: ServerContext) -> None:
    stream = tiny_models.streams.create({'pipeline': 'streamdiffusion-sd15', 'params': {'prompt': 'koi'}})
    await until(lambda: stream.status == 'running')
    status = flat_status(stream, tiny_models.peers)
    assert status['running_pipeline'] == 'dreamfield' and 'dreamshaper-8' in status['pipeline_note']


async def test_without_an_alias_a_missing_model_is_an_error_that_says_why(tmp_path: Path) -> None:
    context = await context_for(tmp_path / 'models', aliases='', fallback='')
    try:
        stream = context.streams.create({'pipeline': 'streamdiffusion', 'params': {'model_id':
                                                                                   'stabilityai/sdxl-turbo'}})
        status = flat_status(stream, context.peers)
        assert status['status'] == 'error' and status['running_pipeline'] == 'standby'
        assert 'sdxl-turbo' in status['error_message'] and 'DREAMSTAGE_STREAM_FALLBACK' in status['error_message']
    finally:
        await context.streams.close_all()
