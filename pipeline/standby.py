"""Standby: what a session shows while its pipeline is still loading (a slow pulse, or the input video dimmed)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .protocol import Chunk, Frame, LoadContext, LoadParams, Pipeline, PipelineInfo, PipelineStream

STANDBY = PipelineInfo(
    id='standby',
    name='Starting…',
    description='Shown while the pipeline is loading; the session moves on to it as soon as it is ready.',
    supported_modes=['text', 'video'],
    default_mode='text',
    dimension_multiple=1,
    supports_cache_management=False,
    load_params=LoadParams,
)
PULSE_SECONDS = 2.0
NOWHERE = Path('/nonexistent')  # standby loads no files


class StandbyStream(PipelineStream):
    """A dark frame whose brightness breathes; in video mode the input, dimmed."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    def __call__(self, chunk: Chunk) -> list[Frame]:
        if chunk.frames:
            return [(frame // 3).astype(np.uint8) for frame in chunk.frames]
        level = int(24 + 12 * (1 + math.sin(2 * math.pi * chunk.time / PULSE_SECONDS)))
        return [np.full((self.height, self.width, 3), (level, level // 2, level + 16), np.uint8)]


class StandbyPipeline(Pipeline):
    """The standby pipeline (never listed: sessions use it only until the real one is loaded)."""

    info = STANDBY

    def __init__(self, width: int | None = None, height: int | None = None) -> None:
        super().__init__(LoadParams(width=width, height=height),
                         LoadContext(models_dir=NOWHERE, lora_dir=NOWHERE, assets_dir=NOWHERE))
        self.width, self.height = width or 512, height or 512

    def open_stream(self) -> PipelineStream:
        return StandbyStream(self.width, self.height)
