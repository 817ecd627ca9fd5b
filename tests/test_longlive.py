"""LongLive on tiny models in Hugging Face layout, loaded through the model store and the real pipeline code."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipeline.longlive.info import LONGLIVE, STREAMDIFFUSIONV2, LongLiveLoadParams
from pipeline.longlive.pipeline import CausalWanPipeline, LongLivePipeline, StreamDiffusionV2Pipeline
from pipeline.longlive.stream import StreamOutOfMemory
from pipeline.model_store import missing, required_models
from pipeline.protocol import Chunk, Frame, LoadContext, PipelineStream

from .longlive_models import HEIGHT, WIDTH, tiny_longlive_home, tiny_transformer, to_original_names

STEPS = [1000, 750, 500, 250]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (the test machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def home() -> Path:
    return tiny_longlive_home()


def load(home: Path, pipeline_class: type[CausalWanPipeline] = LongLivePipeline, **params: Any) -> Any:
    context = LoadContext(home / 'models', home / 'models' / 'lora', home / 'assets')
    return pipeline_class(pipeline_class.info.load_params(width=WIDTH, height=HEIGHT, **params), context)


@pytest.fixture(scope='module')
def longlive(home: Path) -> LongLivePipeline:
    return load(home)


def run(pipeline: Any, prompts: list[str], *, seed: int = 42, stream: PipelineStream | None = None,
        inputs: list[list[Frame]] | None = None, **params: Any) -> list[list[Frame]]:
    """The frames of one chunk per prompt, from a new stream (or the given one)."""
    stream = stream or pipeline.open_stream()
    embeddings = {text: pipeline.encode_prompt(text) for text in prompts}  # one tensor per prompt, as the worker has
    chunks = []
    for index, prompt in enumerate(prompts):
        values = {'seed': seed, 'denoising_step_list': STEPS, **params}
        chunk = Chunk(index=index, time=0.0, params=values, conditioning=embeddings[prompt],
                      reset=index == 0, frames=inputs[index] if inputs else None)
        chunks.append(stream(chunk))
    return chunks


def difference(a: list[Frame], b: list[Frame]) -> float:
    return float(np.abs(np.stack(a).astype(float) - np.stack(b).astype(float)).mean())


def test_the_tiny_models_have_the_layout_the_real_ones_have(home: Path, tmp_path: Path) -> None:
    """The default longlive load needs the Wan base, LongLive's weights and LoRA; the tiny set holds them all."""
    repos = {model.repo_id: model.files for model in required_models(LONGLIVE)}
    assert repos['Wan-AI/Wan2.1-T2V-1.3B-Diffusers'][:4] == ['model_index.json', 'text_encoder', 'tokenizer',
                                                             'transformer/config.json']
    assert repos['Efficient-Large-Model/LongLive-1.3B'] == ['models/longlive_base.pt', 'models/lora.pt']
    assert missing(required_models(LONGLIVE), tmp_path)
    assert missing(required_models(LONGLIVE), home / 'models') == []
    assert missing(required_models(LONGLIVE, {'vae_type': 'tae'}), home / 'models') == []
    assert 'lightx2v/Autoencoders' in {m.repo_id for m in required_models(LONGLIVE, {'vae_type': 'tae'})}
    assert missing(required_models(STREAMDIFFUSIONV2), home / 'models') == []


def test_longlive_weights_in_the_original_layout_load_with_their_lora_merged(longlive: LongLivePipeline,
                                                                               home: Path) -> None:
    """LongLive's checkpoint (original Wan names) is converted to diffusers' names; its LoRA is merged."""
    loaded = longlive.models.transformer.model.state_dict()
    causal = tiny_transformer(seed=21).state_dict()  # what the tiny LongLive checkpoint was made from
    lora = torch.load(home / 'models' / 'LongLive-1.3B' / 'models' / 'lora.pt')['generator_lora']
    name = 'blocks.1.attn2.to_k.weight'
    original = next(iter(to_original_names({name: causal[name]}))).removesuffix('.weight')
    a, b = lora[f'base_model.model.{original}.lora_A.weight'], lora[f'base_model.model.{original}.lora_B.weight']
    torch.testing.assert_close(loaded[name], causal[name] + b @ a)
    torch.testing.assert_close(loaded['proj_out.weight'], causal['proj_out.weight'])
    assert longlive.models.loras.describe() == []


def test_a_local_diffusers_folder_with_its_own_weights_loads_as_a_fine_tune(home: Path) -> None:
    """`model_id` may be a local folder in diffusers layout; with `weights_id: null` its transformer weights load."""
    folder = home / 'models' / 'Wan2.1-T2V-1.3B-Diffusers'
    assert LongLiveLoadParams(model_id=str(folder), weights_id=None).model_files() == []
    pipeline = load(home, model_id=str(folder), weights_id=None)
    loaded = pipeline.models.transformer.model.state_dict()
    torch.testing.assert_close(loaded['blocks.0.attn1.to_q.weight'],
                               tiny_transformer(seed=11).state_dict()['blocks.0.attn1.to_q.weight'])
    assert len(run(pipeline, ['a red fox'])[0]) == 9


def test_frames_come_in_chunks_of_12_and_earlier_chunks_never_depend_on_later_prompts(
        longlive: LongLivePipeline) -> None:
    """9 frames first (the VAE's first latent frame is one frame), then 12 per chunk; a later switch changes only
    what follows it."""
    base = run(longlive, ['a red fox'] * 4)
    assert [len(chunk) for chunk in base] == [9, 12, 12, 12]
    assert base[0][0].shape == (HEIGHT, WIDTH, 3) and base[0][0].dtype == np.uint8
    switched = run(longlive, ['a red fox', 'a red fox', 'neon city at night', 'neon city at night'])
    assert all(difference(a, b) == 0 for a, b in zip(base[:2], switched[:2], strict=True))
    assert difference(base[2], switched[2]) > 1
    assert difference(base[0][:1], base[0][-1:]) > 0, 'frames move within a chunk'


def test_a_prompt_switch_recaches_so_the_next_chunk_follows_it(longlive: LongLivePipeline) -> None:
    """With the recache the chunk after a switch differs from the same switch without it; earlier ones stay."""
    prompts = ['a red fox', 'a red fox', 'a red fox', 'blue sea under ice']
    recached = run(longlive, prompts)
    plain = run(longlive, prompts, prompt_recache=False)
    assert all(difference(a, b) == 0 for a, b in zip(recached[:3], plain[:3], strict=True))
    assert difference(recached[3], plain[3]) > 0.5


def test_the_same_seed_gives_the_same_frames(longlive: LongLivePipeline) -> None:
    """Seeds make runs repeatable; another seed makes other frames."""
    first = run(longlive, ['a cat over the forest'] * 2, seed=3)
    assert all(difference(a, b) == 0 for a, b in zip(first, run(longlive, ['a cat over the forest'] * 2, seed=3),
                                                        strict=True))
    assert difference(first[0], run(longlive, ['a cat over the forest'], seed=4)[0]) > 1


def test_video_to_video_follows_the_input(longlive: LongLivePipeline) -> None:
    """The input chunk, noised to noise_scale, shapes the output: other input, other frames."""
    def video(value: int) -> list[list[Frame]]:
        gradient = np.linspace(0, 255, WIDTH, dtype=np.float32)[None, :, None].repeat(HEIGHT, 0).repeat(3, 2)
        frame = ((gradient * value / 255) % 256).astype(np.uint8)
        return [[frame] * 12 for _ in range(2)]

    bright = run(longlive, ['a red fox'] * 2, inputs=video(255), noise_scale=0.4, denoising_step_list=[1000, 750])
    dark = run(longlive, ['a red fox'] * 2, inputs=video(40), noise_scale=0.4, denoising_step_list=[1000, 750])
    assert [len(chunk) for chunk in bright] == [9, 12]
    assert difference(bright[1], dark[1]) > 2


def test_lora_scales_matter(home: Path) -> None:
    """A runtime LoRA follows `lora_scales` chunk by chunk; a merged one changes the weights at load."""
    style = {'path': 'style', 'scale': 1.0}
    runtime = load(home, loras=[{**style, 'merge_mode': 'runtime_peft'}])
    assert runtime.loaded_lora_adapters[0]['merge_mode'] == 'runtime_peft'
    stream = runtime.open_stream()
    full = run(runtime, ['a red fox'], stream=stream)[0]
    stream(Chunk(index=0, time=0.0, params={'seed': 42, 'denoising_step_list': STEPS}, reset=True,
                 conditioning=runtime.encode_prompt('a red fox'), one_shots={'lora_scales': [{'path': 'style',
                                                                                             'scale': 0.0}]}))
    off = run(runtime, ['a red fox'], stream=stream)[0]
    assert difference(full, off) > 1
    merged = load(home, loras=[style])
    half = load(home, loras=[{**style, 'scale': 0.5}])
    assert difference(run(merged, ['a red fox'])[0], run(half, ['a red fox'])[0]) > 1
    assert difference(run(merged, ['a red fox'])[0], full) < 0.05, 'merged or not, the same LoRA'


def test_the_tiny_autoencoder_option_streams(home: Path) -> None:
    """vae_type tae decodes with the TAEHV-layout file instead of the Wan VAE."""
    pipeline = load(home, vae_type='tae')
    assert pipeline.models.autoencoder.kind == 'tae'
    assert [len(chunk) for chunk in run(pipeline, ['a red fox'] * 2)] == [9, 12]


def test_streamdiffusionv2_is_the_same_core_with_4_frame_chunks(home: Path) -> None:
    """streamdiffusionv2 is a configuration of the core: one latent frame (4 video frames) per chunk."""
    pipeline = load(home, StreamDiffusionV2Pipeline)
    assert pipeline.config.chunk_frames == 1 and pipeline.info.chunk_size == 4
    chunks = run(pipeline, ['a red fox'] * 3, denoising_step_list=[750, 250])
    assert [len(chunk) for chunk in chunks] == [1, 4, 4]


def test_memory_estimates_refuse_what_does_not_fit(home: Path) -> None:
    """Before loading, a configuration above the budget is refused with what to change."""
    from pipeline.longlive.preflight import memory_estimate, preflight

    params = LongLiveLoadParams(width=WIDTH, height=HEIGHT, max_memory_gb=0.001)
    needed = memory_estimate(params, home / 'models', WIDTH, HEIGHT)
    assert needed.kv_cache > 0 and needed.total(2) > needed.total(1)
    with pytest.raises(ValueError, match=r'not enough GPU memory for 96x64.*try a smaller size.*vae_type "tae"'):
        preflight(params, home / 'models', WIDTH, HEIGHT)
    big = memory_estimate(LongLiveLoadParams(), home / 'models', 832, 480)
    assert big.kv_cache > 20 * needed.kv_cache and big.activations > 20 * needed.activations


def test_running_out_of_memory_frees_the_stream_and_leaves_room_for_the_next(home: Path) -> None:
    """With a budget for one stream, a second one fails clearly; once the first is closed, a new one runs."""
    from pipeline.causal.memory import GB
    from pipeline.longlive.preflight import memory_estimate

    needed = memory_estimate(LongLiveLoadParams(width=WIDTH, height=HEIGHT), home / 'models', WIDTH, HEIGHT)
    pipeline = load(home, max_memory_gb=(needed.total(1) + needed.per_stream // 2) / GB)
    first = pipeline.open_stream()
    run(pipeline, ['a red fox'], stream=first)
    second = pipeline.open_stream()
    with pytest.raises(StreamOutOfMemory, match=r'out of GPU memory at 96x64.*try a smaller size'):
        run(pipeline, ['a red fox'], stream=second)
    first.close()
    assert len(run(pipeline, ['a red fox'] * 2, stream=second)[1]) == 12


def test_fp8_weights_halve_the_linear_layers_and_still_generate(home: Path) -> None:
    """quantization fp8_e4m3fn keeps the blocks' linear weights in float8 and generates nearly the same frames."""
    from pipeline.causal.fp8 import Float8Linear

    fp8 = load(home, quantization='fp8_e4m3fn')
    assert isinstance(fp8.models.transformer.model.blocks[0].attn1.to_q, Float8Linear)
    full = load(home)
    assert 0 < difference(run(fp8, ['a red fox'])[0], run(full, ['a red fox'])[0]) < 40


def test_download_models_knows_the_files_of_longlive(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`download_models --pipeline longlive` finds nothing to fetch when the folder holds every file."""
    from pipeline.download import main

    assert main(['--pipeline', 'longlive', '--models-dir', str(home / 'models')]) == 0
    assert 'longlive: every model file is in' in capsys.readouterr().out
