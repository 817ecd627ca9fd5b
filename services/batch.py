"""Batch generation: uploads, one generation at a time on a loaded pipeline with its events, cancel and outputs."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.manager import PipelineManager

from .batch_files import BatchFiles
from .batch_plan import plan_generation
from .batch_request import GenerateRequest, PlanError
from .batch_run import BatchRun, lower_priority
from .batch_uploads import store_blob, store_video
from .batch_video import decode_to_raw, encode_mp4
from .errors import Conflict, InvalidRequest, NotReady
from .raw_video import Shape, read_shape
from .sessions import NOT_LOADED

log = logging.getLogger(__name__)
BUSY = 'A generation is already in progress. Cancel it first or wait for completion.'
TERMINAL = frozenset({'complete', 'cancelled', 'error'})
SWEEP_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """One server-sent event of a generation: `progress`, `complete`, `cancelled` or `error`."""

    name: str
    data: dict[str, Any]


class Generation:
    """A generation's events as they come (readable from the start by anyone), and its cancel flag."""

    def __init__(self, request: GenerateRequest, loop: asyncio.AbstractEventLoop) -> None:
        self.request = request
        self.output_id: str | None = None
        self.figures: dict[str, float] = {}  # the run's time in the pipeline and in all (see BatchRun.figures)
        self.events: list[BatchEvent] = []
        self.cancel_requested = threading.Event()
        self.finished = threading.Event()
        self._loop = loop
        self._changed = asyncio.Event()

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    def cancel(self) -> bool:
        """Stop after the current chunk (a `cancelled` event follows); False when it has already finished."""
        if self.done:
            return False
        self.cancel_requested.set()
        return True

    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Add an event (from any thread)."""
        self.events.append(BatchEvent(name, data))
        if name in TERMINAL:
            self.finished.set()
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens any more
            self._loop.call_soon_threadsafe(self._changed.set)

    async def stream(self) -> AsyncIterator[BatchEvent]:
        """Every event from the first, then each new one as it comes, up to the last (`complete`, `cancelled`,
        `error`)."""
        index = 0
        while True:
            while index < len(self.events):
                event = self.events[index]
                index += 1
                yield event
                if event.name in TERMINAL:
                    return
            self._changed.clear()
            if index == len(self.events):
                await self._changed.wait()

    @property
    def last(self) -> BatchEvent | None:
        return self.events[-1] if self.events else None


class BatchService:
    """Scope's batch endpoint family: raw uploads, a generation with progress, cancel, and its output."""

    def __init__(self, manager: PipelineManager, files: BatchFiles, max_blob_bytes: int) -> None:
        self.manager = manager
        self.files = files
        self.max_blob_bytes = max_blob_bytes
        self.current: Generation | None = None
        self._lock = threading.Lock()
        self._encoding = asyncio.Lock()

    async def upload_video(self, chunks: AsyncIterable[bytes], declared: int | None,
                           headers: Mapping[str, str]) -> dict[str, Any]:
        """Store a raw uint8 THWC video described by its `X-Video-*` headers."""
        return await store_video(self.files, chunks, declared, headers, self.max_blob_bytes)

    async def upload_blob(self, chunks: AsyncIterable[bytes], declared: int | None) -> dict[str, Any]:
        """Store a data blob (refused with 413 once it passes the limit)."""
        return await store_blob(self.files, chunks, declared, self.max_blob_bytes)

    async def import_video(self, source: Path, max_frames: int, width: int | None = None,
                           height: int | None = None) -> dict[str, Any]:
        """A video file (an asset, a clip) decoded into an uploaded input video, as `upload_video` answers."""
        file_id, target = self.files.create('input')
        try:
            shape = await asyncio.to_thread(decode_to_raw, source, target, max_frames, width, height)
        except ValueError as error:
            self.files.remove(file_id)
            raise InvalidRequest(str(error)) from None
        return {'input_path': file_id, 'num_frames': shape[0], 'shape': list(shape)}

    def start(self, request: GenerateRequest) -> Generation:
        """Start a generation (call on the event loop); NotReady without a loaded pipeline, Conflict while another
        runs. Problems of the request itself come as its `error` event."""
        if self.manager.status()['status'] != 'loaded':
            raise NotReady(NOT_LOADED)
        with self._lock:
            if self.current is not None and not self.current.done:
                raise Conflict(BUSY)
            generation = self.current = Generation(request, asyncio.get_running_loop())
        threading.Thread(target=self._run, args=(generation,), name='batch-generation', daemon=True).start()
        return generation

    def cancel(self) -> bool:
        """Cancel the running generation after its current chunk; False when none runs."""
        generation = self.current
        return generation is not None and generation.cancel()

    def status(self) -> dict[str, Any]:
        """Whether a generation runs, and its last event."""
        generation = self.current
        if generation is None:
            return {'status': 'idle'}
        last = generation.last
        return {'status': 'finished' if generation.done else 'running', 'output_path': generation.output_id,
                'last_event': {'event': last.name, 'data': last.data} if last else None,
                'figures': {key: round(value, 4) for key, value in generation.figures.items()}}

    def output(self, output_id: str) -> tuple[Path, Shape]:
        """The raw video of a finished generation and its shape (Conflict while it is still being written)."""
        path = self.files.path(output_id, 'output')
        generation = self.current
        if generation is not None and generation.output_id == output_id and not generation.done:
            raise Conflict('This generation is still running: download it after its complete or cancelled event')
        return path, read_shape(path)

    async def mp4(self, output_id: str) -> Path:
        """The output as an H.264 MP4 (encoded on first request, then kept beside it)."""
        raw, shape = self.output(output_id)
        target = raw.with_name('video.mp4')
        if shape[0] == 0:
            raise Conflict('The output has no frames (the generation was cancelled before its first chunk)')
        async with self._encoding:
            if not target.is_file():
                fps = float(self._fps(raw))
                await asyncio.to_thread(encode_mp4, raw, target, fps)
        return target

    async def run_sweeps(self) -> None:
        """Remove expired uploads and outputs every minute, for as long as the server runs."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await asyncio.to_thread(self.files.sweep)
            except Exception:
                log.exception('sweeping batch files failed')

    def _run(self, generation: Generation) -> None:
        lower_priority()
        held: list[str] = []
        output_id: str | None = None
        try:
            plan = plan_generation(generation.request, self.manager, self.files)
            held = list(plan.held)
            self.files.hold(held)
            output_id, target = self.files.create('output')
            self.files.hold([output_id])
            (target.parent / 'fps').write_text(repr(plan.fps))
            generation.output_id = output_id
            run = BatchRun(plan, target, output_id, generation.emit, generation.cancel_requested)
            generation.figures = run.figures
            run.run()
        except PlanError as error:
            generation.emit('error', {'error': str(error)})
        except Exception as error:
            log.exception('batch generation failed')
            generation.emit('error', {'error': f'{type(error).__name__}: {error}'})
        finally:
            self.files.release(held + ([output_id] if output_id else []))
            last = generation.last
            if output_id and (last is None or last.name == 'error'):
                self.files.remove(output_id)
            if not generation.done:
                generation.emit('error', {'error': 'the generation stopped unexpectedly'})

    @staticmethod
    def _fps(raw: Path) -> float:
        try:
            return float((raw.parent / 'fps').read_text())
        except (OSError, ValueError):
            return 30.0

