"""A session: one pipeline stream, its parameter state, its frame bus and worker, and whoever listens to it."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from .frame_bus import FrameBus
from .input_queue import InputFrame, InputQueue
from .protocol import Pipeline
from .state import ParameterState
from .validation import check_parameters
from .worker import PipelineWorker

log = logging.getLogger(__name__)

StopListener = Callable[[str | None], None]
ErrorListener = Callable[[str, str], None]  # (message, exception type) of a chunk that failed; the stream goes on
Kind = Literal['ephemeral', 'named', 'studio']
DEFAULT_PROMPT = 'a dreamy nebula of soft light'
CHANGE_LOG_LENGTH = 500


class Change(NamedTuple):
    """One accepted parameter change: when, from which source, the keys and values it changed, and the chunk
    (counted over the session's life) from which it shows."""

    time: float
    source: str
    keys: list[str]
    values: dict[str, Any]
    chunk: int


class Session:
    """The unit of work: parameters in, frames out. Compute runs in its worker thread, never on the loop.

    Every parameter message, whatever its source, goes through `update`, which checks it against the common
    parameter model and the pipeline's own controls before it reaches the state the worker reads.
    """

    def __init__(self, pipeline: Pipeline, *, pipeline_id: str, input_mode: str | None = None,
                 initial: dict[str, Any] | None = None, stamp_frames: bool = False, kind: Kind = 'ephemeral',
                 name: str | None = None) -> None:
        initial = check_parameters(initial or {}, pipeline.info)  # InvalidParameters before anything starts
        self.id = str(uuid.uuid4())
        self.kind: Kind = kind
        self.name = name
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
        self.started = False
        self.rendering = threading.Event()  # cleared: the worker waits (no CPU) until someone watches again
        self.stop_listeners: list[StopListener] = []
        self.error_listeners: list[ErrorListener] = []
        self.change_log: deque[Change] = deque(maxlen=CHANGE_LOG_LENGTH)  # who changed what, lately
        self.earlier_chunks = 0  # chunks made with earlier pipelines (before a switch)
        self.tokens: dict[str, str] = {}  # role -> access token, for sessions shared by link
        self.audio_listeners: list[Callable[[Any], None]] = []  # get each decoded incoming audio frame
        self.audio_output: Any = None  # something with `create_track()`: sound the clients hear with the video
        self._apply(self.defaults(), 'defaults')
        if initial:
            self._apply(initial, 'initial')

    @property
    def shared(self) -> bool:
        """Whether the session outlives its peers (named sessions and the studio's own)."""
        return self.kind != 'ephemeral'

    def defaults(self) -> dict[str, Any]:
        """The parameters a new session starts from."""
        info = self.pipeline.info
        values: dict[str, Any] = {'manage_cache': True, 'paused': False, 'prompt_interpolation_method': 'linear',
                                  'noise_scale': 0.7, 'seed': self.pipeline.params.base_seed}
        if info.default_denoising_steps:
            values['denoising_step_list'] = list(info.default_denoising_steps)
        if info.supports_prompts:
            values['prompts'] = [{'text': DEFAULT_PROMPT, 'weight': 1.0}]
        return values

    @property
    def chunk_index(self) -> int:
        """The index (over the session's life) of the chunk the worker makes next."""
        return self.earlier_chunks + self.worker.chunks

    def receive_input(self, frame: InputFrame) -> None:
        """Queue an incoming video frame; the first one turns a session without an explicit mode to video."""
        if self.follows_input and self.input_mode != 'video' and 'video' in self.pipeline.info.supported_modes:
            self.input_mode = 'video'
        self.inputs.put(frame)

    def waiting_for_input(self, grace: float = 2.0) -> bool:
        """Whether the session waits for video input that does not come (video mode, no frame for `grace` s)."""
        return self.input_mode == 'video' and not self.state.paused \
            and time.monotonic() - self.inputs.last_received > grace

    def start(self) -> None:
        """Start rendering (the worker thread starts on the first call)."""
        self.set_rendering(True)

    def set_rendering(self, rendering: bool) -> None:
        """Render frames, or stop rendering until told again (the worker sleeps; the stream state is kept)."""
        if rendering:
            self.rendering.set()
            if not self.started and not self.closed:
                self.started = True
                self.worker.start()
        else:
            self.rendering.clear()

    def update(self, message: dict[str, Any], source: str = 'api') -> dict[str, Any]:
        """Check and apply a parameter message (the one path of every control source); returns what changed.

        Raises `InvalidParameters` with a clear message when the message does not fit the parameter model or the
        pipeline's controls; nothing of such a message is applied.
        """
        return self._apply(check_parameters(message, self.pipeline.info), source)

    def close(self, error: str | None = None) -> None:
        """Stop the worker and tell the listeners (idempotent); call on the event loop."""
        if self.closed:
            return
        self.closed = True
        self.error = self.error or error
        self.worker.stop_event.set()
        self.rendering.set()  # a sleeping worker wakes up to see the stop
        self.bus.close()
        for listener in list(self.stop_listeners):
            try:
                listener(self.error)
            except Exception:
                log.exception('stop listener of session %s failed', self.id)
        self.stop_listeners.clear()

    def report_error(self, message: str, exception_type: str) -> None:
        """Tell the listeners that a chunk failed while the stream goes on (called from the worker thread)."""
        if self.loop.is_closed():
            return
        for listener in list(self.error_listeners):
            self.loop.call_soon_threadsafe(listener, message, exception_type)

    async def switch_pipeline(self, pipeline: Pipeline, pipeline_id: str) -> None:
        """Go on with another pipeline: same parameters, same frame bus, same viewers; a fresh stream state."""
        if self.closed or pipeline is self.pipeline:
            return
        await asyncio.to_thread(self.worker.stop)
        self.earlier_chunks += self.worker.chunks
        self.pipeline, self.pipeline_id = pipeline, pipeline_id
        if self.input_mode not in pipeline.info.supported_modes:
            self.input_mode = pipeline.info.default_mode
        elif self.input_mode == 'video' and 'text' in pipeline.info.supported_modes \
                and time.monotonic() - self.inputs.last_received > 2.0:
            self.input_mode, self.follows_input = 'text', True  # no video is coming in: generate from prompts
        self.worker = PipelineWorker(self, on_fatal=self._fail_from_worker)
        self.state.update({'reset_cache': True})
        if self.started and not self.closed:
            self.worker.start()

    async def join(self) -> None:
        """Wait for the worker thread to end (off the event loop)."""
        await asyncio.to_thread(self.worker.stop)

    def _apply(self, message: dict[str, Any], source: str) -> dict[str, Any]:
        if 'input_mode' in message and message['input_mode'] in self.pipeline.info.supported_modes:
            self.input_mode = message['input_mode']
            self.follows_input = False
        if 'base_seed' in message and 'seed' not in message:
            message = {**message, 'seed': message['base_seed']}
        applied = self.state.update(message, source)
        if applied and source not in ('audio', 'defaults'):
            self.change_log.append(Change(time.time(), source, sorted(applied), applied, self.chunk_index))
        return applied

    def _fail_from_worker(self, message: str) -> None:
        self.error = message
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.close, message)
