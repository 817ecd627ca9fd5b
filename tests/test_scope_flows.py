"""Real aiortc clients following the flows of the docs' quick start, Soundscape and Scope's own frontend."""
from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np

from .scope_client import ScopeClient
from .server import RunningServer
from .waiting import PATIENCE, until, wait_until

QUICKSTART = {'prompts': [{'text': 'a red jellyfish glowing in a dark ocean', 'weight': 1.0}],
              'denoising_step_list': [1000, 750, 500, 250], 'manage_cache': True}


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference of two frames (0 to 255)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


async def session_metrics(client: ScopeClient) -> dict:
    """The server's figures for this client's session."""
    return (await client.http.get('/api/v1/session/metrics')).json()['sessions'].get(client.session_id, {})


async def session_gone(client: ScopeClient) -> bool:
    return await session_metrics(client) == {}


async def has_noise_scale(client: ScopeClient, value: float) -> bool:
    return bool((await session_metrics(client))['parameters']['noise_scale'] == value)


async def paused_metrics(client: ScopeClient) -> dict | None:
    """The session's figures once it holds `paused`."""
    metrics = await session_metrics(client)
    return metrics if metrics['parameters']['paused'] is True else None


async def test_quick_start_flow_streams_prompt_driven_video(client: ScopeClient) -> None:
    """The docs' quick start: load, poll, offer a bare sendrecv transceiver, trickle afterwards, change prompts."""
    await client.load({'pipeline_ids': ['dreamfield']})
    answer = await client.connect(QUICKSTART, trickle='after')
    assert answer['type'] == 'answer' and answer['sessionId']
    frames = await client.wait_frames(10)
    assert frames[-1].shape == (512, 512, 3)
    jellyfish = await client.latest_frame()
    city_prompts = [{'text': 'a neon city skyline at night, rain', 'weight': 1.0}]
    client.send({'prompts': city_prompts})

    async def taken() -> bool:  # Scope's server tells a client only what others change, so ask the session
        return (await session_metrics(client)).get('parameters', {}).get('prompts') == city_prompts

    assert await until(taken), 'the session takes the new prompt'
    city = await client.latest_frame(settle=6)  # frames made after the session took the new prompt
    assert difference(jellyfish, city) > 12, 'a new prompt must change the picture clearly'

    await client.http.delete(f'/api/v1/webrtc/offer/{client.session_id}')
    assert (await client.wait_message('stream_stopped')).get('error_message') is None
    assert await until(lambda: session_gone(client)), 'the session is freed'
    assert (await client.http.get('/health')).status_code == 200


async def test_soundscape_flow_keeps_transitions_under_30_hz_updates(server: RunningServer) -> None:
    """Soundscape: legacy load, rich initialParameters, VP8 only, early trickle, 30 Hz re-sent prompts, a transition."""
    client = ScopeClient(server.url)
    try:
        assert (await client.http.get('/health')).status_code == 200
        await client.load({'pipeline_id': 'longlive',
                           'load_params': {'width': 576, 'height': 320, 'vace_enabled': False}})
        source = [{'text': 'infinite forward motion through a molten forge, sparks, calm atmosphere', 'weight': 1.0}]
        target = [{'text': 'infinite forward motion through a frozen crystal cave, blue ice', 'weight': 1.0}]
        await client.connect({'pipeline_ids': ['longlive'], 'input_mode': 'text', 'prompts': source,
                              'prompt_interpolation_method': 'linear', 'denoising_step_list': [1000, 750, 500, 250],
                              'manage_cache': True, 'kv_cache_attention_bias': 0.1, 'recording': False},
                             codecs=('VP8',), trickle='one-by-one')
        assert (await client.wait_frames(5))[-1].shape == (320, 576, 3)
        await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
        before = await client.latest_frame()

        base = {'denoising_step_list': [1000, 750, 500, 250], 'manage_cache': True}
        client.send({**base, 'prompts': source, 'noise_scale': 0.55,
                     'transition': {'target_prompts': target, 'num_steps': 8,
                                    'temporal_interpolation_method': 'slerp'}})
        steps_seen: list[int] = []
        sent = 0

        async def soundscape_tick() -> bool:
            """One 30 Hz update of Soundscape (it re-sends the source prompts meanwhile); True once a second's worth
            went out and the transition has finished."""
            nonlocal sent
            client.send({**base, 'prompts': source, 'noise_scale': 0.5 + 0.1 * np.sin(sent)})
            sent += 1
            metrics = await session_metrics(client)
            if transition := metrics.get('transition'):
                steps_seen.append(transition['step'])
            return sent >= 30 and metrics['transitions_completed'] >= 1

        assert await until(soundscape_tick, interval=1 / 30), f'the transition did not finish: {steps_seen}'
        client.send({**base, 'prompts': target})  # the target once as plain prompts, after the transition
        client.send({'noise_scale': 0.321})  # the channel is ordered: once this shows, the target was taken
        assert await until(lambda: has_noise_scale(client, 0.321))
        metrics = await session_metrics(client)
        assert metrics['transitions_completed'] == 1, 'the transition ran exactly once, to its end'
        assert steps_seen == sorted(steps_seen), 'the transition was never restarted'
        assert metrics['parameters']['prompts'] == target
        after = await client.latest_frame()
        assert difference(before, after) > 12
    finally:
        await client.close()


async def test_scope_frontend_flow_with_audio_transceiver_and_early_candidates(client: ScopeClient) -> None:
    """Scope's UI: `pipelines[]` load, VP8-only video, a receive-only audio transceiver, early candidates."""
    await client.load({'pipelines': [{'node_id': 'main', 'pipeline_id': 'dreamfield',
                                      'load_params': {'width': 512, 'height': 512}}]})
    answer = await client.connect({'prompts': [{'text': 'aurora over a glacier', 'weight': 100}]},
                                  codecs=('VP8',), audio_recvonly=True, trickle='before')
    assert 'm=audio' in answer['sdp']
    assert len(await client.wait_frames(5)) == 5


async def test_receive_only_offer_gets_video(client: ScopeClient) -> None:
    """An offer whose video is receive-only still gets generated video."""
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect(QUICKSTART, video_direction='recvonly', trickle='none')
    assert len(await client.wait_frames(5)) == 5


async def test_h264_only_offer_is_answered_with_h264(client: ScopeClient) -> None:
    """A client that offers only H.264 gets H.264."""
    await client.load({'pipeline_ids': ['dreamfield']})
    answer = await client.connect(QUICKSTART, codecs=('H264',))
    video_section = answer['sdp'].split('m=video', 1)[1]
    assert 'H264/90000' in video_section and 'VP8/90000' not in video_section
    assert len(await client.wait_frames(5)) == 5


async def test_initial_parameters_apply_before_the_first_frame(server: RunningServer) -> None:
    """The first frame already shows the initial prompt and seed, not the defaults."""
    first_frames = []
    for seed in (1, 2):
        client = ScopeClient(server.url)
        try:
            await client.load({'pipeline_ids': ['dreamfield']})
            await client.connect({**QUICKSTART, 'seed': seed, 'paused': False})
            first_frames.append((await client.wait_frames(1))[0])
            parameters = (await session_metrics(client))['parameters']
            assert parameters['seed'] == seed and parameters['prompts'] == QUICKSTART['prompts']
        finally:
            await client.close()
    assert difference(*first_frames) > 3


async def test_pause_freezes_and_resume_continues(client: ScopeClient) -> None:
    """`paused` freezes the picture; unpausing makes it move again."""
    await client.load({'pipeline_ids': ['dreamfield']})
    await client.connect(QUICKSTART)
    await client.wait_frames(5)
    await asyncio.wait_for(client.channel_open.wait(), PATIENCE)
    client.send({'paused': True})
    frozen = await until(lambda: paused_metrics(client))
    assert frozen, 'the session takes the pause'
    # the worker may finish the chunk it was making when the pause came (Dreamfield: one frame), then makes none
    # while paused: watched for half a second, and longer if the machine is slow to answer
    made: list[int] = []
    watched_since = time.monotonic()

    async def watched_a_while() -> bool:
        made.append((await session_metrics(client))['frames_out'])
        return len(made) >= 5 and time.monotonic() - watched_since >= 0.5

    await until(watched_a_while)
    assert max(made) <= frozen['frames_out'] + 1, f'frames made while paused: {frozen["frames_out"]} -> {made}'
    client.send({'paused': False})

    async def moving_again() -> bool:
        return (await session_metrics(client))['frames_out'] > max(made) + 5

    assert await until(moving_again), 'unpausing makes the picture move again'


def test_closing_the_connection_frees_the_session(server: RunningServer) -> None:
    """When a client goes away, its session and worker thread are gone shortly after."""

    async def connect_and_leave() -> str:
        client = ScopeClient(server.url)
        await client.load({'pipeline_ids': ['dreamfield']})
        await client.connect(QUICKSTART)
        await client.wait_frames(3)
        await client.close()
        return client.session_id or ''

    session_id = asyncio.run(connect_and_leave())
    assert wait_until(lambda: session_id not in httpx.get(f'{server.url}/api/v1/session/metrics').json()['sessions'])
