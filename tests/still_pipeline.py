"""A pipeline that draws a grey frame whose brightness is its `noise_scale`, and fails when asked to: for tests."""
from __future__ import annotations

import numpy as np

from pipeline.protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream

STILL = PipelineInfo(id='still', name='Still', description='Grey frames; fails for noise_scale above 0.9.',
                     supported_modes=['text'], default_mode='text', default_width=32, default_height=32,
                     load_params=LoadParams)


class StillStream(PipelineStream):
    """Grey frames; a `noise_scale` above 0.9 makes the chunk fail (a value the pipeline cannot take)."""

    def __call__(self, chunk: Chunk) -> list[Frame]:
        level = float(chunk.params.get('noise_scale', 0.5))
        if level > 0.9:
            raise ValueError(f'noise_scale {level} is too much for this pipeline')
        return [np.full((32, 32, 3), int(255 * level), np.uint8)]


class StillPipeline(Pipeline):
    """The still pipeline."""

    info = STILL

    def open_stream(self) -> PipelineStream:
        return StillStream()
