"""Passthrough: video in, the same video out (for testing the video path)."""
from __future__ import annotations

from .protocol import Chunk, Frame, LoadParams, Pipeline, PipelineInfo, PipelineStream

PASSTHROUGH = PipelineInfo(
    id='passthrough',
    name='Passthrough',
    description='Returns the input video unchanged.',
    supported_modes=['video'],
    default_mode='video',
    dimension_multiple=1,
    chunk_size=1,
    supports_prompts=False,
    supports_cache_management=False,
    load_params=LoadParams,
)


class PassthroughStream(PipelineStream):
    """Hands every input frame back."""

    def __call__(self, chunk: Chunk) -> list[Frame]:
        return list(chunk.frames or [])


class PassthroughPipeline(Pipeline):
    """The passthrough pipeline."""

    info = PASSTHROUGH
    keeps_input_size = True

    def open_stream(self) -> PipelineStream:
        return PassthroughStream()
