"""Scope clients stream `longlive` (tiny models) from a real server over WebRTC, driven on the data channel."""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.causal.memory import GB
from pipeline.longlive.info import LongLiveLoadParams
from pipeline.longlive.preflight import memory_estimate

from .longlive_models import HEIGHT, WIDTH, tiny_longlive_home
from .scope_client import ScopeClient
from .server import RunningServer
from .test_scope_flows import session_metrics
from .test_streamdiffusion_stream import frame_unlike
from .waiting import LOADING, PATIENCE, until

SIZE = {'width': WIDTH, 'height': HEIGHT}
LOAD: dict[str, Any] = {'pipeline_ids': ['longlive'], 'load_params': SIZE}
START = {'prompts': [{'text': 'a red fox in the forest', 'weight': 1.0}], 'seed': 3}


@pytest.fixture(scope='module')
def longlive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose models folder holds the tiny models (nothing is downloaded), with no pipeline loaded yet."""
    home = tmp_path_factory.mktemp('longlive-server')
    shutil.copytree(tiny_longlive_home() / 'models', home / 'models')
    running = RunningServer(pipeline='none', home=home, env={'OMP_NUM_THREADS': '1'})  # tiny models: one thread
    try:
        running.wait_ready(loaded=False)
        yield running
    finally:
        running.stop()


async def test_a_data_channel_session_streams_longlive_frame_by_frame(longlive_server: RunningServer) -> None:
    """The real pipeline runs (no stand-in); its 12-frame chunks reach the client; a prompt switch and a new step list
    apply live, without a reload. (That a chunk's frames come one period apart: tests/test_pacer.py on a driven clock;
    how evenly they reach a client: bench/bench_longlive.py.)"""
    client = ScopeClient(longlive_server.url)
    try:
        status = await client.load(LOAD)
        assert (status['pipeline_id'], status['running_pipeline_ids'], status['substitutions']) == \
            ('longlive', ['longlive'], {})
        schemas = (await client.http.get('/api/v1/pipelines/schemas')).json()['pipelines']
        assert schemas['longlive']['runs_as'] == 'longlive'
        await client.connect(START)
        frames = await client.wait_frames(40, timeout=180)
        assert frames[-1].shape == (HEIGHT, WIDTH, 3)

        await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
        before = await client.latest_frame(settle=12)
        client.send({'prompts': [{'text': 'neon city at night, rain', 'weight': 1.0}]})
        await frame_unlike(client, before, 'a new prompt changed nothing', timeout=120)
        client.send({'denoising_step_list': [1000, 500]})

        async def new_steps() -> bool:
            return (await session_metrics(client))['parameters'].get('denoising_step_list') == [1000, 500]

        assert await until(new_steps), 'the session takes the new step list'
        assert len(await client.wait_frames(12, timeout=120)) == 12
        assert longlive_server.output().count('pipeline longlive loaded') == 1, 'live changes never reload'
    finally:
        await client.close()


async def test_memory_is_checked_before_loading_and_an_out_of_memory_stream_stops_cleanly(
        longlive_server: RunningServer) -> None:
    """Too small a budget is refused up front (422, with what to change); with room for one stream, a second one
    stops with the reason and the first goes on; a smaller configuration then loads without a restart."""
    needed = memory_estimate(LongLiveLoadParams(width=WIDTH, height=HEIGHT), longlive_server.models_dir, WIDTH,
                             HEIGHT)
    client = ScopeClient(longlive_server.url)
    extra = ScopeClient(longlive_server.url)
    try:
        refused = await client.http.post('/api/v1/pipeline/load', json={
            **LOAD, 'load_params': {**SIZE, 'max_memory_gb': 0.01}})
        assert refused.status_code == 422
        assert 'not enough GPU memory for 96x64' in refused.text and 'vae_type' in refused.text

        one_stream = (needed.total(1) + needed.per_stream // 2) / GB
        await client.load({**LOAD, 'load_params': {**SIZE, 'max_memory_gb': one_stream}})
        await client.connect(START)
        await client.wait_frames(5, timeout=180)
        await extra.connect(START)
        stopped = await extra.wait_message('stream_stopped', timeout=180)
        assert 'out of GPU memory at 96x64' in stopped['error_message'] and stopped.get('fatal') is True
        assert len(await client.wait_frames(12, timeout=180)) == 12, 'the first stream goes on'

        smaller = {'width': 48, 'height': 32, 'max_memory_gb': one_stream}
        status = await client.load({'pipeline_ids': ['longlive'], 'load_params': smaller})
        assert status['status'] == 'loaded'
        seen = len(client.frames)

        def at_the_new_size() -> bool:  # frames made before the reload may still be on their way
            return any(image.shape == (32, 48, 3) for _, image in client.frames[seen:])

        assert await until(at_the_new_size, LOADING), 'the stream goes on at the smaller size'
        assert (await client.http.get('/health')).status_code == 200
    finally:
        await client.close()
        await extra.close()


