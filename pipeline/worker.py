"""The worker thread of a session: per chunk, take the latest parameters, call the pipeline, publish frames."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .conditioning import PromptConditioner
from .pacer import FramePacer
from .protocol import Chunk, PipelineStream, StreamFailed
from .stamp import stamp_frame

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)
MAX_CONSECUTIVE_ERRORS = 10  # chunks failing in a row, even with the last good parameters, end the stream
RATE_WINDOW = 30  # chunks the measured chunk rate looks back on


class PipelineWorker:
    """Runs a session's pipeline stream in its own thread, paced to the pipeline's frame rate."""

    def __init__(self, session: Session, on_fatal: Callable[[str], None]) -> None:
        self.session = session
        self.on_fatal = on_fatal
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f'pipeline-{session.id[:8]}', daemon=True)
        self.chunks = 0
        self.frames = 0
        self.generate_seconds = 0.0
        self.generate_cpu_seconds = 0.0
        self.conditioner: PromptConditioner | None = None
        self.pacer: FramePacer | None = None
        self.sleeping = False  # waiting for someone to watch (no chunk is being made)
        self.input_latency: float | None = None  # seconds from the newest input frame's arrival to its output
        self.chunk_times: deque[float] = deque(maxlen=RATE_WINDOW)  # when the last chunks were done (monotonic)

    @property
    def chunk_rate(self) -> float:
        """Chunks a second: measured over the last chunks made in a row, else what the pipeline declares.

        A transition moves one step per chunk, so this turns transition steps into seconds."""
        times = list(self.chunk_times)
        if len(times) >= 5 and (span := times[-1] - times[0]) > 0:
            return (len(times) - 1) / span
        info = self.session.pipeline.info
        return info.fps / max(1, info.chunk_size)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        if self.pacer:
            self.pacer.stop()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as error:  # the stream cannot go on: tell the clients
            log.exception('pipeline worker of session %s failed', self.session.id)
            self.on_fatal(f'{type(error).__name__}: {error}')

    def _loop(self) -> None:
        pipeline = self.session.pipeline
        stream = pipeline.open_stream()
        # frames of multi-frame chunks are spread over the chunk's duration by a pacer thread
        pacer = FramePacer(self._publish_frame, 1.0 / pipeline.info.fps, abort=self.stop_event,
                           name=f'pacer-{self.session.id[:8]}') if pipeline.info.chunk_size > 1 else None
        self.pacer = pacer
        if pacer:
            pacer.start()
        try:
            self._generate(stream, pacer)
        finally:
            if pacer:
                pacer.stop()
            stream.close()

    def _generate(self, stream: PipelineStream, pacer: FramePacer | None) -> None:
        session = self.session
        pipeline = session.pipeline
        info = pipeline.info
        self.conditioner = conditioner = PromptConditioner(pipeline.encode_prompt)
        period = 1.0 / info.fps
        started = time.monotonic()
        next_tick = started
        errors = 0
        last_values: dict[str, Any] = {}
        good_values: dict[str, Any] | None = None  # the parameters of the last chunk that worked
        while not self.stop_event.is_set():
            if not session.rendering.is_set():  # nobody watches: sleep without CPU until someone does
                self.sleeping = True
                self.chunk_times.clear()  # a rate measured across a pause would be too low
                session.rendering.wait(0.5)
                self.sleeping = False
                next_tick = time.monotonic()
                continue
            if session.state.paused:
                self.chunk_times.clear()
                session.state.wait_for_change(0.1)
                next_tick = time.monotonic()
                continue
            inputs, received_at = None, None
            if session.input_mode == 'video':
                taken = session.inputs.take(info.chunk_size, timeout=0.1)
                if taken is None:
                    continue
                inputs = [frame.to_rgb(*self._input_size()) for frame in taken]
                received_at = getattr(taken[-1], 'received_at', None)
            elif pacer is None:
                delay = next_tick - time.monotonic()
                if delay > 0 and self.stop_event.wait(delay):
                    break
            params = session.state.take()
            begun, begun_cpu = time.perf_counter(), time.thread_time()
            try:
                conditioner.apply(params.prompt_change,
                                  str(params.values.get('prompt_interpolation_method') or 'linear'))
                chunk = Chunk(index=self.chunks, time=time.monotonic() - started, params=params.values,
                              conditioning=conditioner.next(),
                              reset=self._needs_reset(params.values, last_values, params.one_shots),
                              frames=inputs, one_shots=params.one_shots)
                last_values = params.values
                with pipeline.lock:
                    frames = stream(chunk)
            except StreamFailed:
                raise
            except Exception as error:
                errors += 1
                self._chunk_failed(error, params.values, good_values)
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    raise
                if self.stop_event.wait(min(1.0, 0.05 * errors)):  # back off a little while it keeps failing
                    break
                continue
            errors = 0
            good_values = params.values
            self.generate_seconds += time.perf_counter() - begun
            self.generate_cpu_seconds += time.thread_time() - begun_cpu
            self.chunks += 1
            if received_at is not None and frames:
                self.input_latency = time.time() - received_at
            if pacer:
                if not pacer.put(frames, params.version, params.values):
                    break
                continue
            self._publish(frames, params.version, params.values, period)
            self.chunk_times.append(time.monotonic())
            next_tick += period * max(1, len(frames))
            if next_tick < time.monotonic() - period:
                next_tick = time.monotonic()

    def _chunk_failed(self, error: Exception, values: dict[str, Any], good: dict[str, Any] | None) -> None:
        """Tell the session's clients; values changed since the last good chunk go back, so one bad value cannot
        end a stream that every viewer of a shared session watches."""
        reverted = self.session.state.revert(values, good) if good is not None else []
        message = f'{type(error).__name__}: {error}'
        log.warning('chunk %d of session %s failed: %s', self.chunks, self.session.id, message)
        if reverted:
            message += f' (went back to the previous {", ".join(reverted)})'
        self.session.report_error(message, type(error).__name__)

    def _publish(self, frames: list[np.ndarray], version: int, values: dict[str, Any], period: float) -> None:
        for i, image in enumerate(frames):
            if i and self.stop_event.wait(period):
                return
            self._publish_frame(image, version, values)

    def _publish_frame(self, image: np.ndarray, version: int, values: dict[str, Any]) -> None:
        if self.session.stamp_frames:
            image = image.copy()
            stamp_frame(image, int(values.get('stamp') or 0))
        self.session.bus.publish(image, version)
        self.frames += 1

    def _input_size(self) -> tuple[int | None, int | None]:
        return self.session.pipeline.input_size() or (None, None)

    def _needs_reset(self, values: dict[str, Any], last: dict[str, Any], one_shots: dict[str, Any]) -> bool:
        return needs_reset(self.chunks, values, last, one_shots)


def needs_reset(index: int, values: dict[str, Any], last: dict[str, Any], one_shots: dict[str, Any]) -> bool:
    """Whether chunk `index` starts from a fresh cache: the first chunk, `reset_cache`, and with `manage_cache` a new
    denoising schedule or new LoRA scales."""
    if index == 0 or one_shots.get('reset_cache'):
        return True
    if not values.get('manage_cache', True):
        return False
    return values.get('denoising_step_list') != last.get('denoising_step_list') or 'lora_scales' in one_shots
