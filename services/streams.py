"""Daydream streams: each one a named session (in the studio, on the one parameter path) running its own pipeline,
fed by a WHIP publisher, watched over WHEP and HLS, pushed over RTMP."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from config import Config
from pipeline.manager import LoadRequestError, PipelineManager
from pipeline.session import Session
from pipeline.standby import StandbyPipeline
from pipeline.validation import InvalidParameters
from rtc.peers import Peer, PeerRegistry

from . import daydream_mapping as mapping
from .daydream_params import merge, parse_params, pipeline_model
from .errors import InvalidRequest, NotFound
from .sessions import SessionService
from .stream_metrics import StreamMetrics
from .stream_outputs import StreamOutputs
from .stream_pipelines import Lease, StreamPipelines, Target
from .stream_requests import read_create, read_update

log = logging.getLogger(__name__)
Status = Literal['starting', 'running', 'error', 'stopped']
TICK = 1.0  # seconds between two looks at every stream (outputs, figures)
SOURCE = 'daydream'


@dataclass(eq=False, slots=True)
class Stream:
    """One Daydream stream and the session that runs it."""

    id: str
    stream_key: str
    playback_id: str
    name: str
    pipeline: str  # the pipeline name the client used
    legacy_pipeline_id: str | None
    params: dict[str, Any]  # Daydream's params as the client set them (merged over updates)
    output_rtmp_url: str | None
    session: Session
    outputs: StreamOutputs
    legacy_params: bool = False
    created_at: float = field(default_factory=time.time)
    status: Status = 'starting'
    error: str | None = None
    target: Target | None = None  # the pipeline it should run
    lease: Lease | None = None  # the pipeline it runs (None: standby)
    loader: asyncio.Task | None = None
    started_at: float | None = None
    restart_count: int = 0
    last_restart_time: float | None = None
    last_restart_logs: list[str] = field(default_factory=list)
    last_params_update_time: float | None = None
    publisher: Peer | None = None
    metrics: StreamMetrics = field(default_factory=StreamMetrics)

    @property
    def live(self) -> bool:
        """Whether a WHIP publisher is connected."""
        return self.publisher is not None and not self.publisher.closed

    @property
    def running_pipeline(self) -> str:
        """The pipeline that really makes the frames now (`standby` while the stream's own one loads)."""
        return self.session.pipeline_id


class StreamService:
    """Every Daydream stream of the server, and the tick that starts and stops their outputs."""

    def __init__(self, config: Config, sessions: SessionService, peers: PeerRegistry,
                 manager: PipelineManager) -> None:
        self.config = config
        self.sessions = sessions
        self.peers = peers
        self.pipelines = StreamPipelines(manager, config.pipeline_aliases, config.stream_fallback)
        self.streams: dict[str, Stream] = {}

    def all(self) -> list[Stream]:
        return list(self.streams.values())

    def require(self, stream_id: str) -> Stream:
        """A stream by id, or NotFound."""
        stream = self.streams.get(stream_id)
        if stream is None:
            raise NotFound(f'Stream {stream_id} not found')
        return stream

    def by_key(self, stream_key: str) -> Stream:
        """The stream a WHIP URL's stream key names, or NotFound."""
        return self._find(lambda s: secrets.compare_digest(s.stream_key, stream_key), 'No stream has this stream key')

    def by_playback(self, playback_id: str) -> Stream:
        """The stream a playback id names, or NotFound."""
        return self._find(lambda s: secrets.compare_digest(s.playback_id, playback_id),
                          f'No stream has the playback id {playback_id[:24]}')

    def of_session(self, session_id: str) -> Stream | None:
        """The stream a session runs, if it is one."""
        return next((s for s in self.streams.values() if s.session.id == session_id), None)

    def create(self, body: Any) -> Stream:
        """A new stream from a create body, on standby while its pipeline loads in the background (status
        `starting`, then `running`); raises ParamsError (400) naming a bad field, LimitReached (429)."""
        request = read_create(body, self.config.streams_any_model)
        width, height = mapping.size(request.params)
        standby = StandbyPipeline(width, height)
        stream_id = f'str_{secrets.token_hex(8)}'
        session = self.sessions.create(mapping.runtime_message(request.params, standby.info), kind='named',
                                       name=request.name or f'stream {stream_id}', pipeline=(standby, 'standby'))
        stream = Stream(id=stream_id, stream_key=f'sk_{secrets.token_hex(16)}',
                        playback_id=f'play_{secrets.token_hex(12)}', name=request.name, pipeline=request.pipeline,
                        legacy_pipeline_id=request.legacy_pipeline_id, params=request.params,
                        output_rtmp_url=request.output_rtmp_url, session=session,
                        outputs=StreamOutputs(stream_id, self.peers.attachment(session)),
                        legacy_params=request.legacy_params)
        self.streams[stream.id] = stream
        session.stop_listeners.append(lambda _error: self._session_ended(stream))
        self._switch_to(stream, self._resolve(stream), restart=False)
        log.info('stream %s created (session %s)', stream.id, session.id[:8])
        return stream

    async def update(self, stream: Stream, body: Any) -> Stream:
        """Merge an update body's params: hot ones go through `Session.update` at once, the others restart the
        pipeline (status `starting` until the new one runs; the old one serves meanwhile)."""
        request = read_update(body)
        model = pipeline_model(request.pipeline) if request.pipeline else None
        update = dict(request.params)
        if model and 'model_id' not in update and request.pipeline != stream.pipeline:
            update['model_id'] = model
        merged = merge(stream.params, update)
        params = parse_params(merged, any_model=self.config.streams_any_model)
        old, stream.params = stream.params, params
        if request.pipeline:
            stream.pipeline = request.pipeline
        if request.name is not None:
            stream.name = request.name
        if request.changes_rtmp:
            stream.output_rtmp_url = request.output_rtmp_url
        if update:
            stream.last_params_update_time = time.time()
        try:
            if message := mapping.changed_message(old, params, stream.session.pipeline.info):
                stream.session.update(message, source=SOURCE)
        except InvalidParameters as error:
            stream.params = old
            raise InvalidRequest(f'params: {error}') from None
        if mapping.reload_changes(old, params) or stream.target is None:
            target = self._resolve(stream)
            if target is None or stream.target is None or not same_pipeline(target, stream.target):
                self._switch_to(stream, target, restart=True)
        await self.reconcile(stream)
        return stream

    async def delete(self, stream: Stream) -> None:
        """End a stream: its publisher and players are disconnected, its outputs stop, its pipeline is let go."""
        if self.streams.pop(stream.id, None) is None:
            return
        stream.status = 'stopped'
        await self._tear_down(stream)
        log.info('stream %s deleted', stream.id)

    async def run(self) -> None:
        """Look at every stream once a second for as long as the server runs."""
        while True:
            await asyncio.sleep(TICK)
            for stream in self.all():
                try:
                    stream.metrics.sample(stream.session)
                    await self.reconcile(stream)
                except Exception:
                    log.exception('stream %s: tick failed', stream.id)

    async def reconcile(self, stream: Stream) -> None:
        """Start or stop the stream's outputs for whether it is live."""
        if stream.id in self.streams:
            await stream.outputs.reconcile(stream.live, stream.output_rtmp_url)

    async def close_all(self) -> None:
        streams, self.streams = self.all(), {}
        for stream in streams:
            await self._tear_down(stream)
        await self.pipelines.close_all()

    def _resolve(self, stream: Stream) -> Target | None:
        """The pipeline the stream's params ask for (or its alias); None and status `error` when none can run."""
        try:
            return self.pipelines.resolve(mapping.STREAMDIFFUSION, mapping.load_params(stream.params))
        except LoadRequestError as error:
            stream.error = str(error)
            stream.last_restart_logs = [str(error)]
            return None

    def _switch_to(self, stream: Stream, target: Target | None, *, restart: bool) -> None:
        if stream.loader is not None and not stream.loader.done():
            stream.loader.cancel()
        if restart:
            stream.restart_count += 1
            stream.last_restart_time = time.time()
        if target is None:
            stream.status = 'error' if stream.lease is None else 'running'
            return
        stream.target, stream.status = target, 'starting'
        if not restart:
            stream.error = None
        stream.loader = asyncio.ensure_future(self._load(stream, target))

    async def _load(self, stream: Stream, target: Target) -> None:
        lease = self.pipelines.acquire(target)
        try:
            pipeline = await lease.ready
        except asyncio.CancelledError:
            await self.pipelines.release(lease)
            raise
        except Exception as error:
            await self.pipelines.release(lease)
            stream.error = f'loading {target.pipeline_id} failed: {error}'
            stream.last_restart_logs = [stream.error]
            stream.status = 'running' if stream.lease is not None else 'error'
            return
        if stream.id not in self.streams or stream.session.closed:
            await self.pipelines.release(lease)
            return
        previous, stream.lease = stream.lease, lease
        await stream.session.switch_pipeline(pipeline, target.pipeline_id)
        with contextlib.suppress(InvalidParameters):
            stream.session.update(mapping.runtime_message(stream.params, pipeline.info), source=SOURCE)
        stream.status, stream.error = 'running', None
        stream.started_at = stream.started_at or time.time()
        if previous is not None:
            await self.pipelines.release(previous)
        log.info('stream %s runs %s%s', stream.id, target.pipeline_id,
                 f' ({target.fallback_reason})' if target.fallback_reason else '')

    async def _tear_down(self, stream: Stream) -> None:
        if stream.loader is not None and not stream.loader.done():
            stream.loader.cancel()
        await stream.outputs.close()
        if stream.publisher is not None:
            await stream.publisher.close()
        await self.sessions.end(stream.session)  # its players get `stream_stopped`; its worker stops
        if stream.lease is not None:
            lease, stream.lease = stream.lease, None
            await self.pipelines.release(lease)

    def _session_ended(self, stream: Stream) -> None:
        """The session ended by other means (the lifecycle's expiry, the sessions API): the stream goes too."""
        if self.streams.get(stream.id) is stream:
            del self.streams[stream.id]
            stream.status = 'stopped'
            self.peers.track_closing(self._tear_down(stream))

    def _find(self, match: Any, message: str) -> Stream:
        for stream in self.streams.values():
            if match(stream):
                return stream
        raise NotFound(message)


def same_pipeline(a: Target, b: Target) -> bool:
    """Whether two targets load the same pipeline with the same parameters."""
    return (a.pipeline_id, a.load_params) == (b.pipeline_id, b.load_params)

