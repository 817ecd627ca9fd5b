"""Passthrough whose loading waits while a `hold-loads` file exists beside the models folder: for tests that look
at a stream while its pipeline loads (registered through `DREAMSTAGE_PIPELINES`)."""
from __future__ import annotations

import time

from pipeline.passthrough import PassthroughPipeline
from pipeline.protocol import LoadContext, LoadParams, PipelineInfo

HELD = PipelineInfo(id='held-passthrough', name='Held passthrough', description='Passthrough that loads on cue.',
                    supported_modes=['video'], default_mode='video', dimension_multiple=1, chunk_size=1,
                    supports_prompts=False, supports_cache_management=False, load_params=LoadParams)
HOLD_AT_MOST = 300.0  # seconds: a test that forgot its hold file does not hang the server for ever


class HeldPassthroughPipeline(PassthroughPipeline):
    """Returns its input; its loading waits while `<models>/../hold-loads` exists."""

    info = HELD

    def __init__(self, params: LoadParams, context: LoadContext) -> None:
        hold = context.models_dir.parent / 'hold-loads'
        deadline = time.monotonic() + HOLD_AT_MOST
        while hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        super().__init__(params, context)

