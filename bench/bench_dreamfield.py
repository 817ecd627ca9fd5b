"""Benchmark: Dreamfield's generate call in ms per frame (median, p95) and frames/s, on one thread."""
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

from pipeline.dreamfield.info import DreamfieldLoadParams
from pipeline.dreamfield.pipeline import DreamfieldPipeline
from pipeline.protocol import Chunk, LoadContext

SIZES = [(512, 512), (576, 320)]
PROMPT = 'a red jellyfish in the ocean'


def main() -> None:
    """Print one row per size and mode."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--frames', type=int, default=200)
    parser.add_argument('--warmup', type=int, default=30)
    parser.add_argument('--render-scale', type=float, default=0.5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    print(f'{"size":>9} {"mode":>6} {"median ms":>10} {"p95 ms":>8} {"frames/s":>9}')
    for width, height in SIZES:
        params = DreamfieldLoadParams(width=width, height=height, render_scale=args.render_scale)
        pipeline = DreamfieldPipeline(params, LoadContext(folder, folder, folder))
        embedding = pipeline.encode_prompt(PROMPT)
        video = [np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)]
        for mode, frames in (('text', None), ('video', video)):
            times = measure(pipeline, embedding, frames, args.frames, args.warmup)
            median, p95 = np.median(times) * 1e3, np.percentile(times, 95) * 1e3
            print(f'{width:>4}x{height:<4} {mode:>6} {median:>10.2f} {p95:>8.2f} {1e3 / median:>9.0f}')


def measure(pipeline: DreamfieldPipeline, embedding: np.ndarray, frames: list[np.ndarray] | None, count: int,
            warmup: int) -> list[float]:
    """Seconds per generate call over `count` frames after `warmup` frames."""
    stream = pipeline.open_stream()
    values = {'noise_scale': 0.7, 'denoising_step_list': [1000, 750, 500, 250], 'seed': 42}
    times: list[float] = []
    for i in range(warmup + count):
        chunk = Chunk(index=i, time=i / 30, params=values, conditioning=embedding, reset=i == 0, frames=frames)
        begun = time.perf_counter()
        stream(chunk)
        if i >= warmup:
            times.append(time.perf_counter() - begun)
    return times


if __name__ == '__main__':
    main()
