"""StreamDiffusion on tiny models (CPU, no downloads), loaded through model management like real models."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipeline.conditioning import PromptConditioner
from pipeline.manager import LoadRequestError, PipelineManager
from pipeline.prompts import PromptChange
from pipeline.protocol import Chunk, LoadContext
from pipeline.registry import default_registry
from pipeline.schema import pipeline_meta
from pipeline.streamdiffusion.pipeline import StreamDiffusionPipeline, StreamDiffusionStream

from .test_streamdiffusion_models import tiny_models_home
from .waiting import LOADING, PATIENCE

SIZE = {'width': 128, 'height': 128}
RED_FOX, BLUE_SEA = 'a red fox', 'a blue sea'


def load(home: Path, **load_params: Any) -> StreamDiffusionPipeline:
    """Load `streamdiffusion` through the pipeline manager (validation, background load, status), as the server does."""
    models = home / 'models'
    manager = PipelineManager(default_registry(), LoadContext(models, models / 'lora', home / 'assets'))
    manager.load(manager.validate([('main', 'streamdiffusion', {**SIZE, **load_params})]))
    deadline = time.monotonic() + LOADING
    while manager.status()['status'] == 'loading' and time.monotonic() < deadline:
        time.sleep(0.02)
    status = manager.status()
    if status['status'] != 'loaded':
        raise RuntimeError(status['error'])
    instance = manager.instance('streamdiffusion')
    assert isinstance(instance, StreamDiffusionPipeline)
    return instance


def run(stream: StreamDiffusionStream, conditioning: Any, count: int = 1, frames: list[np.ndarray] | None = None,
        **params: Any) -> np.ndarray:
    """Call the stream `count` times with the same inputs; the last frame."""
    out: list[np.ndarray] = []
    for index in range(count):
        out = stream(Chunk(index=index, time=index / 30, params=params, conditioning=conditioning, frames=frames))
    assert len(out) == 1
    return out[0]


def count_unet_rows(instance: StreamDiffusionPipeline, calls: list[tuple[str, int]], name: str = '') -> None:
    """Record the batch size of every UNet call (set before the first frame of a stream)."""
    unet = instance.models.unet

    def counted(latents: torch.Tensor, *args: Any) -> torch.Tensor:
        calls.append((name, latents.shape[0]))
        return unet(latents, *args)

    instance.models.unet = counted


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope='module', autouse=True)
def steady_cpu() -> Iterator[None]:
    """One intra-op thread and denormals flushed: steady timings on a small shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    yield
    torch.set_num_threads(threads)
    torch.set_flush_denormal(False)


@pytest.fixture(scope='module')
def home() -> Path:
    return tiny_models_home()


@pytest.fixture(scope='module')
def pipeline(home: Path) -> Iterator[StreamDiffusionPipeline]:
    instance = load(home)
    yield instance
    instance.close()


@pytest.fixture(scope='module')
def fox(pipeline: StreamDiffusionPipeline) -> torch.Tensor:
    return pipeline.encode_prompt(RED_FOX)


def camera(pattern: str) -> np.ndarray:
    """A 128x128 input frame: half white, or noise."""
    if pattern == 'halves':
        image = np.zeros((128, 128, 3), np.uint8)
        image[:, :64] = 255
        return image
    return np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)


def test_text_to_image_frames_follow_prompt_seed_and_t_index_list(pipeline: StreamDiffusionPipeline,
                                                                   fox: torch.Tensor) -> None:
    """Frames have the load size; the prompt, the seed and `t_index_list` each change the picture."""
    stream = pipeline.open_stream()
    base = run(stream, fox, 2)
    assert base.shape == (128, 128, 3) and base.dtype == np.uint8
    assert difference(run(stream, fox), base) == 0, 'the same inputs give the same frame'
    assert difference(run(stream, pipeline.encode_prompt(BLUE_SEA), 2), base) > 2
    assert difference(run(stream, fox, 2, seed=7), base) > 5
    assert difference(run(stream, fox, 2, t_index_list=[30]), base) > 5
    assert pipeline.open_stream()(Chunk(0, 0.0, {}, fox))[0].shape == (128, 128, 3)


def test_video_to_video_output_depends_on_the_input(pipeline: StreamDiffusionPipeline, fox: torch.Tensor) -> None:
    """Image-to-image: different input frames give different outputs (the input's structure shows through)."""
    stream = pipeline.open_stream()
    halves = run(stream, fox, 3, frames=[camera('halves')], t_index_list=[35])
    noise = run(stream, fox, 3, frames=[camera('noise')], t_index_list=[35])
    assert difference(halves, noise) > 10
    assert halves[:, :64].mean() > halves[:, 64:].mean(), 'the white half of the input stays brighter'
    small = run(stream, fox, 1, frames=[camera('halves')[::2, ::2]], t_index_list=[35])
    assert small.shape == (128, 128, 3), 'an input of another size is resized on the device'


def test_hot_updates_change_frames_without_a_reload(pipeline: StreamDiffusionPipeline, fox: torch.Tensor,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Prompt, guidance, delta, seed, steps and `t_index_list` apply per chunk: same models, same latent queue."""
    loads: list[object] = []
    monkeypatch.setattr('pipeline.streamdiffusion.pipeline.load_models', lambda *args: loads.append(args))
    stream = pipeline.open_stream()
    models = pipeline.models
    frames = {'base': run(stream, fox, 2, frames=[camera('noise')])}
    latents = stream.latents
    updates: dict[str, dict[str, Any]] = {
        'guidance_scale': {'guidance_scale': 2.5},
        'delta': {'guidance_scale': 2.5, 'delta': 0.1},
        'seed': {'seed': 1234},
        'seed_blend': {'seed': [[1, 0.5], [2, 0.5]]},
        't_index_list': {'t_index_list': [10, 35]},
        'num_inference_steps': {'t_index_list': [10, 35], 'num_inference_steps': 20},
        'scope_denoising_step_list': {'denoising_step_list': [700, 300]},
    }
    for name, params in updates.items():
        frames[name] = run(stream, fox, 3, frames=[camera('noise')], **params)
    frames['prompt'] = run(stream, pipeline.encode_prompt(BLUE_SEA), 3, frames=[camera('noise')])
    names = list(frames)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert difference(frames[a], frames[b]) > 0.2, f'{a} and {b} look the same'
    assert loads == [] and pipeline.models is models and stream.latents is latents


def test_prompt_blends_and_transitions_use_the_common_machinery(pipeline: StreamDiffusionPipeline,
                                                                fox: torch.Tensor) -> None:
    """The conditioner blends this pipeline's embeddings; a transition moves the picture step by step."""
    conditioner = PromptConditioner(pipeline.encode_prompt)
    conditioner.apply(PromptChange(((RED_FOX, 0.5), (BLUE_SEA, 0.5))), 'slerp')
    blend = conditioner.next()
    assert isinstance(blend, torch.Tensor) and blend.shape == fox.shape
    stream = pipeline.open_stream()
    sea = pipeline.encode_prompt(BLUE_SEA)
    fox_frame, sea_frame, blend_frame = (run(stream, e, 3) for e in (fox, sea, blend))
    assert difference(blend_frame, fox_frame) > 0.5 and difference(blend_frame, sea_frame) > 0.5
    conditioner.apply(PromptChange(((RED_FOX, 1.0),)), 'linear')
    run(stream, conditioner.next(), 3)
    conditioner.apply(PromptChange(((BLUE_SEA, 1.0),), num_steps=4, method='slerp'), 'linear')
    middle = [run(stream, conditioner.next(), 1) for _ in range(4)][1]
    assert conditioner.plan is None and conditioner.transitions_completed == 1
    assert difference(middle, fox_frame) > 0.5 and difference(middle, sea_frame) > 0.5
    assert difference(run(stream, conditioner.next(), 2), sea_frame) < 0.5, 'it ends at the target picture'


def test_stream_batch_denoises_all_steps_in_one_unet_call(home: Path, fox: torch.Tensor) -> None:
    """Stream batch: one UNet batch per frame carries every step; it ends at the same frame as step-by-step."""
    batched, sequential = load(home), load(home, use_denoising_batch=False)
    try:
        calls: list[tuple[str, int]] = []
        count_unet_rows(batched, calls, 'batch')
        count_unet_rows(sequential, calls, 'sequential')
        params: dict[str, Any] = {'t_index_list': [20, 40], 'frames': [camera('halves')]}
        batch_stream, step_stream = batched.open_stream(), sequential.open_stream()
        run(batch_stream, fox, 4, **params)  # the queue is warmed up on the first call
        calls.clear()
        batch_frame, step_frame = run(batch_stream, fox, 1, **params), run(step_stream, fox, 1, **params)
        assert calls == [('batch', 2), ('sequential', 1), ('sequential', 1)]
        assert difference(batch_frame, step_frame) < 0.5
    finally:
        batched.close()
        sequential.close()


@pytest.mark.parametrize(('cfg_type', 'batch_rows'), [('self', 2), ('initialize', 3), ('full', 4)])
def test_residual_and_full_guidance(home: Path, fox: torch.Tensor, cfg_type: str, batch_rows: int) -> None:
    """Residual CFG costs N (self) or N+1 (initialize) UNet rows, full CFG 2N; only the last two use the negative."""
    instance = load(home, cfg_type=cfg_type)
    try:
        rows: list[tuple[str, int]] = []
        count_unet_rows(instance, rows)
        stream = instance.open_stream()
        plain = run(stream, fox, 3, t_index_list=[20, 40])
        guided = run(stream, fox, 3, t_index_list=[20, 40], guidance_scale=3.0)
        assert rows[-1] == ('', batch_rows) and difference(plain, guided) > 0.5
        other = run(stream, fox, 3, t_index_list=[20, 40], guidance_scale=3.0, negative_prompt='zzz')
        assert (difference(other, guided) > 0.2) == (cfg_type != 'self')
    finally:
        instance.close()


def test_full_vae_and_local_folder_model_ids_load(home: Path, fox: torch.Tensor) -> None:
    """The model's own VAE instead of TAESD, and a `model_id` that is a local diffusers folder."""
    folder = home / 'models' / 'sd-turbo'
    instance = load(home, use_tiny_vae=False, model_id=str(folder))
    try:
        assert not instance.models.tiny_vae
        frame = run(instance.open_stream(), fox, 2, frames=[camera('halves')], t_index_list=[35])
        assert frame.shape == (128, 128, 3) and frame[:, :64].mean() > frame[:, 64:].mean()
    finally:
        instance.close()


def test_sdxl_models_use_pooled_embeddings_and_time_ids(home: Path) -> None:
    """SDXL (two text encoders, a pooled embedding, size time ids, TAESDXL) runs through the same code path."""
    instance = load(home, model_id='stabilityai/sdxl-turbo', cfg_type='full')
    try:
        assert instance.models.sdxl and instance.time_ids is not None
        assert instance.time_ids.tolist() == [[128, 128, 0, 0, 128, 128]]
        fox, sea = instance.encode_prompt(RED_FOX), instance.encode_prompt(BLUE_SEA)
        assert fox.shape == (1, 17, 64), '16 tokens of both encoders side by side, plus the pooled row'
        stream = instance.open_stream()
        plain = run(stream, fox, 3)
        assert difference(plain, run(stream, sea, 3)) > 2
        assert difference(plain, run(stream, fox, 3, guidance_scale=2.0)) > 2
        image = run(stream, fox, 3, frames=[camera('halves')], t_index_list=[35])
        assert image[:, :64].mean() > image[:, 64:].mean()
    finally:
        instance.close()


def test_lora_file_changes_the_output_and_its_scale_matters(home: Path, fox: torch.Tensor) -> None:
    """A LoRA from the LoRA folder, fused at load: it changes the frames, and more strength changes them more."""
    frames = {}
    for scale in (0.0, 0.5, 1.0):
        loras = [{'path': 'style.safetensors', 'scale': scale}] if scale else None
        instance = load(home, loras=loras)
        try:
            frames[scale] = run(instance.open_stream(), fox, 2)
        finally:
            instance.close()
    assert 0.5 < difference(frames[0.0], frames[0.5]) < difference(frames[0.0], frames[1.0])


def test_runtime_lora_scales_apply_without_a_reload(home: Path, fox: torch.Tensor) -> None:
    """`runtime_peft` LoRAs follow `lora_scales` from the data channel; permanent ones are fused."""
    instance = load(home, loras=[{'path': 'style', 'scale': 1.0}], lora_merge_mode='runtime_peft')
    try:
        assert instance.loaded_lora_adapters[0]['merge_mode'] == 'runtime_peft'
        stream = instance.open_stream()
        full = run(stream, fox, 2)
        off = stream(Chunk(9, 0.0, {}, fox, one_shots={'lora_scales': [{'path': 'style', 'scale': 0.0}]}))[0]
        half = stream(Chunk(10, 0.0, {}, fox, one_shots={'lora_scales': {str(home / 'models/lora/style.safetensors'):
                                                                          0.5}}))[0]
        assert difference(full, off) > 0.5 and difference(half, off) > 0.2 and difference(half, full) > 0.2
    finally:
        instance.close()


def test_lcm_lora_is_fused_for_sd15_style_models(home: Path, fox: torch.Tensor) -> None:
    """`use_lcm_lora` loads the LCM-LoRA from its models folder and fuses it."""
    instance = load(home, use_lcm_lora=True)
    try:
        lcm = run(instance.open_stream(), fox, 2)
    finally:
        instance.close()
    plain = load(home)
    try:
        assert difference(lcm, run(plain.open_stream(), fox, 2)) > 0.5
    finally:
        plain.close()


def test_missing_model_files_give_clear_errors(home: Path, tmp_path: Path) -> None:
    """A load never downloads: missing files stop it with a message naming the download endpoint."""
    models = tmp_path / 'models'
    manager = PipelineManager(default_registry(), LoadContext(models, models / 'lora', tmp_path / 'assets'))
    with pytest.raises(LoadRequestError, match=r'not downloaded.*models/download'):
        manager.validate([('main', 'streamdiffusion', SIZE)])
    shutil.copytree(home / 'models', models)
    with pytest.raises(LoadRequestError, match=r'dreamshaper-8.*models/download'):
        load(tmp_path, model_id='Lykon/dreamshaper-8')  # refused up front: the files of this model id are missing
    with pytest.raises(RuntimeError, match='LoRA file not found: nope'):
        load(tmp_path, loras=[{'path': 'nope.safetensors'}])


def test_schema_lists_load_and_runtime_parameters() -> None:
    """The `/pipelines/schemas` entry: load parameters and hot controls, with the studio's `ui` metadata."""
    meta = pipeline_meta(default_registry().specs['streamdiffusion'].info)
    properties = meta['config_schema']['properties']
    for key in ('model_id', 'use_tiny_vae', 'loras', 'lora_merge_mode', 'compile', 'cuda_graphs', 'cfg_type'):
        assert properties[key]['ui']['is_load_param'] is True
    for key in ('denoising_step_list', 'guidance_scale', 'delta', 'seed', 'num_inference_steps', 'negative_prompt'):
        assert properties[key]['ui']['is_load_param'] is False
    assert properties['denoising_step_list']['ui']['component'] == 'denoising_steps'
    assert 'ui' not in properties['t_index_list'], "an integer list has no widget in Scope's panels: steps are above"
    assert meta['supports_lora'] and meta['supports_negative_prompt'] and meta['requires_models']
    assert meta['supported_modes'] == ['text', 'video'] and meta['min_dimension'] == 64


def test_registry_and_server_imports_stay_light() -> None:
    """Registering the pipeline imports neither torch nor diffusers (only its info module)."""
    code = ('import sys, main; from pipeline.registry import default_registry; default_registry(); '
            'print(sorted({"torch", "diffusers", "transformers", "huggingface_hub"} & set(sys.modules)))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=2 * PATIENCE,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.strip().splitlines()[-1] == '[]', result.stderr[-2000:]
