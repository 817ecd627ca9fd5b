"""Benchmark: Dreamfield's generate call in ms per frame (median, p95) and frames/s, on one thread.

Modes: text (a steady prompt), video (a random input frame each chunk), morph (the conditioning moves every
chunk, as during a transition). Run pinned to one core: `taskset -c 0 .venv/bin/python bench/bench_dreamfield.py`.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from pipeline.conditioning import interpolate
from pipeline.dreamfield.info import DreamfieldLoadParams
from pipeline.dreamfield.pipeline import DreamfieldPipeline
from pipeline.memory import keep_frame_memory
from pipeline.protocol import Chunk, LoadContext

SIZES = [(512, 512), (576, 320)]
PROMPT = 'a red jellyfish in the ocean'
OTHER_PROMPT = 'a city skyline at night'


def main() -> None:
    """Print one row per size and mode."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--frames', type=int, default=200, help='measured chunks per row')
    parser.add_argument('--warmup', type=int, default=30, help='chunks before measuring')
    parser.add_argument('--render-scale', type=float, default=0.5)
    args = parser.parse_args()
    keep_frame_memory()  # as the server does
    folder = Path(tempfile.mkdtemp())
    count = args.warmup + args.frames
    print(f'{"size":>9} {"mode":>6} {"median ms":>10} {"p95 ms":>7} {"cpu ms":>7} {"frames/s":>9}')
    for width, height in SIZES:
        params = DreamfieldLoadParams(width=width, height=height, render_scale=args.render_scale)
        pipeline = DreamfieldPipeline(params, LoadContext(folder, folder, folder))
        start, end = pipeline.encode_prompt(PROMPT), pipeline.encode_prompt(OTHER_PROMPT)
        steady = [start] * count
        morph = [interpolate(start, end, 0.5 + 0.5 * np.sin(i / 9), 'slerp') for i in range(count)]
        video = [np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)]
        for mode, conditionings, inputs in (('text', steady, None), ('video', steady, video), ('morph', morph, None)):
            wall, cpu = measure(pipeline, conditionings, inputs, args.warmup)
            median, p95 = np.median(wall) * 1e3, np.percentile(wall, 95) * 1e3
            print(f'{width:>4}x{height:<4} {mode:>6} {median:>10.2f} {p95:>7.2f} {np.median(cpu) * 1e3:>7.2f} '
                  f'{1e3 / median:>9.0f}')


def measure(pipeline: DreamfieldPipeline, conditionings: list[np.ndarray], inputs: list[np.ndarray] | None,
            warmup: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per generate call, one conditioning per chunk, after `warmup` chunks."""
    stream = pipeline.open_stream()
    values = {'noise_scale': 0.7, 'denoising_step_list': [1000, 750, 500, 250], 'seed': 42}
    wall: list[float] = []
    cpu: list[float] = []
    for i, conditioning in enumerate(conditionings):
        chunk = Chunk(index=i, time=i / 30, params=values, conditioning=conditioning, reset=i == 0, frames=inputs)
        begun, begun_cpu = time.perf_counter(), time.thread_time()
        stream(chunk)
        if i >= warmup:
            wall.append(time.perf_counter() - begun)
            cpu.append(time.thread_time() - begun_cpu)
    return wall, cpu


if __name__ == '__main__':
    main()
