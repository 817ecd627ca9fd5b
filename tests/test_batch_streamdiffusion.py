"""Batch generation on StreamDiffusion (tiny models, in this process): deterministic, with per-chunk prompts, LoRA
scales and seeds, and video-to-video, through the same service the endpoints use."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipeline.manager import PipelineManager
from pipeline.protocol import LoadContext
from pipeline.registry import default_registry
from services.batch import BatchService
from services.batch_files import BatchFiles
from services.batch_request import GenerateRequest
from services.raw_video import frames_of

from .test_streamdiffusion_models import tiny_models_home
from .waiting import LOADING

LOAD = {'width': 64, 'height': 64, 'loras': [{'path': 'style', 'scale': 1.0}], 'lora_merge_mode': 'runtime_peft'}


@pytest.fixture(scope='module')
def manager() -> Iterator[PipelineManager]:
    """StreamDiffusion loaded from the tiny models with a runtime LoRA, one intra-op thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    models = tiny_models_home() / 'models'
    loaded = PipelineManager(default_registry(), LoadContext(models, models / 'lora', models.parent / 'assets'))
    loaded.load(loaded.validate([('streamdiffusion', 'streamdiffusion', LOAD)]))
    deadline = time.monotonic() + LOADING
    while loaded.status()['status'] == 'loading' and time.monotonic() < deadline:
        time.sleep(0.05)
    assert loaded.status()['status'] == 'loaded', loaded.status()
    yield loaded
    loaded.unload_all()
    torch.set_num_threads(threads)


@pytest.fixture
def batch(manager: PipelineManager, tmp_path: Path) -> BatchService:
    return BatchService(manager, BatchFiles(tmp_path / 'batch', ttl=3600), max_blob_bytes=64 * 1024 * 1024)


async def generate(batch: BatchService, **fields: Any) -> np.ndarray:
    """The frames of a completed generation."""
    request = GenerateRequest.model_validate({'pipeline_id': 'streamdiffusion', 'prompt': 'a red fox', 'seed': 3,
                                              'num_frames': 6, **fields})
    events = [event async for event in batch.start(request).stream()]
    assert events[-1].name == 'complete', events[-1]
    assert [e.data['chunk'] for e in events if e.name == 'progress'] == list(range(1, request.num_frames + 1))
    raw, _ = batch.output(events[-1].data['output_path'])
    return np.array(frames_of(raw))


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_the_same_request_gives_the_same_bytes(batch: BatchService) -> None:
    first = await generate(batch)
    assert first.shape == (6, 64, 64, 3) and first.std() > 1
    assert (await generate(batch)).tobytes() == first.tobytes()
    assert (await generate(batch, seed=4)).tobytes() != first.tobytes()


async def test_chunk_specs_change_prompt_lora_scale_and_seed_from_their_chunk(batch: BatchService) -> None:
    base = await generate(batch)
    prompt = await generate(batch, chunk_specs=[{'chunk': 3, 'text': 'a blue sea'}])
    assert np.array_equal(prompt[:3], base[:3]) and not np.array_equal(prompt[3:], base[3:])
    lora = await generate(batch, chunk_specs=[{'chunk': 2, 'lora_scales': {'style': 0.0}}])
    assert np.array_equal(lora[:2], base[:2]) and not np.array_equal(lora[2], base[2])
    seed = await generate(batch, chunk_specs=[{'chunk': 4, 'seed': 99}])
    assert np.array_equal(seed[:4], base[:4]) and not np.array_equal(seed[4:], base[4:])


async def test_video_to_video_from_an_upload(batch: BatchService) -> None:
    clip = np.zeros((3, 40, 40, 3), np.uint8)
    clip[:, 10:30, 10:30] = (250, 40, 40)
    headers = {'X-Video-Frames': '3', 'X-Video-Height': '40', 'X-Video-Width': '40'}
    uploaded = await batch.upload_video(chunks_of(clip.tobytes()), clip.nbytes, headers)
    transformed = await generate(batch, input_path=uploaded['input_path'], noise_scale=0.6)
    again = await generate(batch, input_path=uploaded['input_path'], noise_scale=0.6)
    assert transformed.tobytes() == again.tobytes()
    assert not np.array_equal(transformed, await generate(batch))
