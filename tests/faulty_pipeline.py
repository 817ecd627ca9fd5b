"""A pipeline that fails on purpose, loaded by tests through `DREAMSTAGE_PIPELINES`."""
from __future__ import annotations

import numpy as np

from pipeline.protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream

FAULTY = PipelineInfo(id='faulty', name='Faulty', description='Fails after a few frames.', supported_modes=['text'],
                      default_mode='text', default_width=64, default_height=64, load_params=LoadParams)


class FaultyStream(PipelineStream):
    """Grey frames, then an out-of-memory error from chunk 10 on."""

    def __call__(self, chunk: Chunk) -> list[Frame]:
        if chunk.index >= 10:
            raise MemoryError('simulated out of memory')
        return [np.full((64, 64, 3), 128, np.uint8)]


class FaultyPipeline(Pipeline):
    """The faulty pipeline."""

    info = FAULTY

    def open_stream(self) -> PipelineStream:
        return FaultyStream()
