"""A pipeline stream driven by a script of chunk messages (batch generation) instead of live controls."""
from __future__ import annotations

import time
from typing import Any

from .conditioning import PromptConditioner
from .protocol import Chunk, Frame, Pipeline
from .state import ParameterState
from .worker import needs_reset


class ScriptedStream:
    """One stream of a loaded pipeline, fed one checked message per chunk.

    It merges messages with the same parameter state, prompt tracking, conditioning and cache rules as a session's
    worker, so a chunk renders as it would live; the clock is the frame count, never the wall clock (deterministic).
    Messages must have passed `pipeline.validation.check_parameters` against this pipeline.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.stream = pipeline.open_stream()
        self.state = ParameterState()
        self.conditioner = PromptConditioner(pipeline.encode_prompt)
        self.index = 0
        self.last_values: dict[str, Any] = {}
        self.seconds = 0.0  # wall and thread CPU time in the pipeline (with the wait for its lock), as a worker's
        self.cpu_seconds = 0.0

    def __call__(self, message: dict[str, Any], at: float, frames: list[Frame] | None = None,
                 inputs: dict[str, Any] | None = None) -> list[Frame]:
        """The frames of the next chunk; `inputs` (arrays such as VACE frames) join the chunk's one-shot values."""
        self.state.update(message, 'batch')
        params = self.state.take()
        self.conditioner.apply(params.prompt_change, str(params.values.get('prompt_interpolation_method') or 'linear'))
        one_shots = {**params.one_shots, **(inputs or {})}
        chunk = Chunk(index=self.index, time=at, params=params.values, conditioning=self.conditioner.next(),
                      reset=needs_reset(self.index, params.values, self.last_values, one_shots), frames=frames,
                      one_shots=one_shots)
        self.last_values = params.values
        begun, begun_cpu = time.perf_counter(), time.thread_time()
        with self.pipeline.lock:  # live sessions on the same pipeline take turns with this stream
            produced = self.stream(chunk)
        self.seconds += time.perf_counter() - begun
        self.cpu_seconds += time.thread_time() - begun_cpu
        self.index += 1
        return produced

    def close(self) -> None:
        """Release the stream's state (streams that hold caches free them)."""
        close = getattr(self.stream, 'close', None)
        if callable(close):
            close()
