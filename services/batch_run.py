"""Running a planned generation chunk by chunk: inputs, pipelines, the output file and the events on the way."""
from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.offline import ScriptedStream
from pipeline.protocol import Frame

from .batch_plan import ChunkPlan, GenerationPlan
from .batch_video import fit
from .raw_video import RawVideoWriter, frames_of

Emit = Callable[[str, dict[str, Any]], None]


class BatchRun:
    """One generation's work, in its own thread: per chunk its inputs, the pre-processor, the pipeline, the
    post-processor, then the frames to disk and a `progress` event. The clock is the frame count (deterministic)."""

    def __init__(self, plan: GenerationPlan, output: Path, output_id: str, emit: Emit, cancelled: threading.Event,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.plan = plan
        self.output = output
        self.output_id = output_id
        self.emit = emit
        self.cancelled = cancelled
        self.clock = clock
        pipeline = plan.pipeline
        self.input_size = (None, None) if pipeline.keeps_input_size else (pipeline.width, pipeline.height)
        self.source = frames_of(plan.input_video) if plan.input_video is not None else None
        self.generated = 0  # frames the pipeline made (the output keeps at most num_frames of them)

    def run(self) -> None:
        """Generate every chunk (or stop at a cancel); the last event is `complete` or `cancelled`; exceptions
        propagate (the caller reports them as `error`)."""
        plan = self.plan
        streams = [ScriptedStream(pipeline) if pipeline is not None else None
                   for pipeline in (plan.pre, plan.pipeline, plan.post)]
        writer = RawVideoWriter(self.output, plan.pipeline.height, plan.pipeline.width)
        try:
            started = self.clock()
            for index in range(plan.total_chunks):
                if self.cancelled.is_set():
                    writer.close()
                    self.emit('cancelled', {'chunk': index, 'total_chunks': plan.total_chunks,
                                            'frames_completed': writer.frames, **self._result(writer)})
                    return
                begun = self.clock()
                self._write(writer, self._chunk(index, plan.chunk(index), streams))
                now = self.clock()
                self.emit('progress', {'chunk': index + 1, 'total_chunks': plan.total_chunks, 'frames': writer.frames,
                                       'latency': round(now - begun, 3),
                                       'fps': round(writer.frames / max(now - started, 1e-9), 2)})
            writer.close()
            self.emit('complete', {**self._result(writer), 'num_frames': writer.frames,
                                   'num_chunks': plan.total_chunks, 'chunk_size': plan.chunk_size})
        finally:
            writer.close()
            for stream in streams:
                if stream is not None:
                    stream.close()

    def _chunk(self, index: int, chunk: ChunkPlan, streams: list[ScriptedStream | None]) -> list[Frame]:
        pre, main, post = streams
        assert main is not None
        message = copy.deepcopy(chunk.message)  # the pipelines keep what they are sent
        at = self.generated / self.plan.fps
        frames = self._input_frames(index, chunk)
        if pre is not None:
            frames = pre(message, at, frames)
        produced = main(message, at, frames, self._vace(chunk))
        if post is not None:
            produced = post(message, at, produced)
        self.generated += len(produced)
        return produced

    def _input_frames(self, index: int, chunk: ChunkPlan) -> list[Frame] | None:
        """The chunk's input video: its own from the blob, else its slice of the uploaded video (looped to the
        length asked for, the last frame repeated past it), at the pipeline's size."""
        size = self.plan.chunk_size
        width, height = self.input_size
        if chunk.input_video is not None:
            assert self.plan.blob is not None
            return [fit(frame, width, height) for frame in chunk.input_video.read(self.plan.blob, size)]
        if self.source is None:
            return None
        count, last = self.source.shape[0], self.plan.num_frames - 1
        return [fit(np.array(self.source[min(j, last) % count]), width, height)
                for j in range(index * size, index * size + size)]

    def _vace(self, chunk: ChunkPlan) -> dict[str, Any]:
        """VACE conditioning frames and masks of the chunk (padded to the chunk size), for pipelines that use them."""
        arrays: dict[str, Any] = {}
        blob, size = self.plan.blob, self.plan.chunk_size
        if chunk.vace_frames is not None and blob is not None:
            arrays['vace_input_frames'] = chunk.vace_frames.read(blob, size)
            if chunk.vace_masks is not None:
                arrays['vace_input_masks'] = chunk.vace_masks.read(blob, size)
        return arrays

    def _write(self, writer: RawVideoWriter, frames: list[Frame]) -> None:
        for frame in frames[:max(0, self.plan.num_frames - writer.frames)]:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8:
                frame = np.clip(frame, 0, 255).astype(np.uint8)
            if writer.sized and frame.shape[:2] != (writer.height, writer.width):
                frame = fit(frame, writer.width, writer.height)  # a processor that changes size mid-way
            writer.write(frame if frame.shape[2:] == (3,) else fit(frame, None, None))

    def _result(self, writer: RawVideoWriter) -> dict[str, Any]:
        return {'output_path': self.output_id, 'video_shape': list(writer.shape)}
