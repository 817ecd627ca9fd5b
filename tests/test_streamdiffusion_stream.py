"""A Scope client streams StreamDiffusion (tiny models) from a real server over WebRTC, driven on the data channel."""
from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from .scope_client import ScopeClient
from .server import RunningServer, serving
from .synthetic_video import PatternTrack
from .test_scope_flows import difference, session_metrics
from .test_streamdiffusion_models import tiny_models_home
from .waiting import PATIENCE

LOAD = {'pipeline_ids': ['streamdiffusion'], 'load_params': {'width': 128, 'height': 128}}
START = {'prompts': [{'text': 'a red fox', 'weight': 1.0}], 't_index_list': [20, 35], 'seed': 3}


@pytest.fixture(scope='module')
def sd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose models folder holds the tiny models (nothing is downloaded), with no pipeline loaded yet."""
    home = tmp_path_factory.mktemp('sd-server')
    shutil.copytree(tiny_models_home() / 'models', home / 'models')
    with serving(pipeline='none', home=home, loaded=False) as running:
        yield running


async def test_data_channel_session_streams_and_hot_updates_do_not_reload(sd_server: RunningServer) -> None:
    """Load, stream 128x128 frames, then change seed, prompt, guidance and `t_index_list` live: no reload."""
    client = ScopeClient(sd_server.url)
    try:
        status = await client.load(LOAD)
        assert status['pipeline_id'] == 'streamdiffusion'
        models = (await client.http.get('/api/v1/models/status', params={'pipeline_id': 'streamdiffusion'})).json()
        assert models == {'downloaded': True, 'progress': None}
        await client.connect(START)
        assert (await client.wait_frames(5))[-1].shape == (128, 128, 3)
        await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
        before = await client.latest_frame(settle=4)
        for update in ({'seed': 11}, {'prompts': [{'text': 'a blue sea', 'weight': 1.0}]},
                       {'t_index_list': [10, 40], 'guidance_scale': 1.8, 'delta': 0.5}):
            client.send(update)
            before = await frame_unlike(client, before, f'{update} changed nothing')
        metrics = await session_metrics(client)
        assert metrics['parameters']['t_index_list'] == [10, 40]
        status = (await client.http.get('/api/v1/pipeline/status')).json()
        assert status['status'] == 'loaded'
        assert sd_server.output().count('pipeline streamdiffusion loaded') == 1, 'hot updates never reload'
    finally:
        await client.close()


async def frame_unlike(client: ScopeClient, before: np.ndarray, message: str,
                       timeout: float = PATIENCE) -> np.ndarray:
    """The first frame that differs clearly from `before` (the server may repeat frames while it is busy)."""
    frame = await client.frame_unlike(before, 2, timeout)
    assert frame is not None, message
    return frame


async def test_video_to_video_follows_the_camera(sd_server: RunningServer) -> None:
    """A camera track in, generated frames out that follow it: different cameras, different pictures."""
    outputs = []
    for pattern in ('checker', 'flat'):
        client = ScopeClient(sd_server.url)
        try:
            await client.load(LOAD)
            await client.connect({**START, 'input_mode': 'video', 't_index_list': [35]},
                                 track=PatternTrack(pattern, color=(240, 240, 240)))
            frames = await client.wait_frames(8)
            assert frames[-1].shape == (128, 128, 3)
            assert (await session_metrics(client))['input_mode'] == 'video'
            outputs.append(frames[-1])
        finally:
            await client.close()
    assert difference(*outputs) > 8


async def test_a_missing_model_is_a_clear_load_error(sd_server: RunningServer) -> None:
    """Another model id whose files are absent is refused up front (422) with a message that says how to download it."""
    client = ScopeClient(sd_server.url)
    try:
        with pytest.raises(httpx.HTTPStatusError) as error:
            await client.load({'pipeline_ids': ['streamdiffusion'],
                               'load_params': {'width': 128, 'height': 128, 'model_id': 'Lykon/dreamshaper-8'}})
        assert error.value.response.status_code == 422
        assert re.search(r'dreamshaper-8.*not downloaded|not downloaded.*dreamshaper-8', error.value.response.text)
        assert 'models/download' in error.value.response.text
        status = (await client.http.get('/api/v1/models/status',
                                        params={'pipeline_id': 'streamdiffusion',
                                                'model_id': 'Lykon/dreamshaper-8'})).json()
        assert status['downloaded'] is False
    finally:
        await client.close()
