"""Benchmark: StreamDiffusion fps and time per stage at 512x512, 1 step (CUDA when present, else the CPU).

On CUDA it runs a real model from the models folder (default stabilityai/sd-turbo, download it first with
`python -m pipeline.download --pipeline streamdiffusion`). On the CPU it builds the tests' tiny model and reports
the framework's own overhead per frame: the time of a pipeline call outside the UNet and VAE forwards (target 2 ms).
Run: `.venv/bin/python bench/bench_streamdiffusion.py [--frames 60] [--model-id ID] [--compile] [--cuda-graphs]`.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from diffusers.utils import logging as diffusers_logging
from transformers.utils import logging as transformers_logging

from bench.figures import percentile, table
from config import Config
from pipeline.protocol import Chunk, LoadContext
from pipeline.streamdiffusion.info import StreamDiffusionLoadParams
from pipeline.streamdiffusion.pipeline import StreamDiffusionPipeline
from rtc.encoder import VideoEncoder

PROMPTS = ['a red fox in the snow', 'a city skyline at night, rain', 'an oil painting of a lighthouse',
           'a watercolor forest', 'a neon jellyfish']
MODES = {'img2img': [35], 'txt2img': [0]}  # 1 step on the 50-step grid, as in the StreamDiffusion README's figures


def main() -> None:
    """Print one table per mode: fps, ms per stage, and on the CPU the framework overhead."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--frames', type=int, default=60, help='measured frames per mode')
    parser.add_argument('--warmup', type=int, default=10, help='frames before measuring')
    parser.add_argument('--size', type=int, default=512, help='width and height')
    parser.add_argument('--model-id', default=None, help='model (CUDA default: stabilityai/sd-turbo; CPU: tiny)')
    parser.add_argument('--models-dir', type=Path, default=None)
    parser.add_argument('--full-vae', action='store_true', help="the model's own VAE instead of TAESD")
    parser.add_argument('--compile', action='store_true')
    parser.add_argument('--cuda-graphs', action='store_true')
    parser.add_argument('--threads', type=int, default=1, help='CPU intra-op threads')
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    transformers_logging.set_verbosity_error()
    diffusers_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    models_dir = args.models_dir or Config.from_env().models_dir
    model_id = args.model_id or ('stabilityai/sd-turbo' if cuda else 'stabilityai/sd-turbo (tiny)')
    if not cuda and args.model_id is None:
        models_dir = tiny_models()
        model_id = 'stabilityai/sd-turbo'
    params = StreamDiffusionLoadParams(width=args.size, height=args.size, model_id=model_id,
                                       use_tiny_vae=not args.full_vae, compile=args.compile,
                                       cuda_graphs=args.cuda_graphs)
    begun = time.perf_counter()
    pipeline = StreamDiffusionPipeline(params, LoadContext(models_dir, models_dir / 'lora', models_dir / 'assets'))
    load_seconds = time.perf_counter() - begun
    device = f'{torch.cuda.get_device_name()} {pipeline.models.dtype}' if cuda else \
        f'CPU ({args.threads} thread{"s" * (args.threads > 1)}), tiny model, float32'
    print(f'StreamDiffusion on {device}: {model_id} {args.size}x{args.size}, 1 step, '
          f'{"TAESD" if params.use_tiny_vae else "full VAE"}, loaded in {load_seconds:.1f} s\n')
    timers = ModelTimers(pipeline)
    for mode, t_index_list in MODES.items():
        rows = measure(pipeline, timers, mode, t_index_list, args.frames, args.warmup, cuda)
        print(table(rows, f'{mode} (t_index_list {t_index_list})'), end='\n\n')
    pipeline.close()


def measure(pipeline: StreamDiffusionPipeline, timers: ModelTimers, mode: str, t_index_list: list[int],
            frames: int, warmup: int, cuda: bool) -> list[tuple[str, str, str]]:
    """Run the stream: a free-running pass for fps, then a pass with the stage clock (synchronising CUDA)."""
    size = pipeline.width
    camera = np.random.default_rng(1).integers(0, 256, (size, size, 3), dtype=np.uint8)
    inputs = [camera] if mode == 'img2img' else None
    embedding = pipeline.encode_prompt(PROMPTS[0])
    params = {'t_index_list': t_index_list, 'guidance_scale': 1.0, 'seed': 42}
    stream = pipeline.open_stream()

    def call(index: int) -> np.ndarray:
        return stream(Chunk(index, index / 30, params, embedding, reset=index == 0, frames=inputs))[0]

    for index in range(warmup):
        call(index)
    _sync(cuda)
    calls = []
    begun = time.perf_counter()
    for index in range(frames):
        started = time.perf_counter()
        call(index)
        calls.append(time.perf_counter() - started)
    fps = frames / (time.perf_counter() - begun)
    pipeline.clock.enabled, timers.enabled = True, True
    pipeline.clock.reset()
    timers.reset()
    encoder, encode_seconds, overheads, model_seconds = VideoEncoder('vp8'), [], [], []
    for index in range(frames):
        timers.reset()
        started = time.perf_counter()
        frame = call(index)
        model_seconds.append(timers.seconds)
        overheads.append(time.perf_counter() - started - timers.seconds)
        started = time.perf_counter()
        encoder.encode(frame, index * 3000, index == 0)
        encode_seconds.append(time.perf_counter() - started)
    for prompt in PROMPTS:
        pipeline.encode_prompt(prompt)
    pipeline.clock.enabled, timers.enabled = False, False
    clock = pipeline.clock

    def ms(name: str) -> float:
        return 1e3 * clock.seconds.get(name, 0.0) / max(1, clock.counts.get(name, 1))

    median = percentile(calls, 50) * 1e3
    rows = [('fps (pipeline call, free-running)', f'{fps:.1f}', '>= 94 (4090, sd-turbo img2img)' if cuda else ''),
            ('ms per frame: median / p95', f'{median:.2f} / {percentile(calls, 95) * 1e3:.2f}', ''),
            ('text encode (per prompt, ms)', f'{ms("text_encode"):.2f}', '')]
    rows += [(f'{name} (ms)', f'{ms(key):.2f}', '') for name, key in (
        ('frame to tensor', 'to_tensor'), ('VAE encode', 'vae_encode'), ('UNet (+ denoise math)', 'unet'),
        ('VAE decode', 'vae_decode'), ('tensor to frame', 'to_frame'))]
    rows.append(('video encode, VP8 (ms)', f'{percentile(encode_seconds, 50) * 1e3:.2f}', ''))
    rows.append(('model forwards (UNet + VAE, ms)', f'{percentile(model_seconds, 50) * 1e3:.2f}', ''))
    rows.append(('framework overhead per frame: median / p95 (ms)',
                 f'{percentile(overheads, 50) * 1e3:.2f} / {percentile(overheads, 95) * 1e3:.2f}',
                 '<= 2' if not cuda else ''))
    return rows


class ModelTimers:
    """Time spent inside the UNet and VAE forwards (what is not the framework's own work)."""

    def __init__(self, pipeline: StreamDiffusionPipeline) -> None:
        self.enabled = False
        self.seconds = 0.0
        self.cuda = pipeline.models.device.type == 'cuda'
        models = pipeline.models
        models.unet = self._timed(models.unet)
        models.vae.encode = self._timed(models.vae.encode)
        models.vae.decode = self._timed(models.vae.decode)

    def reset(self) -> None:
        self.seconds = 0.0

    def _timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled:
                return function(*args, **kwargs)
            _sync(self.cuda)
            begun = time.perf_counter()
            result = function(*args, **kwargs)
            _sync(self.cuda)
            self.seconds += time.perf_counter() - begun
            return result
        return timed


def tiny_models() -> Path:
    """The tests' tiny model set, built into a temporary models folder."""
    from tests.test_streamdiffusion_models import build_tiny_models

    folder = Path(tempfile.mkdtemp(prefix='bench-sd-')) / 'models'
    build_tiny_models(folder)
    return folder


def _sync(cuda: bool) -> None:
    if cuda:
        torch.cuda.synchronize()


if __name__ == '__main__':
    main()
