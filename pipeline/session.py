"""A session: one pipeline stream, its parameter state, its frame bus and worker, and whoever listens to it."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from .frame_bus import FrameBus
from .input_queue import InputFrame, InputQueue
from .protocol import Pipeline
from .state import ParameterState
from .worker import PipelineWorker

log = logging.getLogger(__name__)

StopListener = Callable[[str | None], None]


class Session:
    """The unit of work: parameters in, frames out. Compute runs in its worker thread, never on the loop."""

    def __init__(self, pipeline: Pipeline, *, pipeline_id: str, input_mode: str | None = None,
                 initial: dict[str, Any] | None = None, stamp_frames: bool = False) -> None:
        self.id = str(uuid.uuid4())
        self.created = time.monotonic()
        self.pipeline = pipeline
        self.pipeline_id = pipeline_id
        self.input_mode = input_mode if input_mode in pipeline.info.supported_modes else pipeline.info.default_mode
        self.follows_input = input_mode is None  # switch to video mode when input video actually arrives
        self.stamp_frames = stamp_frames
        self.loop = asyncio.get_running_loop()
        self.state = ParameterState()
        self.bus = FrameBus(self.loop)
        self.inputs = InputQueue(capacity=max(8, 2 * pipeline.info.chunk_size))
        self.worker = PipelineWorker(self, on_fatal=self._fail_from_worker)
        self.error: str | None = None
        self.closed = False
        self.stop_listeners: list[StopListener] = []
        self.change_log: deque[tuple[float, str, list[str]]] = deque(maxlen=50)  # who changed what, lately
        self.tokens: dict[str, str] = {}  # role -> access token, for sessions shared by link
        self.name: str | None = None
        self.audio_listeners: list[Callable[[Any], None]] = []  # get each decoded incoming audio frame
        self.audio_output: Any = None  # something with `create_track()`: sound the clients hear with the video
        self.update(self.defaults())
        if initial:
            self.update(initial)

    def defaults(self) -> dict[str, Any]:
        """The parameters a new session starts from."""
        info = self.pipeline.info
        values: dict[str, Any] = {'manage_cache': True, 'paused': False, 'prompt_interpolation_method': 'linear',
                                  'noise_scale': 0.7, 'seed': self.pipeline.params.base_seed}
        if info.default_denoising_steps:
            values['denoising_step_list'] = list(info.default_denoising_steps)
        if info.supports_prompts:
            values['prompts'] = [{'text': 'a dreamy nebula of soft light', 'weight': 1.0}]
        return values

    def receive_input(self, frame: InputFrame) -> None:
        """Queue an incoming video frame; the first one turns a session without an explicit mode to video."""
        if self.follows_input and self.input_mode != 'video' and 'video' in self.pipeline.info.supported_modes:
            self.input_mode = 'video'
        self.inputs.put(frame)

    def start(self) -> None:
        self.worker.start()

    def update(self, message: dict[str, Any], source: str = 'api') -> dict[str, Any]:
        """Apply a parameter message (the one path every control source takes); returns what changed."""
        if 'input_mode' in message and message['input_mode'] in self.pipeline.info.supported_modes:
            self.input_mode = message['input_mode']
            self.follows_input = False
        if 'base_seed' in message and 'seed' not in message:
            message = {**message, 'seed': message['base_seed']}
        applied = self.state.update(message)
        if applied and source != 'audio':
            self.change_log.append((time.time(), source, sorted(applied)))
        return applied

    def close(self, error: str | None = None) -> None:
        """Stop the worker and tell the listeners (idempotent); call on the event loop."""
        if self.closed:
            return
        self.closed = True
        self.error = self.error or error
        self.worker.stop_event.set()
        self.bus.close()
        for listener in list(self.stop_listeners):
            try:
                listener(self.error)
            except Exception:
                log.exception('stop listener of session %s failed', self.id)
        self.stop_listeners.clear()

    async def switch_pipeline(self, pipeline: Pipeline, pipeline_id: str) -> None:
        """Go on with another pipeline: same parameters, same frame bus, same viewers; a fresh stream state."""
        if self.closed or pipeline is self.pipeline:
            return
        await asyncio.to_thread(self.worker.stop)
        self.pipeline, self.pipeline_id = pipeline, pipeline_id
        if self.input_mode not in pipeline.info.supported_modes:
            self.input_mode = pipeline.info.default_mode
        elif self.input_mode == 'video' and 'text' in pipeline.info.supported_modes \
                and time.monotonic() - self.inputs.last_received > 2.0:
            self.input_mode, self.follows_input = 'text', True  # no video is coming in: generate from prompts
        self.worker = PipelineWorker(self, on_fatal=self._fail_from_worker)
        self.state.update({'reset_cache': True})
        if not self.closed:
            self.worker.start()

    async def join(self) -> None:
        """Wait for the worker thread to end (off the event loop)."""
        await asyncio.to_thread(self.worker.stop)

    def _fail_from_worker(self, message: str) -> None:
        self.error = message
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.close, message)


class SessionRegistry:
    """All running sessions, by id."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}

    def add(self, session: Session) -> None:
        self.sessions[session.id] = session
        session.stop_listeners.append(lambda _error: self._forget(session.id))

    def _forget(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def get(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    async def close_all(self) -> None:
        sessions = list(self.sessions.values())
        for session in sessions:
            session.close()
        await asyncio.gather(*(session.join() for session in sessions))
