"""A pipeline that makes frames no video encoder takes, on request (`glitches`); tests load it by name."""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from pipeline.protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream


class GlitchControls(BaseModel):
    """How many broken frames the stream has made so far, in total: raising it makes that many more."""

    glitches: int = Field(default=0, ge=0, le=1_000_000, description='broken frames to make, counted from the start')


GLITCHY = PipelineInfo(id='glitchy', name='Glitchy', description='Grey frames; broken ones (four channels) on request.',
                       supported_modes=['text'], default_mode='text', default_width=64, default_height=64,
                       load_params=LoadParams, runtime_params=GlitchControls)


HOLD_CHUNKS = 15  # after a broken frame nothing new for half a second: every encoder surely takes it


class GlitchyStream(PipelineStream):
    """Grey RGB frames; while glitches are owed, an RGBA frame (PyAV's rgb24 conversion refuses it), then a pause."""

    def __init__(self) -> None:
        self.glitched = 0
        self.holding = 0

    def __call__(self, chunk: Chunk) -> list[Frame]:
        if self.holding:
            self.holding -= 1
            return []
        if self.glitched < int(chunk.params.get('glitches') or 0):
            self.glitched += 1
            self.holding = HOLD_CHUNKS
            return [np.full((64, 64, 4), 200, np.uint8)]
        return [np.full((64, 64, 3), 128, np.uint8)]


class GlitchyPipeline(Pipeline):
    """The glitchy pipeline."""

    info = GLITCHY

    def open_stream(self) -> PipelineStream:
        return GlitchyStream()
