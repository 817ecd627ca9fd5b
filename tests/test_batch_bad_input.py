"""Bad batch input gets a clear 4xx before the stream, or a clear `error` event, and the server keeps serving."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from .batch_wire import WireClient
from .server import RunningServer

CLIP = np.zeros((2, 8, 8, 3), np.uint8)
HEADERS = {'X-Video-Frames': '2', 'X-Video-Height': '8', 'X-Video-Width': '8'}


def request(**fields: Any) -> dict[str, Any]:
    return {'pipeline_id': 'dreamfield', 'prompt': 'a quiet lake', 'num_frames': 4, **fields}


def error_of(wire: WireClient, **fields: Any) -> str:
    """The message of the `error` event a request ends with (the stream itself opens with 200)."""
    name, data = wire.run(request(**fields))[-1]
    assert name == 'error', (name, data)
    assert set(data) == {'error'}
    return data['error']


@pytest.mark.parametrize(('headers', 'detail'), [
    ({}, 'Missing required headers: X-Video-Frames, X-Video-Height, X-Video-Width'),
    ({**HEADERS, 'X-Video-Frames': '0'}, 'Missing required headers: X-Video-Frames'),
    ({**HEADERS, 'X-Video-Height': 'tall'}, "X-Video-Height must be a positive integer, not 'tall'"),
    ({**HEADERS, 'X-Video-Width': '-8'}, "X-Video-Width must be a positive integer, not '-8'"),
    ({**HEADERS, 'X-Video-Width': '8.0'}, "X-Video-Width must be a positive integer, not '8.0'"),
    ({**HEADERS, 'X-Video-Channels': '2'}, 'X-Video-Channels must be 1, 3 or 4, not 2'),
    ({**HEADERS, 'X-Video-Frames': '3'}, 'Video data size mismatch: expected 576 bytes'),
    ({**HEADERS, 'X-Video-Frames': '1'}, 'Video data size mismatch: expected 192 bytes'),
])
def test_bad_video_uploads_are_400(batch_server: RunningServer, headers: dict[str, str], detail: str) -> None:
    reply = WireClient(batch_server.url).upload_video(CLIP, headers)
    assert reply.status == 400, reply.body
    assert reply.json()['detail'].startswith(detail)


def test_a_body_shorter_or_longer_than_announced_while_streaming_is_400(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    for chunks in ([CLIP.tobytes()[:100]], [CLIP.tobytes(), b'more']):
        reply = wire.request('POST', '/api/v1/generate/upload', iter(chunks), HEADERS)  # chunked: no length
        assert reply.status == 400 and 'size mismatch' in reply.json()['detail']
    folders = list((batch_server.home / 'data' / 'batch').glob('input-*'))
    assert all((folder / 'video.bin').is_file() for folder in folders), 'a refused upload leaves no folder behind'


def test_empty_and_too_large_blobs(batch_server: RunningServer, server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    assert wire.upload_data(b'').status == 400
    assert wire.upload_data(b'').json()['detail'].startswith('Empty request body')
    limit = 4 * 1024 * 1024  # DREAMSTAGE_MAX_BLOB_MB=4 on this server
    reply = wire.upload_data(iter([b'\0' * (1024 * 1024)] * 5))  # chunked: http.client announces no length
    assert reply.status == 413, 'refused while streaming, without a declared length'
    assert reply.json()['detail'] == f'Data blob exceeds maximum size of {limit} bytes'
    declared = over_declared(server, '/api/v1/generate/upload-data', 2 * 1024**3 + 1)
    assert declared.startswith('HTTP/1.1 413') and 'exceeds maximum size of 2147483648 bytes' in declared
    assert wire.upload_data(b'\1\2\3').status == 200, 'the server goes on serving'


def over_declared(server: RunningServer, path: str, length: int) -> str:
    """The answer to a request that announces `length` bytes but sends none (nothing is read first)."""
    with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
        sock.sendall(f'POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n'.encode())
        answer = b''
        while b'}' not in answer.partition(b'\r\n\r\n')[2] and (received := sock.recv(4096)):
            answer += received
        return answer.decode(errors='replace')


def test_regions_outside_the_blob_are_error_events(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    blob = wire.upload_data(b'\0' * 1000).json()['data_blob_path']
    past_end = error_of(wire, data_blob_path=blob, chunk_specs=[
        {'chunk': 1, 'input_video_offset': 900, 'input_video_shape': [1, 8, 8, 3]}])
    assert past_end == ('chunk 1: input_video (offset 900, shape [1, 8, 8, 3]: 192 bytes) reaches past the end of '
                        'the data blob (1000 bytes)')
    huge = error_of(wire, data_blob_path=blob, chunk_specs=[
        {'chunk': 0, 'vace_frames_offset': 0, 'vace_frames_shape': [1, 3, 2**20, 4096, 4096]}])
    assert 'reaches past the end of the data blob' in huge
    assert 'must be float32 [1, 3, T, H, W]' in error_of(wire, data_blob_path=blob, chunk_specs=[
        {'chunk': 0, 'vace_frames_offset': 0, 'vace_frames_shape': [3, 1, 2, 2]}])
    assert 'needs both input_video_offset and input_video_shape' in error_of(wire, data_blob_path=blob, chunk_specs=[
        {'chunk': 0, 'input_video_offset': 0}])
    assert 'the request has no data_blob_path' in error_of(wire, chunk_specs=[
        {'chunk': 0, 'input_video_offset': 0, 'input_video_shape': [1, 4, 4, 3]}])
    assert 'past the last chunk (3)' in error_of(wire, chunk_specs=[{'chunk': 4, 'text': 'later'}])


@pytest.mark.parametrize(('fields', 'message'), [
    ({'input_path': '/etc/passwd'}, 'Invalid input_path: use the id the server returned'),
    ({'input_path': '../../models/x'}, 'Invalid input_path'),
    ({'input_path': 'input-AAAAAAAAAAAAAAAAAAAAAA'}, 'Input video not found: input-AAAAAAAAAAAAAAAAAAAAAA'),
    ({'data_blob_path': 'output-AAAAAAAAAAAAAAAAAAAAAA'}, 'Invalid data_blob_path'),
    ({'pipeline_id': 'no-such-pipeline'}, "pipeline_id 'no-such-pipeline' is not a loaded pipeline"),
    ({'pre_processor_id': 'gray'}, "pre_processor_id 'gray' is not a loaded pipeline"),
    ({'height': 128}, 'height 128 differs from the loaded dreamfield (64x64)'),
    ({'noise_scale': 3.0}, 'request: invalid parameters for dreamfield: noise_scale'),
    ({'chunk_specs': [{'chunk': 2, 'kv_cache_attention_bias': 5.0}]}, 'chunk 2: invalid parameters for dreamfield'),
    ({'pipeline_id': 'passthrough'}, 'passthrough needs an input video for every chunk'),
])
def test_requests_that_cannot_run_end_in_an_error_event(batch_server: RunningServer, fields: dict[str, Any],
                                                        message: str) -> None:
    assert message in error_of(WireClient(batch_server.url), **fields)


def test_unknown_ids_are_never_paths(batch_server: RunningServer) -> None:
    wire = WireClient(batch_server.url)
    keep = batch_server.home / 'keep.txt'
    keep.write_text('mine')
    assert error_of(wire, input_path=str(keep)).startswith('Invalid input_path')
    assert keep.read_text() == 'mine', 'a path the client names is never read or deleted'
    assert wire.download(str(keep)).status == 400
    assert wire.download('output-AAAAAAAAAAAAAAAAAAAAAA').status == 404
    input_id = wire.upload_video(CLIP, HEADERS).json()['input_path']
    assert wire.download(input_id).status == 400, 'an input id is no output id'


@pytest.mark.parametrize('frames', [0, 10_001, 'many'])
def test_num_frames_out_of_range_is_422(batch_server: RunningServer, frames: Any) -> None:
    reply = WireClient(batch_server.url).post_json('/api/v1/generate', request(num_frames=frames))
    assert reply.status == 422


def test_cancel_with_nothing_running(batch_server: RunningServer) -> None:
    reply = WireClient(batch_server.url).cancel()
    assert reply.status == 200 and reply.json() == {'status': 'idle', 'detail': 'No generation is running'}


def test_without_a_loaded_pipeline_generate_is_400(limited_server: RunningServer) -> None:
    reply = WireClient(limited_server.url).post_json('/api/v1/generate', request())
    assert reply.status == 400
    assert reply.json() == {'detail': 'Pipeline not loaded. Please load pipeline first.'}


@pytest.fixture(autouse=True)
def idle_afterwards(batch_server: RunningServer) -> Iterator[None]:
    """Each test leaves no generation running for the next."""
    yield
    WireClient(batch_server.url).cancel()
