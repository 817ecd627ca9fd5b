"""Scope's batch flows against a real server, from a client written from the wire contract alone (seed 004)."""
from __future__ import annotations

import io
from typing import Any

import av
import numpy as np

from .batch_wire import WireClient, parse_raw
from .conftest import STALE_OUTPUT
from .server import RunningServer
from .waiting import wait_until

PROGRESS_KEYS = {'chunk', 'total_chunks', 'frames', 'latency', 'fps'}
COMPLETE_KEYS = {'output_path', 'video_shape', 'num_frames', 'num_chunks', 'chunk_size'}


def request(**fields: Any) -> dict[str, Any]:
    return {'pipeline_id': 'dreamfield', 'prompt': 'a red fox in the snow', 'num_frames': 16, 'seed': 7, **fields}


def result(wire: WireClient, events: list[tuple[str, dict[str, Any]]]) -> np.ndarray:
    """The downloaded frames of a completed generation (headers and body checked against each other)."""
    name, data = events[-1]
    assert name == 'complete', events[-1]
    reply = wire.download(data['output_path'])
    assert reply.status == 200 and reply.headers['content-type'] == 'application/octet-stream'
    video = parse_raw(reply.body)
    assert list(video.shape) == data['video_shape']
    assert [int(reply.headers[f'x-video-{n}']) for n in ('frames', 'height', 'width', 'channels')] == list(video.shape)
    return video


def decode_mp4(data: bytes) -> list[np.ndarray]:
    """The RGB frames of an MP4 file's video, decoded with PyAV."""
    with av.open(io.BytesIO(data), 'r') as container:
        return [frame.to_ndarray(format='rgb24') for frame in container.decode(video=0)]


def clip(frames: int, height: int, width: int, level: int, channels: int = 3) -> np.ndarray:
    """A synthetic THWC clip: a bar sweeping across a background of `level`."""
    video = np.full((frames, height, width, channels), level, np.uint8)
    for t in range(frames):
        x = (t * 7) % width
        video[t, :, x:x + 6] = 255 - level
    return video


def test_text_to_video_streams_progress_and_is_deterministic(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    with wire.generate(request()) as stream:
        assert stream.status == 200
        assert stream.headers['content-type'].startswith('text/event-stream')
        assert stream.headers['cache-control'] == 'no-cache' and stream.headers['x-accel-buffering'] == 'no'
        events = stream.until_end()
    progress = [data for name, data in events if name == 'progress']
    assert [p['chunk'] for p in progress] == list(range(1, 17))
    assert all(set(p) == PROGRESS_KEYS and p['total_chunks'] == 16 and p['fps'] > 0 for p in progress)
    assert [p['frames'] for p in progress] == list(range(1, 17))
    name, complete = events[-1]
    assert name == 'complete' and set(complete) == COMPLETE_KEYS
    assert complete['video_shape'] == [16, 64, 64, 3] and complete['num_frames'] == 16
    assert complete['num_chunks'] == 16 and complete['chunk_size'] == 1
    video = result(wire, events)
    assert video.std() > 5, 'the frames show something'
    assert (batch_server.home / 'data' / 'batch' / complete['output_path'] / 'video.bin').is_file()

    again = result(wire, wire.run(request()))
    assert again.tobytes() == video.tobytes(), 'the same request and seed give the same bytes'
    other_seed = result(wire, wire.run(request(seed=8)))
    assert other_seed.tobytes() != video.tobytes()


def test_video_to_video_follows_the_uploaded_clip(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    bright, dark = clip(8, 48, 80, 230), clip(8, 48, 80, 20, channels=1)
    uploads = [wire.upload_video(video) for video in (bright, dark)]
    assert all(reply.status == 200 for reply in uploads), [reply.body for reply in uploads]
    stored = uploads[0].json()
    assert stored['num_frames'] == 8 and stored['shape'] == [8, 48, 80, 3]
    assert uploads[1].json()['shape'] == [8, 48, 80, 1]
    outputs = [result(wire, wire.run(request(input_path=reply.json()['input_path'], noise_scale=0.5, num_frames=12)))
               for reply in uploads]
    text_only = result(wire, wire.run(request(num_frames=12)))
    assert outputs[0].shape == (12, 64, 64, 3), 'the clip is looped to the frames asked for, at the pipeline size'
    assert outputs[0].mean() > outputs[1].mean() + 5, 'a bright clip makes a brighter video than a dark one'
    assert not np.array_equal(outputs[0], text_only)


def test_chunk_specs_change_prompts_transition_reset_and_read_the_blob(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    base = result(wire, wire.run(request()))

    def run(*specs: dict[str, Any], **fields: Any) -> np.ndarray:
        return result(wire, wire.run(request(chunk_specs=list(specs), **fields)))

    prompt = run({'chunk': 4, 'text': 'a blue ocean under the moon'})
    assert np.array_equal(prompt[:4], base[:4]) and not np.array_equal(prompt[4:], base[4:])
    sticky = run({'chunk': 4, 'text': 'a blue ocean under the moon'}, {'chunk': 9, 'seed': 7})
    assert np.array_equal(sticky, prompt), 'a prompt holds until another chunk changes it'

    lava = [{'text': 'red lava', 'weight': 1.0}]
    cut, gradual = (run({'chunk': 8, 'transition_target_prompts': lava, 'transition_num_steps': steps})
                    for steps in (0, 4))
    unspecified = run({'chunk': 8, 'transition_target_prompts': lava})
    assert np.array_equal(cut[:8], base[:8]) and np.array_equal(gradual[:8], base[:8])
    assert not np.array_equal(cut[8:], gradual[8:]), 'transition_num_steps 0 is a cut, not the default 4 steps'
    assert np.array_equal(unspecified, gradual), 'without transition_num_steps a transition takes 4 chunks'

    reset = run({'chunk': 10, 'reset_cache': True})
    assert np.array_equal(reset[:10], base[:10]) and not np.array_equal(reset[10], base[10])

    white = np.full((1, 32, 32, 3), 255, np.uint8)
    vace_frames = np.zeros((1, 3, 1, 64, 64), np.float32)
    vace_masks = np.ones((1, 1, 1, 64, 64), np.float32)
    blob = vace_frames.tobytes() + vace_masks.tobytes() + white.tobytes()
    uploaded = wire.upload_data(blob)
    assert uploaded.status == 200 and uploaded.json()['size_bytes'] == len(blob)
    from_blob = run({'chunk': 2, 'vace_frames_offset': 0, 'vace_frames_shape': [1, 3, 1, 64, 64],
                     'vace_masks_offset': vace_frames.nbytes, 'vace_masks_shape': [1, 1, 1, 64, 64]},
                    {'chunk': 6, 'input_video_offset': vace_frames.nbytes + vace_masks.nbytes,
                     'input_video_shape': [1, 32, 32, 3]},
                    data_blob_path=uploaded.json()['data_blob_path'])
    assert np.array_equal(from_blob[:6], base[:6]), 'VACE arrays change nothing on a pipeline without VACE'
    assert not np.array_equal(from_blob[6], base[6]), "chunk 6 renders the blob's white frame"


def test_cancel_mid_way_ends_with_cancelled_and_keeps_the_partial_result(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    with wire.generate(request(num_frames=10_000)) as stream:
        first = next(iter(stream))
        assert first[0] == 'progress'
        busy = WireClient(batch_server.url, prefix='/api/v1/batch').post_json('/api/v1/batch', request())
        assert busy.status == 409
        assert busy.json()['detail'] == 'A generation is already in progress. Cancel it first or wait for completion.'
        assert wire.cancel().json() == {'status': 'cancelling'}
        events = stream.until_end()
    name, cancelled = events[-1]
    assert name == 'cancelled', events[-1]
    assert 1 <= cancelled['chunk'] < cancelled['total_chunks'] == 10_000
    assert cancelled['frames_completed'] == cancelled['chunk']
    partial = parse_raw(wire.download(cancelled['output_path']).body)
    assert partial.shape == (cancelled['frames_completed'], 64, 64, 3)
    assert wire.cancel().json()['status'] == 'idle', 'nothing runs any more'


def test_a_client_that_goes_away_cancels_its_generation(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    with wire.generate(request(num_frames=10_000)) as stream:
        assert next(iter(stream))[0] == 'progress'

    def last_event() -> str | None:
        status = wire.request('GET', '/api/v1/generate/status').json()
        return status['last_event']['event'] if status['status'] == 'finished' else None

    assert wait_until(last_event) == 'cancelled'
    assert wire.run(request(num_frames=2))[-1][0] == 'complete', 'the next generation runs'


def test_download_in_both_formats_under_both_spellings(batch_server: RunningServer) -> None:
    batch = WireClient(batch_server.url, prefix='/api/v1/batch')
    uploaded = batch.upload_video(clip(4, 64, 64, 128))
    assert uploaded.status == 200
    events = batch.run(request(num_frames=20, input_path=uploaded.json()['input_path']))
    video = result(batch, events)
    reply = WireClient(batch_server.url).download(events[-1][1]['output_path'], 'mp4')
    assert reply.status == 200 and reply.headers['content-type'] == 'video/mp4'
    decoded = decode_mp4(reply.body)
    assert len(decoded) == 20 and decoded[0].shape == (64, 64, 3)
    assert abs(float(np.mean(decoded)) - float(video.mean())) < 8, 'the MP4 shows the same picture'


def test_processors_are_loaded_pipelines_run_around_each_chunk(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    input_path = wire.upload_video(clip(6, 64, 64, 90)).json()['input_path']
    plain = result(wire, wire.run(request(input_path=input_path)))
    around = result(wire, wire.run(request(input_path=input_path, pre_processor_id='passthrough',
                                           post_processor_id='passthrough')))
    assert around.tobytes() == plain.tobytes(), 'passthrough before and after changes nothing'
    name, data = wire.run(request(post_processor_id='rife'))[-1]
    assert name == 'error' and "post_processor_id 'rife' is not a loaded pipeline" in data['error']


def test_start_up_removed_the_last_runs_files(batch_server: RunningServer) -> None:
    assert not (batch_server.home / 'data' / 'batch' / STALE_OUTPUT).exists()
    assert WireClient(batch_server.url).download(STALE_OUTPUT).status == 404
