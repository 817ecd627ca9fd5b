"""Benchmark: LongLive's cost per chunk and per frame, and the framework's own overhead.

1. FLOPs of one steady-state chunk (4 denoising steps + the cache update, window full) of the real Wan2.1-T2V-1.3B
   config at 576x320 and 832x480, counted on meta tensors (no weights, no GPU, no download), with the Wan VAE or
   the tiny autoencoder decoding it; the implied fps bound on an H100 (989 TFLOP/s bf16), next to LongLive's
   published 20.7 fps (832x480, H100).
2. On the CPU with the tests' tiny models: the framework overhead per chunk (a stream call minus the time inside
   model forwards), against 5 % of a real chunk's compute time on an H100 at peak.
3. With a CUDA GPU: fps, chunk latency and the first chunk's latency of the full-size config with random weights
   (same FLOPs as the real weights) at both sizes, bf16.
4. Served: a server with the tiny models streams to an aiortc client over WebRTC; how many new pictures each
   12-frame chunk brings to the client (12: every frame shown on its own; 1: the chunk came as a burst) and its fps.
Run: `scripts/bench longlive [--chunks 12] [--threads 1] [--vae tae|wan] [--served-frames 120]`.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.figures import percentile, table
from pipeline.causal.config import CausalConfig, Geometry
from pipeline.causal.generator import CausalGenerator
from pipeline.causal.kv_cache import KVCache
from pipeline.causal.taehv import TinyStreamCodec, TinyVideoAutoencoder, TinyVideoAutoencoderModel
from pipeline.causal.transformer import CausalWan
from pipeline.causal.video_vae import VideoAutoencoder, WanVideoAutoencoder
from pipeline.longlive.info import LONGLIVE_CAUSAL
from pipeline.protocol import Chunk, LoadContext

H100_FLOPS = 989e12
LONGLIVE_PUBLISHED_FPS = 20.7  # NVlabs LongLive README: 832x480, 1 H100, bf16, Wan VAE
SIZES = ((576, 320), (832, 480))
WAN_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm='rms_norm_across_heads', eps=1e-6, rope_max_seq_len=1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--chunks', type=int, default=12, help='measured chunks')
    parser.add_argument('--warmup', type=int, default=4, help='chunks before measuring (the window fills)')
    parser.add_argument('--threads', type=int, default=1, help='CPU intra-op threads')
    parser.add_argument('--vae', choices=('tae', 'wan'), default='tae', help='autoencoder of the CPU overhead run')
    parser.add_argument('--served-frames', type=int, default=120, help='frames the served client counts')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    flops = {size: chunk_flops(*size) for size in SIZES}
    print(table(flop_rows(flops), 'FLOPs of Wan2.1-T2V-1.3B chunks (3 latent = 12 frames, 4 steps + cache update, '
                                  'window 12), counted on meta tensors'), end='\n\n')
    from tests.longlive_models import build_tiny_longlive

    models = Path(tempfile.mkdtemp(prefix='bench-longlive-')) / 'models'
    build_tiny_longlive(models)
    rows = []
    for width, height in ((96, 64), (576, 320)):
        overhead = framework_overhead(models, width, height, args.chunks, args.warmup, args.vae)
        rows += overhead_rows(overhead, flops)
    print(table(rows, f'Framework overhead per chunk: tiny models on the CPU ({args.threads} thread), {args.vae} '
                      'VAE; at 576x320 it includes the per-pixel work a GPU does on the device'), end='\n\n')
    print(table(asyncio.run(served_rows(args.served_frames)), 'Served over WebRTC: tiny models at 96x64, one aiortc '
                                                               'client on loopback (VP8)'), end='\n\n')
    if torch.cuda.is_available():
        print(table(gpu_rows(args.chunks, args.warmup), f'{torch.cuda.get_device_name()}: full-size random '
                                                        'weights, bf16'))
    else:
        print('No CUDA GPU: fps and latency of the full-size model are not measured here.')


# --- 1. FLOPs of the real config ---

def chunk_flops(width: int, height: int) -> dict[str, float]:
    """FLOPs per steady-state chunk: the transformer's 5 passes, and decoding it with the Wan VAE or TAEHV."""
    meta = torch.device('meta')
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    with meta:
        model = WanTransformer3DModel(**WAN_1_3B)
        vae = AutoencoderKLWan()  # Wan 2.1's VAE config is diffusers' default
        tiny = TinyVideoAutoencoderModel()  # taew2_1's layout
    transformer = CausalWan(model)
    geometry = Geometry(width, height)
    config = LONGLIVE_CAUSAL
    cache = KVCache(layers=transformer.layers, heads=transformer.heads, head_dim=transformer.head_dim,
                    tokens_per_frame=geometry.tokens_per_frame, window=config.window_frames,
                    sink=config.sink_frames, device=meta, dtype=torch.float32)
    first = config.window_frames - config.chunk_frames
    cache.slot_positions[:first] = list(range(first))
    text = transformer.text_context(torch.zeros(1, 512, 4096, device=meta))
    latents = torch.zeros(geometry.latent_shape(config.chunk_frames), device=meta)
    with FlopCounterMode(display=False) as counter:
        chunk = cache.plan(range(first, first + config.chunk_frames))
        for _ in range(5):
            transformer(latents, torch.zeros(1, config.chunk_frames, device=meta), text, first_frame=first,
                        cache=cache, chunk=chunk)
    dit = counter.get_total_flops()
    wan_codec = WanVideoAutoencoder(vae).open()
    wan_codec.decode(latents)  # the first chunk of a stream decodes fewer frames: measure the next one
    with FlopCounterMode(display=False) as counter:
        wan_codec.decode(latents)
    tiny_codec = TinyStreamCodec(TinyVideoAutoencoder(tiny))
    tiny_codec.decode(latents)
    with FlopCounterMode(display=False) as counter_tiny:
        tiny_codec.decode(latents)
    return {'dit': dit, 'wan': counter.get_total_flops(), 'tae': counter_tiny.get_total_flops(),
            'frames': float(config.video_frames(first=False))}


def flop_rows(flops: dict[tuple[int, int], dict[str, float]]) -> list[tuple[str, str, str]]:
    rows = []
    for (width, height), f in flops.items():
        frames = f['frames']
        size = f'{width}x{height}'
        per_frame = {name: f[name] / frames / 1e12 for name in ('dit', 'wan', 'tae')}
        rows += [(f'{size}: transformer TFLOP per chunk / per frame', f'{f["dit"] / 1e12:.1f} / '
                                                                       f'{per_frame["dit"]:.2f}', ''),
                 (f'{size}: Wan VAE / TAEHV decode TFLOP per frame', f'{per_frame["wan"]:.2f} / '
                                                                      f'{per_frame["tae"]:.3f}', '')]
        for vae in ('wan', 'tae'):
            total = per_frame['dit'] + per_frame[vae]
            target = ''
            if (width, height) == (832, 480) and vae == 'wan':
                target = f'published {LONGLIVE_PUBLISHED_FPS} fps ({LONGLIVE_PUBLISHED_FPS * total / 989:.0%} MFU)'
            elif (width, height) == (576, 320):
                target = '>= 30 fps on an H100'
            rows.append((f'{size} + {"Wan VAE" if vae == "wan" else "TAEHV"}: TFLOP per frame, H100 fps bound',
                         f'{total:.2f}, {989 / total:.0f} fps', target))
    return rows


# --- 2. the framework's overhead, tiny models on the CPU ---

class ModelClock:
    """Time inside model forwards (any nn.Module call, and the transformer's block function), outermost only."""

    def __init__(self) -> None:
        self.depth, self.seconds, self.cpu_seconds, self.started, self.started_cpu = 0, 0.0, 0.0, 0.0, 0.0

    def enter(self, *_: Any) -> None:
        if self.depth == 0:
            self.started, self.started_cpu = time.perf_counter(), time.thread_time()
        self.depth += 1

    def leave(self, *_: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.seconds += time.perf_counter() - self.started
            self.cpu_seconds += time.thread_time() - self.started_cpu

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter()
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()
        return timed

    @contextmanager
    def hooked(self) -> Iterator[None]:
        from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

        handles = [register_module_forward_pre_hook(self.enter), register_module_forward_hook(self.leave)]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


def framework_overhead(models: Path, width: int, height: int, chunks: int, warmup: int, vae: str) -> dict[str, Any]:
    """Per chunk: the stream call's time, and the part of it outside model forwards."""
    from pipeline.longlive.info import LongLiveLoadParams
    from pipeline.longlive.pipeline import LongLivePipeline

    params = LongLiveLoadParams.model_validate({'width': width, 'height': height, 'vae_type': vae,
                                                'tiny_vae_id': str(models / 'Autoencoders')})
    pipeline = LongLivePipeline(params, LoadContext(models, models / 'lora', models / 'assets'))
    clock = ModelClock()
    pipeline.models.transformer.block = clock.wrap(pipeline.models.transformer.block)
    stream = pipeline.open_stream()
    embedding = pipeline.encode_prompt('a red fox in the snow')
    values = {'seed': 42, 'denoising_step_list': [1000, 750, 500, 250]}
    totals, overheads, cpu_overheads = [], [], []
    with clock.hooked():
        for index in range(warmup + chunks):
            clock.seconds = clock.cpu_seconds = 0.0
            begun, begun_cpu = time.perf_counter(), time.thread_time()
            stream(Chunk(index, 0.0, values, embedding, reset=index == 0))
            total, total_cpu = time.perf_counter() - begun, time.thread_time() - begun_cpu
            if index >= warmup:
                totals.append(total)
                overheads.append(total - clock.seconds)
                cpu_overheads.append(total_cpu - clock.cpu_seconds)
    return {'size': f'{width}x{height}', 'totals': totals, 'overheads': overheads, 'cpu_overheads': cpu_overheads}


def overhead_rows(measured: dict[str, Any], flops: dict[tuple[int, int], dict[str, float]],
                  ) -> list[tuple[str, str, str]]:
    real = flops[(576, 320)]
    chunk_seconds = (real['dit'] + real['tae']) / H100_FLOPS
    budget_ms = 0.05 * chunk_seconds * 1e3
    overheads = measured['overheads']
    size = measured['size']
    return [(f'{size}: stream call per chunk, median (ms)', f'{percentile(measured["totals"], 50) * 1e3:.1f}', ''),
            (f'{size}: outside model forwards, median / p95 (ms)',
             f'{percentile(overheads, 50) * 1e3:.2f} / {percentile(overheads, 95) * 1e3:.2f}',
             f'< {budget_ms:.1f} (5 % of a real chunk, {chunk_seconds * 1e3:.0f} ms at H100 peak)'),
            (f'{size}: the same in CPU time of the thread (busy machines wait), median (ms)',
             f'{percentile(measured["cpu_overheads"], 50) * 1e3:.2f}', '')]


# --- 3. the full-size model on a GPU ---

def gpu_rows(chunks: int, warmup: int) -> list[tuple[str, str, str]]:
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    from pipeline.longlive.stream import _to_frames

    device, dtype = torch.device('cuda'), torch.bfloat16
    torch.backends.cuda.matmul.allow_tf32 = True
    model: Any = WanTransformer3DModel(**WAN_1_3B)
    transformer = CausalWan(model.to(device, dtype).eval())
    vae: Any = AutoencoderKLWan()
    autoencoders: dict[str, VideoAutoencoder] = {
        'Wan VAE': WanVideoAutoencoder(vae.to(device, dtype)),
        'TAEHV': TinyVideoAutoencoder(TinyVideoAutoencoderModel().to(device, dtype))}
    text = transformer.text_context(torch.randn(1, 512, 4096, device=device))
    rows = []
    for width, height in SIZES:
        for name, autoencoder in autoencoders.items():
            generator = CausalGenerator(transformer, CausalConfig(), Geometry(width, height))
            codec = autoencoder.open()
            latencies, frames = [], 0
            for index in range(warmup + chunks):
                torch.cuda.synchronize()
                begun = time.perf_counter()
                out = _to_frames(codec.decode(generator.next_chunk(text, [1000, 750, 500, 250])))
                latencies.append(time.perf_counter() - begun)
                frames += len(out) if index >= warmup else 0
            steady = latencies[warmup:]
            rows += [(f'{width}x{height} {name}: fps', f'{frames / sum(steady):.1f}',
                      '>= 30' if (width, height) == (576, 320) else f'LongLive {LONGLIVE_PUBLISHED_FPS}'),
                     (f'{width}x{height} {name}: chunk latency median / p95 (ms)',
                      f'{percentile(steady, 50) * 1e3:.0f} / {percentile(steady, 95) * 1e3:.0f}', ''),
                     (f'{width}x{height} {name}: first chunk (ms)', f'{latencies[0] * 1e3:.0f}', '<= 1000')]
    return rows


# --- 4. served over WebRTC ---

async def served_rows(frames: int) -> list[tuple[str, str, str]]:
    """New pictures per chunk at a client of a real server (frames evenly paced, not in bursts) and its fps."""
    from tests.longlive_models import HEIGHT, WIDTH, tiny_longlive_home
    from tests.scope_client import ScopeClient
    from tests.server import RunningServer
    from tests.test_scope_flows import difference, session_metrics

    home = Path(tempfile.mkdtemp(prefix='bench-longlive-served-'))
    shutil.copytree(tiny_longlive_home() / 'models', home / 'models')
    server = RunningServer(pipeline='none', home=home, env={'OMP_NUM_THREADS': '1'})
    client = ScopeClient(server.url)
    try:
        await asyncio.to_thread(server.wait_ready, loaded=False)
        await client.load({'pipeline_ids': ['longlive'], 'load_params': {'width': WIDTH, 'height': HEIGHT}})
        await client.connect({'prompts': [{'text': 'a red fox in the forest', 'weight': 1.0}], 'seed': 3})
        await client.wait_frames(12, timeout=300)
        made_before, begun = (await session_metrics(client))['frames_out'], time.monotonic()
        received = await client.wait_frames(frames, timeout=1200)
        elapsed = time.monotonic() - begun
        made = (await session_metrics(client))['frames_out'] - made_before
    finally:
        await client.close()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    changes = sum(difference(a, b) > 0.5 for a, b in itertools.pairwise(received))
    chunks = max(1.0, made / 12)
    return [('new pictures per 12-frame chunk at the client', f'{changes / chunks:.1f}', '>= 3 (12 when even)'),
            ('client fps', f'{frames / elapsed:.1f}', '')]


if __name__ == '__main__':
    main()
