"""Video-to-video: a client sends a camera track and receives frames made from it."""
from __future__ import annotations

import numpy as np

from .scope_client import ScopeClient
from .server import RunningServer
from .synthetic_video import PatternTrack
from .test_scope_flows import difference, session_metrics
from .waiting import until


async def stream_from(server: RunningServer, pipeline: str, track: PatternTrack,
                      initial: dict | None = None) -> tuple[ScopeClient, list[np.ndarray]]:
    """Connect with a camera track and collect a few output frames."""
    client = ScopeClient(server.url)
    await client.load({'pipeline_ids': [pipeline]})
    await client.connect(initial or {}, track=track)
    return client, await client.wait_frames(15)


async def in_video_mode(client: ScopeClient) -> bool:
    return bool((await session_metrics(client))['input_mode'] == 'video')


async def test_passthrough_returns_the_input_video(server: RunningServer) -> None:
    """Passthrough sends back what the camera sends, at the camera's size."""
    track = PatternTrack('flat', color=(30, 200, 60))
    client, frames = await stream_from(server, 'passthrough', track)
    try:
        assert frames[-1].shape == (240, 320, 3)
        assert np.abs(frames[-1].reshape(-1, 3).mean(0) - (30, 200, 60)).max() < 12
        metrics = await session_metrics(client)
        assert metrics['input_mode'] == 'video' and metrics['frames_in'] > 0
    finally:
        await client.close()
        await ScopeClient(server.url).load({'pipeline_ids': ['dreamfield']})


async def test_dreamfield_restyles_the_incoming_video(server: RunningServer) -> None:
    """In video mode the CPU pipeline's output follows the input: different cameras, different pictures."""
    outputs = []
    for pattern in ('checker', 'flat'):
        client, frames = await stream_from(server, 'dreamfield', PatternTrack(pattern, color=(240, 240, 240)),
                                           {'input_mode': 'video', 'noise_scale': 0.3, 'seed': 7,
                                            'prompts': [{'text': 'ink wash painting', 'weight': 1.0}]})
        try:
            assert frames[-1].shape == (512, 512, 3)
            assert (await session_metrics(client))['input_mode'] == 'video'
            outputs.append(frames[-1])
        finally:
            await client.close()
    assert difference(*outputs) > 8


async def test_a_track_without_an_explicit_mode_switches_to_video(server: RunningServer) -> None:
    """A client that sends a track but no `input_mode` gets video-to-video once frames arrive."""
    client, _ = await stream_from(server, 'dreamfield', PatternTrack('bars'))
    try:
        assert await until(lambda: in_video_mode(client)), 'the session switches to video once frames arrive'
    finally:
        await client.close()
