"""Running a planned generation chunk by chunk: inputs, pipelines, the output file and the events on the way."""
from __future__ import annotations

import contextlib
import copy
import os
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
from .raw_video import BackgroundWriter, RawVideoWriter, frames_of

Emit = Callable[[str, dict[str, Any]], None]
BACKGROUND_NICENESS = 10  # a generation's threads run below live sessions (0) when both want the CPU


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
        self.kept = 0  # frames handed to the output
        self.size: tuple[int, int] | None = None  # (width, height) of the output, from its first frame
        self.figures: dict[str, float] = {}  # where the generation thread's time went (for benchmarks)

    def run(self) -> None:
        """Generate every chunk (or stop at a cancel); the last event is `complete` or `cancelled`; exceptions
        propagate (the caller reports them as `error`)."""
        plan = self.plan
        streams = [ScriptedStream(pipeline) if pipeline is not None else None
                   for pipeline in (plan.pre, plan.pipeline, plan.post)]
        writer = RawVideoWriter(self.output, plan.pipeline.height, plan.pipeline.width)
        sink = BackgroundWriter(writer, on_start=lower_priority)
        try:
            started, started_cpu = self.clock(), time.thread_time()
            for index in range(plan.total_chunks):
                if self.cancelled.is_set():
                    sink.close()
                    self.emit('cancelled', {'chunk': index, 'total_chunks': plan.total_chunks,
                                            'frames_completed': writer.frames, **self._result(writer)})
                    return
                begun = self.clock()
                sink.put(self._kept(self._chunk(index, plan.chunk(index), streams)))
                now = self.clock()
                self._measure(streams[1], now - started, time.thread_time() - started_cpu)
                self.emit('progress', {'chunk': index + 1, 'total_chunks': plan.total_chunks, 'frames': self.kept,
                                       'latency': round(now - begun, 3),
                                       'fps': round(self.kept / max(now - started, 1e-9), 2)})
            sink.close()
            self.emit('complete', {**self._result(writer), 'num_frames': writer.frames,
                                   'num_chunks': plan.total_chunks, 'chunk_size': plan.chunk_size})
        finally:
            sink.close(check=False)
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

    def _kept(self, frames: list[Frame]) -> list[np.ndarray]:
        """The frames the output keeps (up to `num_frames`), as uint8 RGB at the output's size (the first frame's)."""
        kept = []
        for frame in frames[:max(0, self.plan.num_frames - self.kept)]:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8:
                frame = np.clip(frame, 0, 255).astype(np.uint8)
            if self.size is None:
                self.size = frame.shape[1], frame.shape[0]
            if frame.shape[:2] != (self.size[1], self.size[0]) or frame.shape[2:] != (3,):
                frame = fit(frame, *self.size)  # a processor that changes size mid-way, or a grey frame
            kept.append(frame)
        self.kept += len(kept)
        return kept

    def _measure(self, main: ScriptedStream | None, seconds: float, cpu_seconds: float) -> None:
        if main is not None:
            self.figures.update(frames=self.kept, chunk_seconds=seconds, chunk_cpu_seconds=cpu_seconds,
                                pipeline_seconds=main.seconds, pipeline_cpu_seconds=main.cpu_seconds)

    def _result(self, writer: RawVideoWriter) -> dict[str, Any]:
        return {'output_path': self.output_id, 'video_shape': list(writer.shape)}


def lower_priority() -> None:
    """Let the calling thread yield the CPU to live sessions (their workers and encoders) when both want it (Linux:
    a thread's own nice value)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
